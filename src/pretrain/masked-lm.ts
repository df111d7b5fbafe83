// The masked-LM objective of pre-training: architecture presets, the loss on the predicted positions
// only, and masked-token accuracy. The pre-training trainer (trainer.ts) trains with it.
import { Graph, type HostTensor, ops, Program, type Tensor } from "../engine/index.ts";
import { ConfigError, ShapeError } from "../errors.ts";
import type { JsonObject } from "../io/config.ts";
import { ParamScope } from "../models/index.ts";
import { crossEntropy } from "../models/losses.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import type { Objective } from "../train/step.ts";
import { IGNORE_INDEX, MlmBatcher, type MlmBatch, type MlmBatcherOptions } from "./mlm-data.ts";

/** Architectures of the presets (as ../shared/bench/torch_baseline.py names them). */
export const PRESETS: Record<
  string,
  { hidden_size: number; num_hidden_layers: number; num_attention_heads: number; intermediate_size: number }
> = {
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
  small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
};

/** A BERT masked-LM config.json (as an object) of a preset, for sequences of up to maxSeqLength tokens. */
export function presetConfig(preset: string, maxSeqLength: number): JsonObject {
  const arch = PRESETS[preset];
  if (!arch) throw new ConfigError(`config must be one of ${Object.keys(PRESETS).join(", ")}, got ${preset}`, ["config"]);
  return {
    model_type: "bert",
    architectures: ["BertForMaskedLM"],
    ...arch,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: Math.max(512, maxSeqLength),
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  };
}

/**
 * The masked-LM objective on the predicted positions only. The last encoder layer computes just those
 * positions (`mlm_rows`: per sequence, its predicted positions, padded; see mlmFeeds), and their rows
 * (`mlm_positions`, into the [batch * slots] rows it returns) go through the decoder: the loss and every
 * gradient are those of the full last layer, for about a sixth of its work at 15% masking.
 */
export const maskedLm: Objective = (g, arch) => {
  const rows = g.input("mlm_rows", "int64", ["batch", "mlm_slots"]);
  const positions = g.input("mlm_positions", "int64", ["predicted"]);
  const labels = g.input("mlm_labels", "int64", ["predicted"]);
  return {
    head: (ctx, h) => {
      if (h.shape[1] !== rows.shape[1])
        throw new ShapeError(
          `maskedLm: the head reads the mlm_rows of the last layer; encode with the objective's queries (got hidden ${h.shape})`,
        );
      return arch.mlmLogits(ctx, ops.gather(ops.reshape(h, [-1, arch.cfg.hiddenSize]), positions));
    },
    queries: rows,
    loss: (logits: Tensor) => crossEntropy(logits, labels),
    singleSegment: true, // packed sequences (mlm-data.ts)
  };
};

/** Flat positions (into [batch * seq], ascending) and labels of the predicted tokens of a masked batch. */
export function predictedPositions(b: MlmBatch): { positions: number[]; labels: BigInt64Array } {
  const pos: number[] = [];
  const lab: bigint[] = [];
  for (let i = 0; i < b.labels.length; i++) {
    if (b.labels[i] !== BigInt(IGNORE_INDEX)) {
      pos.push(i);
      lab.push(b.labels[i]!);
    }
  }
  // A batch where nothing was chosen still needs one row: predict position 0 ([CLS]) against itself.
  if (pos.length === 0) {
    pos.push(0);
    lab.push(b.inputIds[0]!);
  }
  return { positions: pos, labels: BigInt64Array.from(lab) };
}

/**
 * The maskedLm objective's feeds for predicted tokens at flat `positions` of a [batch, seq] batch:
 * mlm_rows [batch, slots] (slots = the most predictions in one sequence; a sequence with fewer repeats its
 * first one, or position 0, in the rest: those rows are computed and never read), mlm_positions (each
 * prediction's row in mlm_rows, flattened, in the order of `positions`) and mlm_labels.
 */
