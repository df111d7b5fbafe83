// PyTorch checkpoints (`pytorch_model.bin`, torch.save's zip format since PyTorch 1.6) read without running
// them. The archive holds `<name>/data.pkl`, a pickle of the state_dict whose tensors point by persistent id
// at raw little-endian storages `<name>/data/<key>`. data.pkl is run by the restricted unpickler with only
// the globals a state_dict needs; every storage is checked against its declared size and every tensor view
// against its storage before a byte is copied. Legacy (pre-1.6, non-zip) pickles are refused.
import { FormatError } from "../errors.ts";
import {
  PickleDict,
  PickleGlobal,
  PickleObject,
  PickleRefusal,
  PickleTuple,
  aPickleType,
  type PickleValue,
  type UnpickleLimits,
  type UnpickleRules,
  unpickle,
} from "./pickle.ts";
import { f16ToF32, type StDType } from "./safetensors.ts";
import { looksLikeZip, readZip } from "./zip.ts";

export interface TorchTensor {
  /** The storage's element type, named as safetensors names it. */
  dtype: StDType;
  shape: number[];
  /** Row-major values as float32, whatever the stored type. */
  data: Float32Array;
}

/** Storage classes torch.save names in persistent ids, with the element type they hold. */
const STORAGE_TYPES: Record<string, { dtype: StDType; bytes: number }> = {
  FloatStorage: { dtype: "F32", bytes: 4 },
  HalfStorage: { dtype: "F16", bytes: 2 },
  BFloat16Storage: { dtype: "BF16", bytes: 2 },
  DoubleStorage: { dtype: "F64", bytes: 8 },
  LongStorage: { dtype: "I64", bytes: 8 },
  IntStorage: { dtype: "I32", bytes: 4 },
  ShortStorage: { dtype: "I16", bytes: 2 },
  CharStorage: { dtype: "I8", bytes: 1 },
  ByteStorage: { dtype: "U8", bytes: 1 },
  BoolStorage: { dtype: "BOOL", bytes: 1 },
};

const ORDERED_DICT = "collections.OrderedDict";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
const REBUILD_PARAMETER = "torch._utils._rebuild_parameter";

