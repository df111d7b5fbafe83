// PyTorch checkpoints written the way torch.save writes them (a zip of `<prefix>/data.pkl`, protocol-2
// pickle, and raw storages `<prefix>/data/<key>`), and a pickle opcode writer, so tests build well-formed,
// hostile and broken checkpoints themselves instead of committing binaries.
import { zipSync, type Zippable } from "fflate";
import { f32ToF16 } from "../../src/io/safetensors.ts";

/** Emits pickle opcodes; every method returns `this` so a pickle reads as a chain. */
export class PickleWriter {
  private readonly out: number[] = [];

  /** The byte offset the next opcode will have. */
  get pos(): number {
    return this.out.length;
  }
  op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  raw(bytes: Uint8Array | string): this {
    for (const b of typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes) this.out.push(b);
    return this;
  }
  private u32(n: number): this {
    return this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  proto(v = 2): this {
    return this.op(0x80, v);
  }
  stop(): this {
    return this.op(0x2e);
  }
  mark(): this {
    return this.op(0x28);
  }
  global(module: string, name: string): this {
    return this.op(0x63).raw(`${module}\n${name}\n`);
  }
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).op(0x93);
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58).u32(b.length).raw(b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.op(0x4a).u32(n >>> 0);
    // LONG1: little-endian two's complement, 8 bytes is plenty for a test.
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 8; i++, v >>= 8n) bytes.push(Number(v & 0xffn));
    return this.op(0x8a, 8, ...bytes);
  }
  bool(b: boolean): this {
    return this.op(b ? 0x88 : 0x89);
  }
  none(): this {
    return this.op(0x4e);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  tuple(): this {
    return this.op(0x74);
  }
  /** A tuple of ints, as pickle writes one (TUPLE1..3 for short ones). */
  ints(xs: number[]): this {
    if (xs.length === 0) return this.emptyTuple();
    if (xs.length <= 3) {
      for (const x of xs) this.int(x);
      return this.op(0x84 + xs.length);
    }
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  append(): this {
    return this.op(0x61);
  }
  setitem(): this {
    return this.op(0x73);
  }
  setitems(): this {
    return this.op(0x75);
  }
  reduce(): this {
    return this.op(0x52);
  }
  build(): this {
    return this.op(0x62);
  }
  persid(): this {
    return this.op(0x51);
  }
  put(i: number): this {
    return i < 256 ? this.op(0x71, i) : this.op(0x72).u32(i);
  }
  get(i: number): this {
    return i < 256 ? this.op(0x68, i) : this.op(0x6a).u32(i);
  }
  orderedDict(): this {
    return this.global("collections", "OrderedDict").emptyTuple().reduce();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export type StorageClass = "FloatStorage" | "HalfStorage" | "BFloat16Storage" | "DoubleStorage" | "LongStorage" | "IntStorage" | string;

export interface StorageSpec {
  type: StorageClass;
  /** The storage's raw little-endian bytes. */
  data: Uint8Array;
  /** Elements the persistent id declares. Default: bytes / element size of `type`. */
  numel?: number;
}

export interface TensorSpec {
  name: string;
  storage: string;
  shape: number[];
  /** Default: row-major. */
  stride?: number[];
  offset?: number;
}

const ELEMENT_BYTES: Record<string, number> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
};

export function rowMajor(shape: number[]): number[] {
  const stride = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) stride[d] = stride[d + 1]! * shape[d + 1]!;
  return stride;
}

/**
 * data.pkl of a state_dict as torch.save writes it: an OrderedDict (GLOBAL + REDUCE, then BUILD of its
 * `_metadata`, like `model.state_dict()`) or a plain dict, each tensor `_rebuild_tensor_v2` of a persistent
 * id `('storage', torch.<type>, key, 'cpu', numel)`.
 */
export function stateDictPickle(
  tensors: readonly TensorSpec[],
  storages: ReadonlyMap<string, StorageSpec>,
  opts: { ordered?: boolean } = {},
): Uint8Array {
  const p = new PickleWriter().proto(2);
  if (opts.ordered) p.orderedDict();
  else p.emptyDict();
  p.mark();
  for (const t of tensors) {
    const st = storages.get(t.storage)!;
    p.str(t.name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark()
      .str("storage")
      .global("torch", st.type)
      .str(t.storage)
      .str("cpu")
      .int(st.numel ?? st.data.length / ELEMENT_BYTES[st.type]!)
      .tuple()
      .persid();
    p.int(t.offset ?? 0)
      .ints(t.shape)
      .ints(t.stride ?? rowMajor(t.shape))
      .bool(false)
      .orderedDict()
      .tuple()
      .reduce();
  }
  p.setitems();
  if (opts.ordered)
    p.emptyDict().str("_metadata").orderedDict().mark().str("").emptyDict().str("version").int(1).setitem().setitems().setitem().build();
  return p.stop().bytes();
}

/** A zip as torch.save lays it out: data.pkl, the storages, version; stored unless `level` says otherwise. */
export function torchZip(entries: Record<string, Uint8Array>, opts: { prefix?: string; level?: 0 | 6 } = {}): Uint8Array {
  const prefix = opts.prefix ?? "archive";
  const files: Zippable = {};
  for (const [name, data] of Object.entries(entries)) files[`${prefix}/${name}`] = [data, { level: opts.level ?? 0 }];
  return zipSync(files);
}

/** A whole checkpoint: data.pkl, each storage as data/<key>, and version. */
export function torchCheckpoint(
  tensors: readonly TensorSpec[],
  storages: ReadonlyMap<string, StorageSpec>,
  opts: { ordered?: boolean; prefix?: string; level?: 0 | 6; omit?: string[] } = {},
): Uint8Array {
  const entries: Record<string, Uint8Array> = { "data.pkl": stateDictPickle(tensors, storages, opts) };
  for (const [key, st] of storages) entries[`data/${key}`] = st.data;
  entries.version = new TextEncoder().encode("3\n");
  for (const o of opts.omit ?? []) delete entries[o];
  return torchZip(entries, opts);
}

export type BinDType = "F32" | "F16" | "BF16";

/** Float32 values as the raw bytes of a storage of `dtype` (F16 rounds to nearest, BF16 truncates). */
export function storageBytes(values: Float32Array, dtype: BinDType = "F32"): Uint8Array {
  if (dtype === "F32") return new Uint8Array(values.slice().buffer);
  const out = new Uint16Array(values.length);
  const bits = new Uint32Array(values.slice().buffer);
  for (let i = 0; i < values.length; i++) out[i] = dtype === "F16" ? f32ToF16(values[i]!) : bits[i]! >>> 16;
  return new Uint8Array(out.buffer);
}

const STORAGE_OF: Record<BinDType, StorageClass> = { F32: "FloatStorage", F16: "HalfStorage", BF16: "BFloat16Storage" };

/** `torch.save(state_dict)` of float tensors, one storage each, as `pytorch_model.bin` bytes. */
export function saveTorchBin(
  tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  opts: { dtype?: BinDType; ordered?: boolean } = {},
): Uint8Array {
  const specs: TensorSpec[] = [];
  const storages = new Map<string, StorageSpec>();
  let key = 0;
  for (const [name, t] of tensors) {
    const k = String(key++);
    storages.set(k, { type: STORAGE_OF[opts.dtype ?? "F32"], data: storageBytes(t.data, opts.dtype) });
    specs.push({ name, storage: k, shape: t.shape });
  }
  return torchCheckpoint(specs, storages, { ordered: opts.ordered ?? true });
}
