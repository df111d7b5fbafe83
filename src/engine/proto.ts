// A minimal protobuf writer for the subset of onnx.proto the engine emits. The schema is tiny and
// stable (field numbers below are from onnx.proto3), so a hand-written encoder beats pulling in a
// generated code base for it.
import { EngineError } from "../errors.ts";

class Writer {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;
  private total = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, 2 * this.buf.length));
  }
  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.slice(0, this.pos));
      this.pos = 0;
    }
  }
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
      this.total++;
    }
    this.buf[this.pos++] = Number(x);
    this.total++;
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.flush();
    this.chunks.push(data);
    this.total += data.length;
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
    this.total += 4;
  }
  message(field: number, build: (w: Writer) => void): void {
    const w = new Writer();
    build(w);
    this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** ONNX TensorProto.DataType codes. */
export const OnnxDataType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;
export type OnnxDTypeName = keyof typeof OnnxDataType;

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | TensorProtoData;

export interface TensorProtoData {
  kind: "tensor";
  name?: string;
  dtype: OnnxDTypeName;
  dims: number[];
  raw: Uint8Array;
}

export interface NodeProtoData {
  opType: string;
  domain?: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface ValueInfoData {
  name: string;
  dtype: OnnxDTypeName;
  shape: (number | string)[];
}

export interface ModelProtoData {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  graph: {
    name: string;
    nodes: NodeProtoData[];
    initializers: TensorProtoData[];
    inputs: ValueInfoData[];
    outputs: ValueInfoData[];
  };
}

function writeTensor(w: Writer, t: TensorProtoData): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, OnnxDataType[t.dtype]);
  if (t.name !== undefined) w.string(8, t.name);
  w.bytes(9, t.raw);
}

// AttributeProto.AttributeType codes.
const ATTR_FLOAT = 1,
  ATTR_INT = 2,
  ATTR_STRING = 3,
  ATTR_TENSOR = 4,
  ATTR_FLOATS = 6,
  ATTR_INTS = 7;

function writeAttr(w: Writer, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new EngineError(`attribute ${name}: use {float: x} for float attributes`);
    w.int(3, v);
    w.int(20, ATTR_INT);
  } else if (typeof v === "string") {
    w.string(4, v);
    w.int(20, ATTR_STRING);
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, ATTR_INTS);
  } else if ("float" in v) {
    w.float(2, v.float);
    w.int(20, ATTR_FLOAT);
  } else if ("floats" in v) {
    for (const x of v.floats) w.float(7, x);
    w.int(20, ATTR_FLOATS);
  } else {
    w.message(5, (m) => writeTensor(m, v));
    w.int(20, ATTR_TENSOR);
  }
}

function writeValueInfo(w: Writer, v: ValueInfoData): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, OnnxDataType[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

export function encodeModel(m: ModelProtoData): Uint8Array {
  const w = new Writer();
  w.int(1, m.irVersion);
  w.string(2, m.producer);
  w.message(7, (g) => {
    for (const n of m.graph.nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        if (n.name) nw.string(3, n.name);
        nw.string(4, n.opType);
        for (const [k, v] of Object.entries(n.attrs ?? {})) nw.message(5, (a) => writeAttr(a, k, v));
        if (n.domain) nw.string(7, n.domain);
      });
    }
    g.string(2, m.graph.name);
    for (const t of m.graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const i of m.graph.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of m.graph.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  });
  for (const o of m.opsets) {
    w.message(8, (ow) => {
      if (o.domain) ow.string(1, o.domain);
      ow.int(2, o.version);
    });
  }
  return w.finish();
}
