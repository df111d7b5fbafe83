// Token rows padded on the right into the [batch, seq] int64 tensors every encoder graph reads.

/** Row-major [batch, seq] int64 tensors, right-padded. */
export interface PaddedBatch {
  batch: number;
  seq: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

export interface TokenRow {
  ids: ArrayLike<number>;
  /** Token type (segment) ids; all 0 when absent. */
  types?: ArrayLike<number>;
}

/** Pads `rows` with `padId` to `seq` columns (default: the longest row); the mask is 1 on real tokens. */
export function padRows(rows: readonly TokenRow[], padId: number, seq?: number): PaddedBatch {
  let width = seq ?? 0;
  if (seq === undefined) for (const r of rows) width = Math.max(width, r.ids.length);
  const batch = rows.length;
  const inputIds = new BigInt64Array(batch * width).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(batch * width);
  const tokenTypeIds = new BigInt64Array(batch * width);
  rows.forEach((r, b) => {
    const o = b * width;
    for (let t = 0; t < r.ids.length; t++) {
      inputIds[o + t] = BigInt(r.ids[t]!);
      attentionMask[o + t] = 1n;
      if (r.types) tokenTypeIds[o + t] = BigInt(r.types[t]!);
    }
  });
  return { batch, seq: width, inputIds, attentionMask, tokenTypeIds };
}
