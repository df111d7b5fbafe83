// Masked-LM training data: corpus lines -> token ids -> packed [CLS] chunk [SEP] sequences -> masked batches.
// Masking follows Hugging Face's DataCollatorForLanguageModeling; every batch is a pure function of
// (seed, step), so a resumed run sees exactly the batches an uninterrupted one would.
import { Rng } from "../engine/rng.ts";
import { ConfigError } from "../errors.ts";
import { padRows } from "../io/padding.ts";
import type { Tokenizer } from "../io/tokenizer.ts";

/** Label value of positions that are not predicted (PyTorch's cross-entropy ignore_index). */
export const IGNORE_INDEX = -100;

// Stream tags keep the shuffle and masking streams of one seed independent of each other.
const SHUFFLE_STREAM = 0x73687566;
const MASK_STREAM = 0x6d61736b;

/**
 * Token ids (no special tokens) of each line, via the tokenizer's batch encoder. Lines are not truncated.
 */
export async function tokenizeLines(tokenizer: Tokenizer, lines: readonly string[], chunkSize = 512): Promise<number[][]> {
  const out: number[][] = [];
  for (let start = 0; start < lines.length; start += chunkSize) {
    const chunk = lines.slice(start, start + chunkSize);
    // No truncation wanted: a bound far above any line; rows come back padded to the chunk's longest.
    const b = await tokenizer.encodeBatch(chunk, null, { maxLength: 1 << 20, padding: "longest" });
    for (let r = 0; r < b.batch; r++) {
      const ids: number[] = [];
      const o = r * b.seq;
      for (let t = 0; t < b.seq && b.attentionMask[o + t] === 1n; t++) ids.push(Number(b.inputIds[o + t]));
      // Drop the [CLS] ... [SEP] the encoder added; packing adds its own.
      out.push(ids.slice(1, -1));
    }
  }
  return out;
}

export interface PackOptions {
  /** Length of every packed sequence, [CLS] and [SEP] included. */
  maxLength: number;
  clsId: number;
  sepId: number;
  /** The trailing partial chunk is kept if it has at least this many tokens (default min(32, maxLength - 2)). */
  minLastChunk?: number;
}

/**
 * BERT-style packing (Hugging Face run_mlm's group_texts): the lines' tokens are concatenated in order and cut
 * into chunks of maxLength - 2, each wrapped as [CLS] chunk [SEP]. All sequences have maxLength tokens except
 * possibly the last, kept only if its chunk has at least minLastChunk tokens.
 */
export function packSequences(tokenIdsPerLine: readonly (readonly number[])[], opts: PackOptions): number[][] {
  const { maxLength, clsId, sepId } = opts;
  if (!Number.isInteger(maxLength) || maxLength < 3) throw new ConfigError(`maxLength must be an integer >= 3, got ${maxLength}`);
  const body = maxLength - 2;
  const minLast = opts.minLastChunk ?? Math.min(32, body);
  if (!Number.isInteger(minLast) || minLast < 1) throw new ConfigError(`minLastChunk must be a positive integer, got ${minLast}`);
  const out: number[][] = [];
  let cur: number[] = [clsId];
  for (const line of tokenIdsPerLine) {
    for (const id of line) {
      cur.push(id);
      if (cur.length === body + 1) {
        cur.push(sepId);
        out.push(cur);
        cur = [clsId];
      }
    }
  }
  if (cur.length - 1 >= minLast) {
    cur.push(sepId);
    out.push(cur);
  }
  return out;
}

/** Corpus lines -> token ids -> packed [CLS] ... [SEP] sequences of up to maxLength (the tokenizer's specials). */
export async function packLines(tokenizer: Tokenizer, lines: readonly string[], maxLength: number): Promise<number[][]> {
  const sp = tokenizer.specialIds;
  return packSequences(await tokenizeLines(tokenizer, lines), { maxLength, clsId: sp.cls, sepId: sp.sep });
}

export interface MaskOptions {
  rng: Rng;
  /** Random replacements are uniform over [0, vocabSize), special ids included, as Hugging Face does. */
  vocabSize: number;
  maskId: number;
  /** Ids never chosen for prediction ([CLS], [SEP], [PAD], ...). */
  specialIds: readonly number[];
  /** Probability that a non-special token is chosen for prediction (default 0.15). */
  mlmProbability?: number;
  /** Of the chosen tokens: share replaced by [MASK] (default 0.8) and by a random id (default 0.1); the rest stay. */
  maskReplaceProb?: number;
  randomReplaceProb?: number;
  /** Padding id (default 0). */
  padId?: number;
}

/** Row-major [batch, seq] int64 tensors, right-padded to the batch's longest row. */
export interface MlmBatch {
  batch: number;
  seq: number;
  inputIds: BigInt64Array;
  /** Original id at predicted positions, IGNORE_INDEX (-100) elsewhere (padding included). */
  labels: BigInt64Array;
  attentionMask: BigInt64Array;
  /** All zero: packed sequences are single segments. */
  tokenTypeIds: BigInt64Array;
}

function checkProb(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`${name} must be in [0, 1], got ${p}`);
}

/**
 * Masks a batch like DataCollatorForLanguageModeling: each non-special token is chosen with mlmProbability;
 * a chosen token becomes [MASK] with maskReplaceProb, else a uniformly random id with
 * randomReplaceProb / (1 - maskReplaceProb), else stays. Draws are made position by position, row-major.
 */