export function mlmFeeds(batch: number, seq: number, positions: readonly number[], labels: BigInt64Array): Record<string, HostTensor> {
  const counts = new Array<number>(batch).fill(0);
  for (const p of positions) {
    if (!(Number.isInteger(p) && p >= 0 && p < batch * seq)) throw new ShapeError(`mlmFeeds: position ${p} outside [0, ${batch * seq})`);
    counts[Math.floor(p / seq)]!++;
  }
  const slots = Math.max(1, ...counts);
  const rows = BigInt64Array.from({ length: batch * slots }, (_, i) => BigInt(Math.floor(i / slots) * seq));
  const index = new BigInt64Array(positions.length);
  counts.fill(0);
  positions.forEach((p, i) => {
    const b = Math.floor(p / seq);
    const slot = b * slots + counts[b]!++;
    index[i] = BigInt(slot);
    rows[slot] = BigInt(p);
    // Padding repeats the sequence's first prediction.
    if (counts[b] === 1) for (let j = 1; j < slots; j++) rows[b * slots + j] = BigInt(p);
  });
  return {
    mlm_rows: { data: rows, dims: [batch, slots] },
    mlm_positions: { data: index, dims: [index.length] },
    mlm_labels: { data: labels, dims: [labels.length] },
  };
}

/** Masked-token accuracy over the predictions at positions [start, start + bucket) of their sequences. */
export interface PositionBucket {
  start: number;
  accuracy: number;
  tokens: number;
}

/**
 * Accuracy of the model's top prediction at the masked positions of `seqs` (deterministic masking). With
 * `positionBucket`, also per bucket of that many positions: position embeddings that pre-training never reached
 * (positions past its sequence length) show as buckets far below the rest.
 */
export async function maskedAccuracy(
  model: PretrainedModel,
  seqs: readonly (readonly number[])[],
  batcherOpts: MlmBatcherOptions,
  threads?: number,
  opts: { positionBucket?: number } = {},
): Promise<{ accuracy: number; tokens: number; byPosition?: PositionBucket[] }> {
  const bucket = opts.positionBucket;
  if (bucket != null && !(Number.isInteger(bucket) && bucket > 0))
    throw new ShapeError(`maskedAccuracy: positionBucket must be a positive integer, got ${bucket}`);
  const arch = model.arch;
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const { head, queries } = maskedLm(g, arch);
  const ctx = { scope, train: false };
  const logits = head(ctx, arch.encode(ctx, inputs, { queries }), inputs.attentionMask);
  const prog = await Program.compile(g, { logits }, { threads });
  const b = new MlmBatcher(seqs, { ...batcherOpts, shuffle: false, dropLast: false });
  let correct = 0,
    total = 0;
  const bucketOk: number[] = [],
    bucketN: number[] = [];
  for (let s = 0; s < b.stepsPerEpoch; s++) {
    const batch = b.batchAt(s);
    const { positions, labels } = predictedPositions(batch);
    const dims = [batch.batch, batch.seq];
    const feeds: Record<string, HostTensor | Float32Array> = {
      input_ids: { data: batch.inputIds, dims },
      attention_mask: { data: batch.attentionMask, dims },
      ...mlmFeeds(batch.batch, batch.seq, positions, labels),
    };
    if (arch.usesTokenTypes) feeds.token_type_ids = { data: batch.tokenTypeIds, dims };
    for (const inp of prog.inputs) if (inp.kind === "param") feeds[inp.name] = model.params.get(inp.name)!;
    const out = (await prog.run(feeds)).logits!;
    const v = out.dims[1]!;
    const d = out.data as Float32Array;
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      for (let j = 1; j < v; j++) if (d[i * v + j]! > d[i * v + best]!) best = j;
      const hit = BigInt(best) === labels[i];
      if (hit) correct++;
      total++;
      if (bucket != null) {
        const k = Math.floor((positions[i]! % batch.seq) / bucket);
        bucketN[k] = (bucketN[k] ?? 0) + 1;
        bucketOk[k] = (bucketOk[k] ?? 0) + (hit ? 1 : 0);
      }
    }
  }
  const result = { accuracy: total ? correct / total : NaN, tokens: total };
  if (bucket == null) return result;
  const byPosition: PositionBucket[] = [];
  bucketN.forEach((n, k) => {
    byPosition.push({ start: k * bucket, accuracy: bucketOk[k]! / n, tokens: n });
  });
  return { ...result, byPosition };
}
