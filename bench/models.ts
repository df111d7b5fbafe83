// Random BERT-shaped models and batches for the benchmarks, as ../shared/bench/torch_baseline.py builds them.
import { Rng } from "../src/engine/index.ts";
import { parseModelConfig } from "../src/io/config.ts";
import { PretrainedModel } from "../src/models/pretrained.ts";
import { PRESETS } from "../src/pretrain/masked-lm.ts";
import type { Batch } from "../src/train/step.ts";

export function randomModel(config: string, numLabels = 2): PretrainedModel {
  const preset = PRESETS[config];
  if (!preset) throw new Error(`unknown --config ${config} (${Object.keys(PRESETS).join(", ")})`);
  const cfg = parseModelConfig({
    model_type: "bert",
    ...preset,
    vocab_size: 30522,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    num_labels: numLabels,
  });
  return PretrainedModel.random(cfg, null, ["classifier"], 0);
}

export function randomBatch(batch: number, seq: number, numLabels = 2): Batch {
  const rng = new Rng(0, 0xbe7c);
  const n = batch * seq;
  return {
    batch,
    seq,
    inputIds: BigInt64Array.from({ length: n }, () => BigInt(1000 + rng.int(30522 - 1000))),
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: new BigInt64Array(n),
    labels: BigInt64Array.from({ length: batch }, () => BigInt(rng.int(numLabels))),
  };
}

/**
 * Matmul FLOPs that one classification forward pass executes: every layer in full except the last, which
 * computes keys and values for every token but queries, attention output and feed-forward for the first
 * token only (Architecture.logits), so the count is what runs, not the nominal size of the model.
 */
export function forwardFlops(config: string, batch: number, seq: number): number {
  const p = PRESETS[config]!;
  const H = p.hidden_size,
    F = p.intermediate_size,
    L = p.num_hidden_layers;
  const layer = (queries: number) =>
    2 * batch * seq * H * H * 2 + 2 * batch * queries * (H * H * 2 + H * F * 2) + 2 * 2 * batch * queries * seq * H;
  return (L - 1) * layer(seq) + layer(1);
}

export function peakRssMib(): number {
  return process.resourceUsage().maxRSS / 1024;
}
