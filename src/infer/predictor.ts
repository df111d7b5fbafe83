// Inference: an evaluation-mode graph (dropout off) that maps text to logits, batched; it also serves
// as the classifier queried by attacks, and gives mean-pooled sentence embeddings.
import { Graph, ops, Program, type CompileOptions, type Tensor } from "../engine/index.ts";
import type { HostTensor } from "../engine/index.ts";
import type { Example } from "../data/readers.ts";
import type { EncoderConfig } from "../io/config.ts";
import { RoseError } from "../errors.ts";
import { ParamScope } from "../models/index.ts";
import { lengthBuckets } from "./buckets.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { collate, encodeExamples, type EncodedExample } from "../data/batches.ts";
import { maxInputLength } from "../io/config.ts";

export interface PredictOptions {
  /** At most this many rows per run (fewer where length buckets or rowsPerRun say so). */
  batchSize?: number;
  maxLength?: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Embed the weights when the predictor first runs (default; see frozenWeights). false: feed model.params
   * at every run, for weights that change between calls (evaluation during training), without a second
   * copy of them in memory.
   */
  frozenWeights?: boolean;
  /** At most this many rows per onnxruntime run (default: from the model's size, see rowsPerRun). */
  maxRowsPerRun?: number;
}

/**
 * Compile options for an inference graph over a model whose weights will not change: the weights become
 * initializers, which onnxruntime pre-packs for its matmuls (about 5-7% faster than feeding them each run,
 * `bench infer`), and the memory pattern is on. Later changes to model.params are not seen.
 */
export function frozenWeights(model: PretrainedModel, threads?: number): CompileOptions {
  return { threads, initializers: model.params, memoryPattern: true };
}

/**
 * Largest (rows x sequence x intermediate size) one inference run processes. Bigger batches run in parts
 * whose feed-forward activations (the largest tensors) stay near the cache: BERT-base at batch 32 x 128
 * tokens ran about 8% faster as two runs of 16 (bench infer --batch 8/16/32, alternated); models with a
 * smaller feed-forward (rose-mini) keep a batch of 32 whole.
 */
const RUN_ACTIVATION_LIMIT = 2048 * 3072;

/** Rows per onnxruntime run for inference batches of `seq` tokens (see RUN_ACTIVATION_LIMIT). */
export function rowsPerRun(cfg: EncoderConfig, seq: number): number {
  return Math.max(1, Math.floor(RUN_ACTIVATION_LIMIT / (Math.max(1, seq) * cfg.intermediateSize)));
}

/**
 * Batched inference; by default the weights are read once, when the predictor first runs (see
 * frozenWeights). release() frees onnxruntime's memory when done.
 */
export class Predictor {
  private program: Program | null = null;
  private embedProgram: Program | null = null;
  constructor(
    readonly model: PretrainedModel,
    readonly opts: PredictOptions = {},
  ) {}

  /** Frees the compiled sessions (a later call compiles again). */
  async release(): Promise<void> {
    const progs = [this.program, this.embedProgram];
    this.program = this.embedProgram = null;
    for (const p of progs) await p?.release();
  }

  private get tokenizer() {
    if (!this.model.tokenizer) throw new RoseError("this model has no tokenizer: predictions from text need one");
    return this.model.tokenizer;
  }

  private async compile(kind: "logits" | "embed"): Promise<Program> {
    const arch = this.model.arch;
    const g = new Graph();
    const scope = new ParamScope(g);
    const inputs = arch.inputs(g);
    const ctx = { scope, train: false };
    let out: Tensor;
    if (kind === "logits") out = arch.logits(ctx, inputs);
    else {
      const h = arch.encode(ctx, inputs);
      // Mean over real tokens: sum(h * mask) / sum(mask).
      const m = ops.unsqueeze(ops.cast(inputs.attentionMask, "float32"), [-1]);
      out = ops.div(ops.reduceSum(ops.mul(h, m), [1]), ops.reduceSum(m, [1]));
    }
    const threads = this.opts.threads;
    return Program.compile(g, { out }, this.opts.frozenWeights === false ? { threads } : frozenWeights(this.model, threads));
  }