export function maskTokens(seqs: readonly (readonly number[])[], opts: MaskOptions): MlmBatch {
  const { rng, vocabSize, maskId } = opts;
  const p = opts.mlmProbability ?? 0.15;
  const pMask = opts.maskReplaceProb ?? 0.8;
  const pRandom = opts.randomReplaceProb ?? 0.1;
  const padId = opts.padId ?? 0;
  checkProb("mlmProbability", p);
  checkProb("maskReplaceProb", pMask);
  checkProb("randomReplaceProb", pRandom);
  if (pMask + pRandom > 1 + 1e-12) throw new ConfigError(`maskReplaceProb + randomReplaceProb must be <= 1, got ${pMask + pRandom}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new ConfigError(`vocabSize must be a positive integer, got ${vocabSize}`);
  if (seqs.length === 0) throw new ConfigError("cannot mask an empty batch");
  // As the collator does: the random share is taken from what [MASK] left.
  const pRandomOfRest = pMask < 1 ? pRandom / (1 - pMask) : 0;
  const special = new Set(opts.specialIds);
  seqs.forEach((s, b) => {
    s.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new ConfigError(`token id ${id} at row ${b}, position ${t} is outside the vocabulary [0, ${vocabSize})`);
    });
  });
  const padded = padRows(
    seqs.map((ids) => ({ ids })),
    padId,
  );
  const { seq, inputIds } = padded;
  const labels = new BigInt64Array(inputIds.length).fill(BigInt(IGNORE_INDEX));
  seqs.forEach((s, b) => {
    const o = b * seq;
    s.forEach((id, t) => {
      if (special.has(id) || rng.next() >= p) return;
      labels[o + t] = BigInt(id);
      if (rng.next() < pMask) inputIds[o + t] = BigInt(maskId);
      else if (rng.next() < pRandomOfRest) inputIds[o + t] = BigInt(rng.int(vocabSize));
    });
  });
  return { ...padded, labels };
}

export interface MlmBatcherOptions {
  batchSize: number;
  seed: number;
  vocabSize: number;
  maskId: number;
  specialIds: readonly number[];
  mlmProbability?: number;
  padId?: number;
  /** Reshuffle the sequences every epoch (default true; false reads them in order, e.g. for evaluation). */
  shuffle?: boolean;
  /**
   * Drop each epoch's last partial batch (default true): every batch then has batchSize rows, and with
   * reshuffling a different remainder is dropped each epoch.
   */
  dropLast?: boolean;
}

export interface MlmStep extends MlmBatch {
  step: number;
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
}

/**
 * Masked batches over packed sequences. Batch `step` is epoch floor(step / stepsPerEpoch), position
 * step % stepsPerEpoch of that epoch's permutation (Rng(seed, shuffle tag, epoch)), masked with
 * Rng(seed, mask tag, step): a fresh generator per batch, so batchAt(step) needs no history.
 */
export class MlmBatcher {
  readonly stepsPerEpoch: number;
  private cachedEpoch = -1;
  private cachedOrder: number[] = [];

  constructor(
    private readonly sequences: readonly (readonly number[])[],
    private readonly opts: MlmBatcherOptions,
  ) {
    const { batchSize, seed } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(seed)) throw new ConfigError(`seed must be an integer, got ${seed}`);
    const n = sequences.length;
    this.stepsPerEpoch = (opts.dropLast ?? true) ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    if (this.stepsPerEpoch === 0) throw new ConfigError(`${n} sequences make no full batch of ${batchSize}`);
  }

  /** Epoch and batch index of a global step. */
  position(step: number): { epoch: number; index: number } {
    if (!Number.isInteger(step) || step < 0) throw new ConfigError(`step must be a non-negative integer, got ${step}`);
    return { epoch: Math.floor(step / this.stepsPerEpoch), index: step % this.stepsPerEpoch };
  }

  /** The sequence order of an epoch. */
  order(epoch: number): readonly number[] {
    if (epoch !== this.cachedEpoch) {
      const idx = Array.from({ length: this.sequences.length }, (_, i) => i);
      this.cachedOrder = (this.opts.shuffle ?? true) ? new Rng(this.opts.seed, SHUFFLE_STREAM, epoch).shuffle(idx) : idx;
      this.cachedEpoch = epoch;
    }
    return this.cachedOrder;
  }

  /** Indices into the sequences of batch `step`. */
  indicesAt(step: number): number[] {
    const { epoch, index } = this.position(step);
    const bs = this.opts.batchSize;
    return this.order(epoch).slice(index * bs, (index + 1) * bs);
  }

  /** The masked batch of a global step; the same for the same (sequences, options, step). */
  batchAt(step: number): MlmStep {
    const { epoch, index } = this.position(step);
    const rows = this.indicesAt(step).map((i) => this.sequences[i]!);
    const o = this.opts;
    const masked = maskTokens(rows, {
      rng: new Rng(o.seed, MASK_STREAM, step),
      vocabSize: o.vocabSize,
      maskId: o.maskId,
      specialIds: o.specialIds,
      ...(o.mlmProbability !== undefined ? { mlmProbability: o.mlmProbability } : {}),
      ...(o.padId !== undefined ? { padId: o.padId } : {}),
    });
    return { step, epoch, index, ...masked };
  }
}

/** A batcher's options from a tokenizer: its vocabulary size, [MASK], [PAD] and the special tokens never masked. */
export function tokenizerBatcherOptions(tokenizer: Tokenizer, batchSize: number, seed: number): MlmBatcherOptions {
  const sp = tokenizer.specialIds;
  return {
    batchSize,
    seed,
    vocabSize: tokenizer.vocabSize,
    maskId: sp.mask,
    specialIds: [sp.pad, sp.cls, sp.sep, sp.unk, sp.mask],
    padId: sp.pad,
  };
}