/** Every global a checkpoint may name: nothing else gets past GLOBAL. */
export const ALLOWED_GLOBALS: readonly string[] = [
  ORDERED_DICT,
  REBUILD_TENSOR,
  REBUILD_PARAMETER,
  ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`),
];
const ALLOWED = new Set(ALLOWED_GLOBALS);

/** The most elements one tensor may have: a bound on what a single view can make us allocate. */
const MAX_ELEMENTS = 2 ** 31 - 1;

interface Storage {
  key: string;
  dtype: StDType;
  numel: number;
  values: Float32Array;
  /** Whether a tensor already holds `values` itself, so others must copy. */
  taken: boolean;
}

function refuse(problem: string): never {
  throw new PickleRefusal(problem);
}

function decodeStorage(bytes: Uint8Array, dtype: StDType, size: number, numel: number): Float32Array {
  // Typed arrays need aligned offsets; zip entries are fresh buffers, but copy when one is not aligned.
  const src = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = src;
  if (dtype === "F32") return new Float32Array(buffer, byteOffset, numel);
  const out = new Float32Array(numel);
  switch (dtype) {
    case "F16": {
      const h = new Uint16Array(buffer, byteOffset, numel);
      for (let i = 0; i < numel; i++) out[i] = f16ToF32(h[i]!);
      break;
    }
    case "BF16": {
      const h = new Uint16Array(buffer, byteOffset, numel);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) u[i] = h[i]! << 16;
      break;
    }
    case "I64": {
      const b = new BigInt64Array(buffer, byteOffset, numel);
      for (let i = 0; i < numel; i++) out[i] = Number(b[i]!);
      break;
    }
    case "F64":
      out.set(new Float64Array(buffer, byteOffset, numel));
      break;
    case "I32":
      out.set(new Int32Array(buffer, byteOffset, numel));
      break;
    case "I16":
      out.set(new Int16Array(buffer, byteOffset, numel));
      break;
    case "I8":
      out.set(new Int8Array(buffer, byteOffset, numel));
      break;
    default: // U8, BOOL
      out.set(src.subarray(0, numel));
  }
  return out;
}

function count(v: PickleValue, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) refuse(`${what} is ${describe(v)}, not a non-negative int`);
  return v;
}

function describe(v: PickleValue): string {
  return typeof v === "number" || typeof v === "bigint" ? String(v) : typeof v === "string" ? JSON.stringify(v) : aPickleType(v);
}

function ints(v: PickleValue, what: string): number[] {
  if (!(v instanceof PickleTuple)) return refuse(`${what} is ${aPickleType(v)}, not a tuple`);
  return v.items.map((x, i) => count(x, `${what}[${i}]`));
}

/** Copies a strided view out of its storage into a fresh row-major array (or hands over the storage itself). */
function materialize(st: Storage, offset: number, shape: number[], stride: number[]): Float32Array {
  let n = 1;
  for (const s of shape) n *= s;
  if (n > MAX_ELEMENTS) refuse(`a tensor of shape [${shape}] has ${n} elements, more than ${MAX_ELEMENTS}`);
  if (n === 0) {
    if (offset > st.numel) refuse(`storage offset ${offset} is past the end of storage ${st.key} (${st.numel} elements)`);
    return new Float32Array(0);
  }
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * stride[d]!;
  if (last >= st.numel) {
    refuse(
      `a view of shape [${shape}], stride [${stride}], offset ${offset} reaches element ${last} of storage ${st.key}, which has ${st.numel}`,
    );
  }
  // Stride-0 (expanded) views could ask for far more memory than the file holds.
  if (n > st.numel) refuse(`a view of ${n} elements over storage ${st.key} of ${st.numel}: overlapping views are not read`);
  const src = st.values;
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= shape[d]!;
  }
  if (contiguous) {
    if (offset === 0 && n === st.numel && !st.taken) {
      st.taken = true;
      return src;
    }
    return src.slice(offset, offset + n);
  }
  const out = new Float32Array(n);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let p = offset;
  for (let i = 0; i < n; i++) {
    out[i] = src[p]!;
    for (let d = nd - 1; d >= 0; d--) {
      p += stride[d]!;
      if (++idx[d]! < shape[d]!) break;
      p -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

class StateDictRules implements UnpickleRules {
  readonly allowedNote =
    `a state_dict names only ${[ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER].join(", ")} and ` +
    `torch.{${Object.keys(STORAGE_TYPES)
      .map((s) => s.replace(/Storage$/, ""))
      .join(",")}}Storage`;
  private readonly storages = new Map<string, Storage>();

  constructor(
    private readonly entries: Map<string, Uint8Array>,
    private readonly prefix: string,
  ) {}

  allowGlobal(module: string, name: string): boolean {
    return ALLOWED.has(`${module}.${name}`);
  }

  reduce(callable: PickleGlobal, args: PickleTuple): PickleValue {
    const a = args.items;
    switch (callable.qualified) {
      case ORDERED_DICT:
        if (a.length) refuse(`${ORDERED_DICT} called with ${a.length} arguments; a state_dict builds it empty`);
        return new PickleDict(true);
      case REBUILD_TENSOR:
        return this.tensor(a);
      case REBUILD_PARAMETER: {
        if (a.length !== 3 || !(a[0] instanceof PickleObject) || a[0].kind !== "tensor")
          refuse(`${REBUILD_PARAMETER} expects (tensor, requires_grad, backward_hooks)`);
        return a[0];
      }
      default:
        return refuse(
          `REDUCE of ${callable.qualified} is not allowed (only ${ORDERED_DICT}, ${REBUILD_TENSOR}, ${REBUILD_PARAMETER} are called)`,
        );
    }
  }

  build(target: PickleValue, state: PickleValue): void {
    // torch.save(model.state_dict()) sets the OrderedDict's `_metadata` attribute (module versions): unused.
    if (target instanceof PickleDict && target.ordered && state instanceof PickleDict) return;
    refuse(`BUILD of ${aPickleType(target)} with ${aPickleType(state)}; only an OrderedDict's metadata is accepted`);
  }

  persistentLoad(pid: PickleValue): PickleValue {
    // ('storage', torch.FloatStorage, key, location, numel)
    if (!(pid instanceof PickleTuple) || pid.items.length !== 5 || pid.items[0] !== "storage")
      return refuse(`a persistent id that is not ('storage', type, key, location, numel)`);
    const [, type, key, location, numelV] = pid.items as [PickleValue, PickleValue, PickleValue, PickleValue, PickleValue];
    if (!(type instanceof PickleGlobal) || type.module !== "torch" || !STORAGE_TYPES[type.name])
      refuse(`storage type ${type instanceof PickleGlobal ? type.qualified : describe(type)} is not one of torch.*Storage`);
    if (typeof key !== "string" || key === "" || key.includes("/")) return refuse(`storage key ${describe(key)} is not a plain name`);
    if (typeof location !== "string") refuse(`storage location is ${aPickleType(location)}, not a str`);
    const numel = count(numelV, `storage ${key} size`);
    const { dtype, bytes: size } = STORAGE_TYPES[type.name]!;
    const seen = this.storages.get(key);
    if (seen) {
      if (seen.dtype !== dtype || seen.numel !== numel)
        refuse(`storage ${key} is named as ${seen.numel} ${seen.dtype} and as ${numel} ${dtype} elements`);
      return new PickleObject("storage", seen);
    }
    const entry = `${this.prefix}data/${key}`;
    const bytes = this.entries.get(entry);
    if (!bytes) return refuse(`storage ${key} has no entry ${entry} in the archive`);
    if (bytes.length !== numel * size)
      refuse(`storage ${key} (${entry}) holds ${bytes.length} bytes but declares ${numel} ${dtype} elements (${numel * size} bytes)`);
    const st: Storage = { key, dtype, numel, values: decodeStorage(bytes, dtype, size, numel), taken: false };
    this.storages.set(key, st);
    return new PickleObject("storage", st);
  }

  /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
  private tensor(a: readonly PickleValue[]): PickleObject<TorchTensor> {
    if (a.length !== 6 && a.length !== 7) refuse(`${REBUILD_TENSOR} with ${a.length} arguments, expected 6 or 7`);
    type Six = [PickleValue, PickleValue, PickleValue, PickleValue, PickleValue, PickleValue];
    const [storage, offsetV, sizeV, strideV, requiresGrad, hooks] = a as Six;
    const metadata = a[6];
    if (!(storage instanceof PickleObject) || storage.kind !== "storage")
      return refuse(`${REBUILD_TENSOR} of ${aPickleType(storage)}, not a storage`);
    const st = storage.value as Storage;
    const offset = count(offsetV, "storage offset");
    const shape = ints(sizeV, "size");
    const stride = ints(strideV, "stride");
    if (stride.length !== shape.length) refuse(`size [${shape}] and stride [${stride}] differ in length`);
    if (typeof requiresGrad !== "boolean") refuse(`requires_grad is ${aPickleType(requiresGrad)}, not a bool`);
    if (!(hooks instanceof PickleDict) || hooks.map.size) refuse("backward hooks that are not an empty OrderedDict");
    if (metadata !== undefined && metadata !== null && !(metadata instanceof PickleDict))
      refuse(`tensor metadata is ${aPickleType(metadata)}, not a dict`);
    return new PickleObject("tensor", { dtype: st.dtype, shape, data: materialize(st, offset, shape, stride) });
  }
}

