// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Every header field is validated before any data is used, so a
// corrupt or truncated file fails with the file, the tensor and the problem named.
import { FormatError } from "../errors.ts";
import { jsonProblem } from "./json.ts";

export type StDType = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const DTYPE_BYTES: Record<StDType, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
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

/** IEEE half bits -> float32 value. */
export function f16ToF32(h: number): number {
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
  const e = exp - 127 + 15;
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
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I64":
      return new BigInt64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "I16":
      return new Int16Array(buf);
    case "I8":
      return new Int8Array(buf);
    case "U8":
    case "BOOL":
      return copy;
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
  const hlenBig = view.getBigUint64(0, true);
  if (hlenBig > BigInt(bytes.length - 8)) {
    throw new FormatError(file, `truncated or corrupt: header length ${hlenBig} exceeds file size ${bytes.length}`);
  }
  const hlen = Number(hlenBig);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new FormatError(file, `header is not valid JSON (${jsonProblem(e)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new FormatError(file, "header is not a JSON object");
  }
  const dataStart = 8 + hlen;
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  interface Entry {
    name: string;
    dtype: StDType;
    shape: number[];
    begin: number;
    end: number;
    count: number;
  }
  const entries: Entry[] = [];
  // Validate every header entry before decoding anything.
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(file, raw);
      continue;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new FormatError(file, `tensor ${name}: header entry is not an object`);
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype;
    // Object.hasOwn, not `in`: "toString" must not pass as a dtype.
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      throw new FormatError(file, `tensor ${name}: unknown dtype ${JSON.stringify(dtype)}`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError(file, `tensor ${name}: invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      throw new FormatError(file, `tensor ${name}: invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    const need = count * DTYPE_BYTES[dtype as StDType];
    // Past 2^53 the product is no longer exact, so a size comparison below could pass by rounding.
    if (!Number.isSafeInteger(need)) {
      throw new FormatError(
        file,
        `tensor ${name}: shape ${JSON.stringify(shape)} x ${dtype} has an element count that overflows (${count} elements)`,
      );
    }
    if (end - begin !== need) {
      throw new FormatError(
        file,
        `tensor ${name}: shape ${JSON.stringify(shape)} x ${dtype} needs ${need} bytes but data_offsets span ${end - begin}`,
      );
    }
    if (end > dataLen) {
      throw new FormatError(file, `truncated: tensor ${name} ends at byte ${end} of the data section, which has only ${dataLen} bytes`);
    }
    entries.push({ name, dtype: dtype as StDType, shape: shape as number[], begin, end, count });
  }
  // As the reference implementation requires, the byte ranges tile the data section exactly: no overlap,
  // no gap, nothing after the last tensor (so a file cut short or padded is never read as valid).
  // Empty tensors occupy no bytes and cannot overlap anything.
  const ranges = entries.filter((e) => e.end > e.begin).sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = 0;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (r.begin < pos) throw new FormatError(file, `tensors ${ranges[i - 1]!.name} and ${r.name} overlap in the data section`);
    if (r.begin > pos)
      throw new FormatError(file, `bytes ${pos}..${r.begin} of the data section, before tensor ${r.name}, belong to no tensor`);
    pos = r.end;
  }
  if (pos !== dataLen) {
    throw new FormatError(
      file,
      `the data section has ${dataLen - pos} bytes after the last tensor (${dataLen} bytes, tensors end at ${pos})`,
    );
  }
  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const data = decode(file, e.name, e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end), e.count);
    const outType: StDType = e.dtype === "F16" || e.dtype === "BF16" ? "F32" : e.dtype;
    tensors.set(e.name, { dtype: outType, shape: e.shape, data });
  }
  return { tensors, metadata };
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new FormatError(file, "__metadata__ is not a JSON object");
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") throw new FormatError(file, `__metadata__ value for ${JSON.stringify(k)} is not a string`);
  }
  return { ...(raw as Record<string, string>) };
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

/**
 * Serialises tensors (in the given order) to safetensors bytes. `dtype: "F16"` stores float32 data as
 * half precision; any other requested dtype must match the array type (BOOL may be asked of a Uint8Array).
 */
export function serializeSafetensors(
  tensors: Map<string, WriteTensor> | [string, WriteTensor][],
  metadata?: Record<string, string>,
  file = "<buffer>",
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : tensors;
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of entries) {
    if (Object.hasOwn(header, name)) {
      throw new FormatError(file, name === "__metadata__" ? "a tensor may not be named __metadata__" : `tensor ${name} appears twice`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError(file, `tensor ${name}: invalid shape ${JSON.stringify(t.shape)}`);
    }
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) {
      throw new FormatError(file, `tensor ${name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} elements`);
    }
    const natural = dtypeOf(t.data);
    const dtype = t.dtype ?? natural;
    let blob: Uint8Array;
    if (dtype === "F16") {
      if (!(t.data instanceof Float32Array)) throw new FormatError(file, `tensor ${name}: F16 storage needs float32 data`);
      const h = new Uint16Array(count);
      for (let i = 0; i < count; i++) h[i] = f32ToF16(t.data[i]!);
      blob = new Uint8Array(h.buffer);
    } else {
      if (dtype !== natural && !(dtype === "BOOL" && natural === "U8")) {
        throw new FormatError(file, `tensor ${name}: cannot store ${t.data.constructor.name} as ${dtype}`);
      }
      blob = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + blob.length] };
    blobs.push(blob);
    off += blob.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const enc = new TextEncoder();
  const hlen = enc.encode(json).length;
  json += " ".repeat((8 - ((hlen + 8) % 8)) % 8);
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