  private async runBatches(kind: "logits" | "embed", encoded: EncodedExample[]): Promise<Float32Array[]> {
    let prog: Program;
    if (kind === "logits") {
      this.program ??= await this.compile("logits");
      prog = this.program;
    } else {
      this.embedProgram ??= await this.compile("embed");
      prog = this.embedProgram;
    }
    const bs = this.opts.batchSize ?? 64;
    // Rows sorted by length, run in length buckets each padded to its own longest row (attention masks
    // the padding, so every row's result is what it would be alone); results go back in input order.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.ids.length - encoded[b]!.ids.length);
    const maxRows = (seq: number) => Math.min(bs, rowsPerRun(this.model.cfg, seq), this.opts.maxRowsPerRun ?? Infinity);
    const out = new Array<Float32Array>(encoded.length);
    let done = 0;
    for (const [start, end] of lengthBuckets(
      order.map((i) => encoded[i]!.ids.length),
      maxRows,
    )) {
      const idx = order.slice(start, end);
      const b = collate(
        idx.map((i) => encoded[i]!),
        this.tokenizer.specialIds.pad,
      );
      const dims = [b.batch, b.seq];
      const feeds: Record<string, HostTensor | Float32Array> = {
        input_ids: { data: b.inputIds, dims },
        attention_mask: { data: b.attentionMask, dims },
      };
      if (this.model.arch.usesTokenTypes) feeds.token_type_ids = { data: b.tokenTypeIds, dims };
      for (const inp of prog.inputs) if (inp.kind === "param") feeds[inp.name] = this.model.params.get(inp.name)!;
      const r = (await prog.run(feeds)).out!;
      const width = r.dims[1]!;
      const data = r.data as Float32Array;
      idx.forEach((i, k) => {
        out[i] = data.slice(k * width, (k + 1) * width);
      });
      done += idx.length;
      this.opts.onProgress?.(done, encoded.length);
    }
    return out;
  }

  async encode(examples: readonly Pick<Example, "text" | "pair">[]): Promise<EncodedExample[]> {
    const ex = examples.map((e, i) => ({ text: e.text, pair: e.pair, label: null, line: i + 1 }));
    return encodeExamples(this.tokenizer, ex, maxInputLength(this.model.cfg, this.opts.maxLength ?? 128));
  }

  /** Logits per example, in input order. */
  async logits(examples: readonly Pick<Example, "text" | "pair">[]): Promise<Float32Array[]> {
    return this.runBatches("logits", await this.encode(examples));
  }

  async logitsEncoded(encoded: EncodedExample[]): Promise<Float32Array[]> {
    return this.runBatches("logits", encoded);
  }

  /** Class probabilities per example. */
  async probabilities(examples: readonly Pick<Example, "text" | "pair">[]): Promise<Float32Array[]> {
    return (await this.logits(examples)).map((l) => softmax(l));
  }

  /** Mean-pooled last hidden states (a sentence embedding). */
  async embeddings(texts: readonly string[]): Promise<Float32Array[]> {
    return this.runBatches("embed", await this.encode(texts.map((text) => ({ text }))));
  }
}

/**
 * The library's one softmax: exponentials and their sum in float64 (max subtracted first); a Float32Array
 * gives a Float32Array (each exponential rounded before the division), a number[] stays in float64.
 */
export function softmax<T extends Float32Array | number[]>(logits: T): T {
  let m = -Infinity;
  for (const v of logits) m = Math.max(m, v);
  const out = (logits instanceof Float32Array ? new Float32Array(logits.length) : new Array<number>(logits.length)) as T;
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += out[i] = Math.exp(logits[i]! - m);
  for (let i = 0; i < out.length; i++) out[i]! /= s;
  return out;
}

/**
 * The host-side cross-entropy of one example (the training graph's is models/losses.ts): log-sum-exp of
 * its logits in float64, the maximum subtracted first, minus the label's logit.
 */
export function crossEntropyOfLogits(logits: ArrayLike<number>, label: number): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]!);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i]! - m);
  return m + Math.log(s) - logits[label]!;
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** Logits per example from a one-off predictor, whose onnxruntime memory is freed before returning. */
export async function predictLogits(
  model: PretrainedModel,
  examples: readonly Pick<Example, "text" | "pair">[],
  opts: PredictOptions = {},
): Promise<Float32Array[]> {
  const pred = new Predictor(model, opts);
  try {
    return await pred.logits(examples);
  } finally {
    await pred.release();
  }
}
