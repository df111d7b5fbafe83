// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Every header field is validated before any data is used, so a
// corrupt or truncated file fails with the file, the tensor and the problem named.
import { readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from "node:fs";
import { FormatError } from "../errors.ts";

export type StDType = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const DTYPE_BYTES: Record<StDType, number> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Int16Array;

export interface StTensor {
  dtype: StDType;
  shape: number[];
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** float32 -> IEEE half bits, round to nearest even. */
export function f32ToF16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function decode(file: string, name: string, dtype: StDType, bytes: Uint8Array, count: number): TensorData {
  // Copy into an aligned buffer: offsets inside the file need not be aligned to the element size.
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const buf = copy.buffer;
  switch (dtype) {
    case "F32": return new Float32Array(buf);
    case "F64": return new Float64Array(buf);
    case "I64": return new BigInt64Array(buf);
    case "I32": return new Int32Array(buf);
    case "I16": return new Int16Array(buf);
    case "I8": return new Int8Array(buf);
    case "U8": case "BOOL": return copy;
    case "F16": {
      const src = new Uint16Array(buf);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = f16ToF32(src[i]!);
      return out;
    }
    case "BF16": {
      const src = new Uint16Array(buf);
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = src[i]! << 16;
      return out;
    }
    default:
      throw new FormatError(file, `tensor ${name}: unsupported dtype ${String(dtype)}`);
  }
}

/** Parses a safetensors buffer. F16 and BF16 tensors are converted to float32 (dtype reported as F32). */
export function parseSafetensors(bytes: Uint8Array, file = "<buffer>"): SafetensorsFile {
  if (bytes.length < 8) throw new FormatError(file, `truncated: ${bytes.length} bytes, no header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(view.getBigUint64(0, true));
  if (hlen > bytes.length - 8) {
    throw new FormatError(file, `truncated or corrupt: header length ${hlen} exceeds file size ${bytes.length}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new FormatError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new FormatError(file, "header is not a JSON object");
  }
  const dataStart = 8 + hlen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info?.dtype as StDType;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
      throw new FormatError(file, `tensor ${name}: unknown dtype ${JSON.stringify(info?.dtype)}`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new FormatError(file, `tensor ${name}: invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[0] > offs[1]) {
      throw new FormatError(file, `tensor ${name}: invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [b, e] = offs as [number, number];
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    if (e - b !== count * DTYPE_BYTES[dtype]) {
      throw new FormatError(file, `tensor ${name}: shape ${JSON.stringify(shape)} x ${dtype} needs ${count * DTYPE_BYTES[dtype]} bytes but data_offsets span ${e - b}`);
    }
    if (e > dataLen) {
      throw new FormatError(file, `truncated: tensor ${name} ends at byte ${e} of the data section, which has only ${dataLen} bytes`);
    }
    ranges.push([b, e, name]);
    const data = decode(file, name, dtype, bytes.subarray(dataStart + b, dataStart + e), count);
    const outType: StDType = dtype === "F16" || dtype === "BF16" ? "F32" : dtype;
    tensors.set(name, { dtype: outType, shape: shape as number[], data });
  }
  ranges.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) {
      throw new FormatError(file, `tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap in the data section`);
    }
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new FormatError(file, `cannot read (${(e as Error).message})`);
  }
  return parseSafetensors(bytes, file);
}

export interface WriteTensor {
  shape: number[];
  data: TensorData;
  /** Store float32 data as F16 (half the size; used for shipped models). */
  dtype?: StDType;
}

function dtypeOf(data: TensorData): StDType {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof Int16Array) return "I16";
  if (data instanceof Int8Array) return "I8";
  return "U8";
}

/** Serialises tensors (in the given order) to safetensors bytes. */
export function serializeSafetensors(tensors: Map<string, WriteTensor> | [string, WriteTensor][], metadata?: Record<string, string>): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : tensors;
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) throw new FormatError(name, `shape ${JSON.stringify(t.shape)} does not match ${t.data.length} elements`);
    let dtype = t.dtype ?? dtypeOf(t.data);
    let blob: Uint8Array;
    if (dtype === "F16") {
      if (!(t.data instanceof Float32Array)) throw new FormatError(name, "F16 storage needs float32 data");
      const h = new Uint16Array(count);
      for (let i = 0; i < count; i++) h[i] = f32ToF16(t.data[i]!);
      blob = new Uint8Array(h.buffer);
    } else {
      dtype = dtypeOf(t.data);
      blob = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + blob.length] };
    blobs.push(blob);
    off += blob.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const enc = new TextEncoder();
  while ((enc.encode(json).length + 8) % 8 !== 0) json += " ";
  const hbytes = enc.encode(json);
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let o = 8 + hbytes.length;
  for (const b of blobs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** Writes a file atomically: a temporary file in the same directory, fsync, then rename. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function writeSafetensors(file: string, tensors: Map<string, WriteTensor> | [string, WriteTensor][], metadata?: Record<string, string>): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata ?? { format: "pt" }));
}
