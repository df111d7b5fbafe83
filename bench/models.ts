// Random BERT-shaped models and batches for the benchmarks, as ../shared/bench/torch_baseline.py builds them.
import { Rng } from "../src/engine/index.ts";
import { parseModelConfig } from "../src/io/config.ts";
import { PretrainedModel } from "../src/models/pretrained.ts";
import { PRESETS } from "../src/pretrain/pretrain.ts";
import type { Batch } from "../src/train/step.ts";

export function randomModel(config: string, numLabels = 2): PretrainedModel {
  const preset = PRESETS[config];
  if (!preset) throw new Error(`unknown --config ${config} (${Object.keys(PRESETS).join(", ")})`);
  const cfg = parseModelConfig({
    model_type: "bert", ...preset, vocab_size: 30522, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0, num_labels: numLabels,
  });
  return PretrainedModel.random(cfg, null, ["classifier"], 0);
}

export function randomBatch(batch: number, seq: number, numLabels = 2): Batch {
  const rng = new Rng(0, 0xbe7c);
  const n = batch * seq;
  return {
    batch, seq,
    inputIds: BigInt64Array.from({ length: n }, () => BigInt(1000 + rng.int(30522 - 1000))),
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: new BigInt64Array(n),
    labels: BigInt64Array.from({ length: batch }, () => BigInt(rng.int(numLabels))),
  };
}

/** Matmul FLOPs of one forward pass of a BERT encoder + classifier. */
export function forwardFlops(config: string, batch: number, seq: number): number {
  const p = PRESETS[config]!;
  const H = p.hidden_size, F = p.intermediate_size, L = p.num_hidden_layers;
  const tokens = batch * seq;
  return L * (2 * tokens * H * H * 4 + 2 * tokens * H * F * 2 + 2 * 2 * batch * seq * seq * H);
}

export function peakRssMib(): number {
  return process.resourceUsage().maxRSS / 1024;
}
