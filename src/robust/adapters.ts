// The attack interfaces (types.ts) over real models: a classifier and a sentence encoder over a
// Predictor, and a masked-LM word filler over a BERT/RoBERTa checkpoint with a masked-LM head.

import { Graph, ops, Program, type HostTensor } from "../engine/index.ts";
import { ConfigError, RoseError } from "../errors.ts";
import { maxInputLength } from "../io/config.ts";
import type { Tokenizer } from "../io/tokenizer.ts";
import { ParamScope } from "../models/index.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { frozenWeights, Predictor, type PredictOptions } from "../infer/predictor.ts";
import type { AttackInput, MaskedWordFiller, SentenceEncoder, TextClassifier } from "./types.ts";
import { dirFiles } from "../node/files.ts";

/** A fine-tuned classifier as the attacks see it: class probabilities, one batched forward per call. */
export class ModelClassifier implements TextClassifier {
  constructor(readonly predictor: Predictor) {}

  static fromModel(model: PretrainedModel, opts: PredictOptions = {}): ModelClassifier {
    return new ModelClassifier(new Predictor(model, opts));
  }

  get numLabels(): number {
    return this.predictor.model.cfg.numLabels;
  }

  async wordsRead(words: readonly string[], seps: readonly string[]): Promise<number> {
    const { model, opts } = this.predictor;
    const tok = model.tokenizer;
    // Only head truncation drops a suffix of the words; with a tail kept, every word may be read.
    if (!tok || words.length === 0 || tok.truncation !== "head") return words.length;
    const budget = maxInputLength(model.cfg, opts.maxLength ?? 128) - (await tok.encode("")).length;
    // Tokens before word k (its separator included, less trailing space, which byte-level BPE would count
    // as a token of its own); word k is read when they leave room for one more. They grow with k (the
    // pre-tokenizers split at the separators), so a binary search finds the first word cut off.
    const before = async (k: number): Promise<number> => {
      let s = seps[0]!;
      for (let i = 0; i < k; i++) s += words[i]! + seps[i + 1]!;
      return (await tok.tokenize(s.trimEnd())).length;
    };
    if ((await before(words.length - 1)) < budget) return words.length;
    if ((await before(0)) >= budget) return 0;
    // before(lo) < budget <= before(hi)
    let lo = 0,
      hi = words.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await before(mid)) < budget) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  async predictProba(inputs: AttackInput[]): Promise<Float32Array[]> {
    const paired = inputs.filter((x) => x.pair !== undefined).length;
    if (paired === 0 || paired === inputs.length) return this.predictor.probabilities(inputs);
    // The Predictor encodes a batch holding any pair entirely as pairs (an empty second text for the
    // rest), so single texts and pairs go through separately.
    const out = new Array<Float32Array>(inputs.length);
    for (const isPair of [false, true]) {
      const idx = inputs.flatMap((x, i) => ((x.pair !== undefined) === isPair ? [i] : []));
      const probs = await this.predictor.probabilities(idx.map((i) => inputs[i]!));
      idx.forEach((i, k) => {
        out[i] = probs[k]!;
      });
    }
    return out;
  }
}

/** Mean-pooled last hidden states as sentence embeddings (stands in for the Universal Sentence Encoder). */
export class ModelSentenceEncoder implements SentenceEncoder {
  constructor(readonly predictor: Predictor) {}

  embed(texts: string[]): Promise<Float32Array[]> {
    return this.predictor.embeddings(texts);
  }
}

export interface MlmFillerOptions {
  batchSize?: number;
  /** Longer texts are truncated (a mask cut off gets no candidates); default min(128, the model's limit). */
  maxLength?: number;
  threads?: number;
}

