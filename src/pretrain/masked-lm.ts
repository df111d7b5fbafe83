// The masked-LM objective of pre-training: architecture presets, the loss on the predicted positions
// only, and held-out masked-token accuracy. `rose pretrain` (app/pretrain.ts) trains with it.
import { Graph, ops, Program, type Tensor } from "../engine/index.ts";
import { ParamScope } from "../models/index.ts";
import { crossEntropy } from "../models/losses.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import type { Objective } from "../train/step.ts";
import { IGNORE_INDEX, MlmBatcher, type MlmBatch } from "./mlm-data.ts";

/** Architectures of the presets (as ../shared/bench/torch_baseline.py names them). */
export const PRESETS: Record<string, { hidden_size: number; num_hidden_layers: number; num_attention_heads: number; intermediate_size: number }> = {
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
  small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
};

/** The masked-LM objective on the predicted positions only: their rows are gathered before the decoder. */
export const maskedLm: Objective = (g, arch) => {
  const positions = g.input("mlm_positions", "int64", ["predicted"]);
  const labels = g.input("mlm_labels", "int64", ["predicted"]);
  return {
    head: (ctx, h) => {
      const rows = ops.gather(ops.reshape(h, [-1, arch.cfg.hiddenSize]), positions);
      return arch.mlmLogits(ctx, rows);
    },
    loss: (logits: Tensor) => crossEntropy(logits, labels),
  };
};

/** Flat positions and labels of the predicted tokens of a masked batch. */
export function predictedPositions(b: MlmBatch): { positions: BigInt64Array; labels: BigInt64Array } {
  const pos: bigint[] = [];
  const lab: bigint[] = [];
  for (let i = 0; i < b.labels.length; i++) {
    if (b.labels[i] !== BigInt(IGNORE_INDEX)) {
      pos.push(BigInt(i));
      lab.push(b.labels[i]!);
    }
  }
  // A batch where nothing was chosen still needs one row: predict position 0 ([CLS]) against itself.
  if (pos.length === 0) {
    pos.push(0n);
    lab.push(b.inputIds[0]!);
  }
  return { positions: BigInt64Array.from(pos), labels: BigInt64Array.from(lab) };
}

/** Accuracy of the model's top prediction at the masked positions of `seqs` (deterministic masking). */
export async function maskedAccuracy(
  model: PretrainedModel,
  seqs: number[][],
  batcherOpts: ConstructorParameters<typeof MlmBatcher>[1],
  threads?: number,
): Promise<{ accuracy: number; tokens: number }> {
  const arch = model.arch;
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const { head } = maskedLm(g, arch);
  const ctx = { scope, train: false };
  const logits = head(ctx, arch.encode(ctx, inputs));
  const prog = await Program.compile(g, { logits }, { threads });
  const b = new MlmBatcher(seqs, { ...batcherOpts, shuffle: false, dropLast: false });
  let correct = 0, total = 0;
  for (let s = 0; s < b.stepsPerEpoch; s++) {
    const batch = b.batchAt(s);
    const { positions, labels } = predictedPositions(batch);
    const dims = [batch.batch, batch.seq];
    const feeds: Record<string, { data: BigInt64Array; dims: number[] } | Float32Array> = {
      input_ids: { data: batch.inputIds, dims }, attention_mask: { data: batch.attentionMask, dims },
      mlm_positions: { data: positions, dims: [positions.length] }, mlm_labels: { data: labels, dims: [labels.length] },
    };
    if (arch.usesTokenTypes) feeds.token_type_ids = { data: batch.tokenTypeIds, dims };
    for (const inp of prog.inputs) if (inp.kind === "param") feeds[inp.name] = model.params.get(inp.name)!;
    const out = (await prog.run(feeds)).logits!;
    const v = out.dims[1]!;
    const d = out.data as Float32Array;
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      for (let j = 1; j < v; j++) if (d[i * v + j]! > d[i * v + best]!) best = j;
      if (BigInt(best) === labels[i]) correct++;
      total++;
    }
  }
  return { accuracy: total ? correct / total : NaN, tokens: total };
}
