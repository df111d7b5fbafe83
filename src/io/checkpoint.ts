// Model weights in Hugging Face layout: `model.safetensors`, or `model.safetensors.index.json` whose
// weight_map names the shard holding each tensor; failing those, PyTorch's `pytorch_model.bin` (or its
// shards and `pytorch_model.bin.index.json`), read by a restricted unpickler that runs nothing
// (src/io/torch-bin.ts). Everything is handed out as float32.
import { FormatError } from "../errors.ts";
import { fileLabel, type FileSink, type ModelFiles } from "./files.ts";
import { parseJsonBytes } from "./json.ts";
import { parseSafetensors, serializeSafetensors, type StTensor, type WriteTensor } from "./safetensors.ts";
import { parseTorchBin } from "./torch-bin.ts";

export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

export const WEIGHTS_FILE = "model.safetensors";
export const WEIGHTS_INDEX_FILE = "model.safetensors.index.json";
export const TORCH_WEIGHTS_FILE = "pytorch_model.bin";
export const TORCH_WEIGHTS_INDEX_FILE = "pytorch_model.bin.index.json";
/** The weight files a model folder may have, in the order they are looked for. */
export const WEIGHT_FILES: readonly string[] = [WEIGHTS_FILE, WEIGHTS_INDEX_FILE, TORCH_WEIGHTS_FILE, TORCH_WEIGHTS_INDEX_FILE];

/** The weight file (or shard index) checkpointTensors reads from `files`, or null when there is none. */
export function weightsFileOf(files: ModelFiles): string | null {
  return WEIGHT_FILES.find((f) => files.has(f)) ?? null;
}

function toFloat32(t: StTensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  const out = new Float32Array(d.length);
  // Integer buffers (e.g. position_ids in older BERT checkpoints) and F64 convert element-wise.
  if (d instanceof BigInt64Array) for (let i = 0; i < d.length; i++) out[i] = Number(d[i]!);
  else for (let i = 0; i < d.length; i++) out[i] = d[i]!;
  return out;
}

/** Reads the shard index, validating that every entry names a plain file next to it. */
function readIndex(files: ModelFiles, indexFile: string): Map<string, string> {
  const file = fileLabel(files.origin, indexFile);
  const json = parseJsonBytes<unknown>(files.read(indexFile), file);
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) throw new FormatError(file, "no weight_map object");
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    // Shards must sit in the same directory: refuse paths that could point elsewhere.
    if (typeof shard !== "string" || shard === "" || /[/\\]/.test(shard) || shard === "." || shard === "..") {
      throw new FormatError(file, `weight_map entry for ${name} is not a shard file name: ${JSON.stringify(shard)}`);
    }
    map.set(name, shard);
  }
  if (map.size === 0) throw new FormatError(file, "weight_map is empty");
  return map;
}

type ShardReader = (files: ModelFiles, name: string) => Map<string, Float32Tensor>;

function readSafetensorsShard(files: ModelFiles, name: string): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const [k, t] of parseSafetensors(files.read(name), fileLabel(files.origin, name)).tensors)
    out.set(k, { shape: t.shape, data: toFloat32(t) });
  return out;
}

function readTorchShard(files: ModelFiles, name: string): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const [k, t] of parseTorchBin(files.read(name), fileLabel(files.origin, name))) out.set(k, { shape: t.shape, data: t.data });
  return out;
}

/** The tensors named in a shard index's weight_map, each from the shard it names. */
function readSharded(files: ModelFiles, indexFile: string, read: ShardReader): Map<string, Float32Tensor> {
  const weightMap = readIndex(files, indexFile);
  const shards = new Map<string, Map<string, Float32Tensor>>();
  for (const shard of new Set(weightMap.values())) {
    if (!files.has(shard)) throw new FormatError(fileLabel(files.origin, indexFile), `shard ${shard} listed in weight_map does not exist`);
    shards.set(shard, read(files, shard));
  }
  const out = new Map<string, Float32Tensor>();
  for (const [name, shard] of weightMap) {
    const t = shards.get(shard)!.get(name);
    if (!t) throw new FormatError(fileLabel(files.origin, shard), `tensor ${name} listed in ${indexFile} is not in this shard`);
    out.set(name, t);
  }
  return out;
}

/**
 * Loads all weights of a checkpoint folder as float32, from the first of `model.safetensors`,
 * `model.safetensors.index.json` (+ shards), `pytorch_model.bin`, `pytorch_model.bin.index.json` (+ shards).
 */
export function checkpointTensors(files: ModelFiles): Map<string, Float32Tensor> {
  switch (weightsFileOf(files)) {
    case WEIGHTS_FILE:
      return readSafetensorsShard(files, WEIGHTS_FILE);
    case WEIGHTS_INDEX_FILE:
      return readSharded(files, WEIGHTS_INDEX_FILE, readSafetensorsShard);
    case TORCH_WEIGHTS_FILE:
      return readTorchShard(files, TORCH_WEIGHTS_FILE);
    case TORCH_WEIGHTS_INDEX_FILE:
      return readSharded(files, TORCH_WEIGHTS_INDEX_FILE, readTorchShard);
  }
  const names = files.names().sort();
  const shown = names.length > 20 ? [...names.slice(0, 20), `... (${names.length} files)`] : names;
  const foreign = ["tf_model.h5", "flax_model.msgpack"].filter((f) => files.has(f));
  throw new FormatError(
    files.origin,
    `no model weights: expected ${WEIGHT_FILES.slice(0, -1).join(", ")} or ${WEIGHT_FILES.at(-1)}; found ${shown.length ? shown.join(", ") : "no files"}` +
      (foreign.length
        ? `. ${foreign.join(" and ")} (TensorFlow / Flax) ${foreign.length > 1 ? "are" : "is"} not read: convert once with transformers ` +
          `(from_pretrained(dir, from_tf=True or from_flax=True), then save_pretrained(dir, safe_serialization=True))`
        : ""),
  );
}

export interface SaveCheckpointOptions {
  /** Storage type; F16 halves the file size at the cost of precision. Default F32. */
  dtype?: "F32" | "F16";
}

/** Writes `model.safetensors`: tensors in map order, metadata {format: "pt"}. */
export function saveCheckpoint(sink: FileSink, tensors: Map<string, Float32Tensor>, opts: SaveCheckpointOptions = {}): void {
  const dtype = opts.dtype ?? "F32";
  const entries: [string, WriteTensor][] = [...tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data, dtype }]);
  sink.write(WEIGHTS_FILE, serializeSafetensors(entries, { format: "pt" }, fileLabel(sink.origin, WEIGHTS_FILE)));
}
