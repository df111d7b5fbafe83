// Test helper: writes a minimal, valid Parquet file (one row group, one PLAIN-encoded uncompressed
// data page per column, thrift compact metadata) so the reader can be tested without a Parquet writer package.

export type ParquetColumn =
  | { name: string; type: "string"; values: (string | null)[] }
  | { name: string; type: "int64"; values: (number | null)[] }
  | { name: string; type: "double"; values: (number | null)[] };

// ---- thrift compact protocol
class Thrift {
  bytes: number[] = [];
  private last: number[] = [0];

  varint(n: bigint | number): void {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  zigzag(n: number): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  field(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1]!;
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }
  i32(id: number, v: number): void {
    this.field(id, 5);
    this.zigzag(v);
  }
  i64(id: number, v: number): void {
    this.field(id, 6);
    this.zigzag(v);
  }
  str(id: number, s: string): void {
    this.field(id, 8);
    this.rawStr(s);
  }
  rawStr(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.varint(b.length);
    this.bytes.push(...b);
  }
  begin(id: number): void {
    this.field(id, 12);
    this.last.push(0);
  }
  end(): void {
    this.bytes.push(0);
    this.last.pop();
  }
  list(id: number, elemType: number, n: number): void {
    this.field(id, 9);
    if (n < 15) this.bytes.push((n << 4) | elemType);
    else {
      this.bytes.push(0xf0 | elemType);
      this.varint(n);
    }
  }
  /** Struct inside a list: no field header. */
  beginElem(): void {
    this.last.push(0);
  }
}

const PHYSICAL = { string: 6, int64: 2, double: 5 } as const; // BYTE_ARRAY, INT64, DOUBLE

function plainValues(col: ParquetColumn): number[] {
  const out: number[] = [];
  for (const v of col.values) {
    if (v === null) continue;
    if (col.type === "string") {
      const b = Buffer.from(v as string, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      out.push(...len, ...b);
    } else {
      const b = Buffer.alloc(8);
      if (col.type === "int64") b.writeBigInt64LE(BigInt(v as number));
      else b.writeDoubleLE(v as number);
      out.push(...b);
    }
  }
  return out;
}

/** Definition levels (bit width 1) as RLE runs, prefixed by their byte length (data page v1). */
function defLevels(values: unknown[]): number[] {
  const runs: number[] = [];
  let i = 0;
  while (i < values.length) {
    const level = values[i] === null ? 0 : 1;
    let j = i;
    while (j < values.length && (values[j] === null ? 0 : 1) === level) j++;
    const t = new Thrift();
    t.varint((j - i) << 1); // RLE run header
    runs.push(...t.bytes, level);
    i = j;
  }
  const len = Buffer.alloc(4);
  len.writeUInt32LE(runs.length);
  return [...len, ...runs];
}

export function parquetBytes(columns: ParquetColumn[]): Uint8Array {
  const numRows = columns[0]?.values.length ?? 0;
  const file: number[] = [...Buffer.from("PAR1")];
  const chunks: { offset: number; size: number; col: ParquetColumn; optional: boolean }[] = [];
  for (const col of columns) {
    const optional = col.values.some((v) => v === null);
    const data = [...(optional ? defLevels(col.values) : []), ...plainValues(col)];
    const h = new Thrift();
    h.i32(1, 0); // DATA_PAGE
    h.i32(2, data.length);
    h.i32(3, data.length);
    h.begin(5);
    h.i32(1, col.values.length);
    h.i32(2, 0); // PLAIN
    h.i32(3, 3); // RLE
    h.i32(4, 3);
    h.end();
    h.bytes.push(0); // end PageHeader
    const offset = file.length;
    file.push(...h.bytes, ...data);
    chunks.push({ offset, size: h.bytes.length + data.length, col, optional });
  }
  const m = new Thrift();
  m.i32(1, 1); // version
  m.list(2, 12, columns.length + 1);
  m.beginElem();
  m.str(4, "schema");
  m.i32(5, columns.length);
  m.end();
  for (const { col, optional } of chunks) {
    m.beginElem();
    m.i32(1, PHYSICAL[col.type]);
    m.i32(3, optional ? 1 : 0); // OPTIONAL / REQUIRED
    m.str(4, col.name);
    if (col.type === "string") m.i32(6, 0); // UTF8
    m.end();
  }
  m.i64(3, numRows);
  m.list(4, 12, 1);
  m.beginElem(); // RowGroup
  m.list(1, 12, chunks.length);
  for (const c of chunks) {
    m.beginElem(); // ColumnChunk
    m.i64(2, c.offset);
    m.begin(3); // ColumnMetaData
    m.i32(1, PHYSICAL[c.col.type]);
    m.list(2, 5, 2);
    m.zigzag(0);
    m.zigzag(3);
    m.list(3, 8, 1);
    m.rawStr(c.col.name);
    m.i32(4, 0); // UNCOMPRESSED
    m.i64(5, c.col.values.length);
    m.i64(6, c.size);
    m.i64(7, c.size);
    m.i64(9, c.offset);
    m.end();
    m.end();
  }
  m.i64(
    2,
    chunks.reduce((s, c) => s + c.size, 0),
  );
  m.i64(3, numRows);
  m.end();
  m.str(6, "rose test parquet-writer");
  m.bytes.push(0); // end FileMetaData
  const len = Buffer.alloc(4);
  len.writeUInt32LE(m.bytes.length);
  file.push(...m.bytes, ...len, ...Buffer.from("PAR1"));
  return Uint8Array.from(file);
}