export type TorchBinOptions = UnpickleLimits;

/**
 * Reads the tensors of a PyTorch zip checkpoint, as float32. Anything but a state_dict of tensors (a dict
 * or OrderedDict with str keys), and anything a state_dict does not need, is a FormatError naming `file`.
 */
export function parseTorchBin(bytes: Uint8Array, file: string, opts: TorchBinOptions = {}): Map<string, TorchTensor> {
  if (!looksLikeZip(bytes)) {
    if (bytes.length === 0) throw new FormatError(file, "empty file");
    if (bytes[0] === 0x80)
      throw new FormatError(
        file,
        "a legacy (non-zip, PyTorch < 1.6) pickle; it is not read: re-save it with PyTorch >= 1.6 or convert it to safetensors",
      );
    throw new FormatError(file, "not a PyTorch zip checkpoint (no zip header)");
  }
  const entries = readZip(bytes, file);
  const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1)
    throw new FormatError(
      file,
      pkls.length ? `several data.pkl entries: ${pkls.join(", ")}` : "no <name>/data.pkl entry: not a PyTorch checkpoint",
    );
  const pkl = pkls[0]!;
  const prefix = pkl.slice(0, -"data.pkl".length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== "little")
    throw new FormatError(file, "storages are big-endian; only little-endian checkpoints are read");
  const root = unpickle(entries.get(pkl)!, file, new StateDictRules(entries, prefix), { ...opts, where: pkl });
  if (!(root instanceof PickleDict)) throw new FormatError(file, `${pkl} holds ${aPickleType(root)}, not a state_dict`);
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of root.map) {
    if (typeof k !== "string") throw new FormatError(file, `state_dict key ${String(k)} is not a str`);
    if (!(v instanceof PickleObject) || v.kind !== "tensor")
      throw new FormatError(file, `state_dict entry ${k} is ${aPickleType(v)}, not a tensor`);
    out.set(k, v.value as TorchTensor);
  }
  return out;
}