// A whole word: letters/digits, optionally joined by ' or - (no punctuation, brackets or pieces).
const WORD = /^[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*$/u;
const HAS_LETTER = /\p{L}/u;

/**
 * BERT-Attack / BAE candidate words from a masked LM. Only the hidden state at the mask goes through
 * the LM head (gathered in-graph with a one-hot of the mask position), so the [vocab] decoder
 * matmul runs once per text instead of once per token.
 */
export class MlmFiller implements MaskedWordFiller {
  private program: Program | null = null;
  private readonly tokenizer: Tokenizer;
  private readonly special: Set<number>;
  readonly maxLength: number;

  constructor(
    readonly model: PretrainedModel,
    readonly opts: MlmFillerOptions = {},
  ) {
    if (!model.arch.supportsMlm)
      throw new ConfigError(`${model.cfg.modelType}: masked-LM head not supported (use a BERT or RoBERTa model)`);
    if (!model.tokenizer) throw new ConfigError("the masked LM has no tokenizer");
    this.tokenizer = model.tokenizer;
    this.special = new Set(Object.values(this.tokenizer.specialIds));
    this.maxLength = maxInputLength(model.cfg, opts.maxLength ?? 128);
  }

  /** Loads a BERT/RoBERTa directory with its masked-LM head (newly initialised when the checkpoint lacks it). */
  static async load(dir: string, opts: MlmFillerOptions = {}): Promise<MlmFiller> {
    const model = await PretrainedModel.load(dirFiles(dir), { heads: ["mlm"] });
    return new MlmFiller(model, opts);
  }

  /** True when the checkpoint had no masked-LM head weights (its words are then arbitrary). */
  get headIsNew(): boolean {
    return this.model.report.newParams.some((n) => /^(cls\.predictions|lm_head)\./.test(n));
  }

  get maskToken(): string {
    return this.tokenizer.maskToken;
  }

  /** Frees the compiled session (a later call compiles again). */
  async release(): Promise<void> {
    const p = this.program;
    this.program = null;
    await p?.release();
  }

  private async compile(): Promise<Program> {
    const arch = this.model.arch;
    const g = new Graph();
    const ctx = { scope: new ParamScope(g), train: false };
    const inputs = arch.inputs(g);
    const pos = g.input("mask_pos", "int64", ["batch"]);
    const h = arch.encode(ctx, inputs); // [batch, seq, hidden]
    const at = ops.equal(ops.unsqueeze(ops.arange(inputs.inputIds, 1), [0]), ops.unsqueeze(pos, [1])); // [batch, seq]
    const hMask = ops.reduceSum(ops.mul(h, ops.unsqueeze(ops.cast(at, "float32"), [-1])), [1], true); // [batch, 1, hidden]
    const logits = ops.squeeze(arch.mlmLogits(ctx, hMask), [1]); // [batch, vocab]
    return Program.compile(g, { logits }, frozenWeights(this.model, this.opts.threads));
  }

  /** Logits at the mask of each text ([vocab] each), or null where truncation cut the mask off. */
  async maskLogits(texts: readonly string[]): Promise<(Float32Array | null)[]> {
    this.program ??= await this.compile();
    const prog = this.program;
    const out: (Float32Array | null)[] = new Array(texts.length).fill(null);
    const maskId = this.tokenizer.specialIds.mask;
    const bs = this.opts.batchSize ?? 32;
    for (let s = 0; s < texts.length; s += bs) {
      const chunk = texts.slice(s, s + bs);
      const enc = await this.tokenizer.encodeBatch(chunk, null, { maxLength: this.maxLength, padding: "longest" });
      const pos = new BigInt64Array(enc.batch);
      const rows: number[] = [];
      for (let b = 0; b < enc.batch; b++) {
        let found = -1;
        for (let t = 0; t < enc.seq; t++) {
          if (enc.inputIds[b * enc.seq + t] !== BigInt(maskId)) continue;
          if (found >= 0) throw new RoseError(`more than one ${this.maskToken} in ${JSON.stringify(chunk[b]!.slice(0, 80))}`);
          found = t;
        }
        if (found < 0) {
          if (!chunk[b]!.includes(this.maskToken)) throw new RoseError(`no ${this.maskToken} in ${JSON.stringify(chunk[b]!.slice(0, 80))}`);
          continue; // truncated away
        }
        pos[b] = BigInt(found);
        rows.push(b);
      }
      if (rows.length === 0) continue;
      const dims = [enc.batch, enc.seq];
      const feeds: Record<string, HostTensor | Float32Array> = {
        input_ids: { data: enc.inputIds, dims },
        attention_mask: { data: enc.attentionMask, dims },
        mask_pos: { data: pos, dims: [enc.batch] },
      };
      if (this.model.arch.usesTokenTypes) feeds.token_type_ids = { data: enc.tokenTypeIds, dims };
      for (const inp of prog.inputs) if (inp.kind === "param") feeds[inp.name] = this.model.params.get(inp.name)!;
      const r = (await prog.run(feeds)).logits!;
      const v = r.dims[1]!;
      const data = r.data as Float32Array;
      for (const b of rows) out[s + b] = data.slice(b * v, (b + 1) * v);
    }
    return out;
  }

  /** A vocabulary entry as a whole word, or null for pieces, special tokens and punctuation. */
  private wordOf(id: number): string | null {
    if (this.special.has(id)) return null;
    let tok = this.tokenizer.idToToken(id);
    if (tok === null) return null;
    if (this.tokenizer.kind === "bpe" || this.tokenizer.kind === "unigram") {
      // Byte-level BPE and SentencePiece: a word that follows a space starts with "Ġ" / "▁"; anything else
      // continues a word.
      const start = this.tokenizer.kind === "bpe" ? "\u0120" : "\u2581";
      if (!tok.startsWith(start)) return null;
      tok = tok.slice(1);
    } else if (tok.startsWith("##")) {
      return null;
    }
    return WORD.test(tok) && HAS_LETTER.test(tok) ? tok : null;
  }

  /**
   * Top-k whole words for the mask of each text, best first (ties by id, so deterministic).
   * `exclude[i]` (the original word) is left out of row i's list, case-insensitively.
   */
  async fill(texts: string[], k: number, exclude?: readonly (string | undefined)[]): Promise<string[][]> {
    if (!Number.isInteger(k) || k < 1) throw new ConfigError(`k must be a positive integer, got ${k}`);
    const logits = await this.maskLogits(texts);
    return logits.map((l, i) => (l === null ? [] : this.topWords(l, k, exclude?.[i]?.toLowerCase())));
  }

  private topWords(logits: Float32Array, k: number, skip: string | undefined): string[] {
    // Most of a vocabulary's best entries are words, so a few times k usually suffice; else widen.
    for (let m = Math.min(logits.length, 4 * k + 32); ; m = Math.min(logits.length, m * 4)) {
      const out: string[] = [];
      const seen = new Set<string>();
      for (const id of topIds(logits, m)) {
        const w = this.wordOf(id);
        if (w === null) continue;
        const key = w.toLowerCase();
        if (key === skip || seen.has(key)) continue;
        seen.add(key);
        out.push(w);
        if (out.length === k) return out;
      }
      if (m === logits.length) return out;
    }
  }
}

/** Indices of the m largest values, largest first, ties by smaller index. */
export function topIds(xs: Float32Array, m: number): number[] {
  const better = (a: number, b: number) => xs[a]! > xs[b]! || (xs[a] === xs[b] && a < b);
  // Min-heap of the best m so far (root = the worst kept).
  const heap: number[] = [];
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let w = i;
      if (l < heap.length && better(heap[w]!, heap[l]!)) w = l;
      if (r < heap.length && better(heap[w]!, heap[r]!)) w = r;
      if (w === i) return;
      [heap[i], heap[w]] = [heap[w]!, heap[i]!];
      i = w;
    }
  };
  for (let i = 0; i < xs.length; i++) {
    if (heap.length < m) {
      heap.push(i);
      for (let c = heap.length - 1; c > 0; ) {
        const p = (c - 1) >> 1;
        if (!better(heap[p]!, heap[c]!)) break;
        [heap[p], heap[c]] = [heap[c]!, heap[p]!];
        c = p;
      }
    } else if (m > 0 && better(i, heap[0]!)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : 1));
}
