// Compressed sparse rows in typed arrays: a 67k-row n-gram matrix is a few MB, not millions of objects.

export interface Csr {
  rows: number;
  cols: number;
  /** Row r's entries are [indptr[r], indptr[r + 1]). */
  indptr: Int32Array;
  /** Column of each entry, ascending within a row. */
  indices: Int32Array;
  data: Float64Array;
}

/** Builds a CSR matrix row by row; each row's (column, value) pairs may repeat a column (values add). */
export class CsrBuilder {
  private indptr: number[] = [0];
  private indices: number[] = [];
  private data: number[] = [];

  constructor(readonly cols: number) {}

  /** Adds a row from unsorted column ids, each counted once per occurrence. */
  addCounts(columns: readonly number[]): void {
    const sorted = Int32Array.from(columns).sort();
    for (let i = 0; i < sorted.length; ) {
      let j = i;
      while (j < sorted.length && sorted[j] === sorted[i]) j++;
      this.indices.push(sorted[i]!);
      this.data.push(j - i);
      i = j;
    }
    this.indptr.push(this.indices.length);
  }

  build(): Csr {
    return {
      rows: this.indptr.length - 1,
      cols: this.cols,
      indptr: Int32Array.from(this.indptr),
      indices: Int32Array.from(this.indices),
      data: Float64Array.from(this.data),
    };
  }
}

/** Scales column j by `factor[j]`, then each row to unit L2 norm (rows of zeros stay zero); a new matrix. */
export function scaleColumnsNormalizeRows(m: Csr, factor: Float64Array | null): Csr {
  const data = new Float64Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    let sq = 0;
    for (let e = m.indptr[r]!; e < m.indptr[r + 1]!; e++) {
      const v = factor ? m.data[e]! * factor[m.indices[e]!]! : m.data[e]!;
      data[e] = v;
      sq += v * v;
    }
    if (sq > 0) {
      const inv = 1 / Math.sqrt(sq);
      for (let e = m.indptr[r]!; e < m.indptr[r + 1]!; e++) data[e]! *= inv;
    }
  }
  return { ...m, data };
}
