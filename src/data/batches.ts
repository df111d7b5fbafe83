// Examples -> token ids once (tokenised in chunks), then batches padded to the longest row of each
// batch (or to max_seq_length), so epochs after the first cost no tokeniser time.
import { padRows, type PaddedBatch } from "../io/padding.ts";
import type { Tokenizer } from "../io/tokenizer.ts";
import type { Example } from "./readers.ts";

/** A padded batch of token ids with its labels: what a training or evaluation step reads. */
export interface Batch extends PaddedBatch {
  /** int64 class ids, or float32 targets for regression (absent for objectives with their own inputs). */
  labels?: BigInt64Array | Float32Array;
}

export interface EncodedExample {
  ids: Int32Array;
  typeIds: Uint8Array;
  label: number | null;
}

const CHUNK = 1024;

export async function encodeExamples(
  tokenizer: Tokenizer,
  examples: readonly Example[],
  maxLength: number,
  onProgress?: (done: number) => void,
): Promise<EncodedExample[]> {
  const out = new Array<EncodedExample>(examples.length);
  let done = 0;
  // Single texts and pairs are encoded apart: a single text must not get an empty second segment.
  for (const pairs of [false, true]) {
    const idx = examples.map((e, i) => ((e.pair !== undefined) === pairs ? i : -1)).filter((i) => i >= 0);
    for (let s = 0; s < idx.length; s += CHUNK) {
      const chunk = idx.slice(s, s + CHUNK).map((i) => examples[i]!);
      const rows = await encodeChunk(tokenizer, chunk, pairs, maxLength);
      idx.slice(s, s + CHUNK).forEach((i, k) => {
        out[i] = rows[k]!;
      });
      done += chunk.length;
      onProgress?.(done);
    }
  }
  return out;
}

async function encodeChunk(tokenizer: Tokenizer, chunk: readonly Example[], pairs: boolean, maxLength: number): Promise<EncodedExample[]> {
  const out: EncodedExample[] = [];
  {
    const enc = await tokenizer.encodeBatch(
      chunk.map((e) => e.text),
      pairs ? chunk.map((e) => e.pair!) : null,
      { maxLength, padding: "longest" },
    );
    for (let b = 0; b < enc.batch; b++) {
      let len = 0;
      const o = b * enc.seq;
      while (len < enc.seq && enc.attentionMask[o + len] === 1n) len++;
      const ids = new Int32Array(len);
      const typeIds = new Uint8Array(len);
      for (let t = 0; t < len; t++) {
        ids[t] = Number(enc.inputIds[o + t]);
        typeIds[t] = Number(enc.tokenTypeIds[o + t]);
      }
      out.push({ ids, typeIds, label: chunk[b]!.label });
    }
  }
  return out;
}

/** Pads a list of encoded examples into one batch (right padding with `padId`). */
export function collate(rows: readonly EncodedExample[], padId: number, opts: { padTo?: number; regression?: boolean } = {}): Batch {
  let seq = opts.padTo ?? 0;
  for (const r of rows) seq = Math.max(seq, r.ids.length);
  const padded = padRows(
    rows.map((r) => ({ ids: r.ids, types: r.typeIds })),
    padId,
    seq,
  );
  const labels = opts.regression ? new Float32Array(rows.length) : new BigInt64Array(rows.length);
  rows.forEach((r, b) => {
    const l = r.label ?? 0;
    if (labels instanceof Float32Array) labels[b] = l;
    else labels[b] = BigInt(l);
  });
  return { ...padded, labels };
}

/** Splits indices into consecutive batches of `size` (the last one may be smaller). */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
