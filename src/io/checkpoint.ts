// Model weights in Hugging Face layout: `model.safetensors`, or `model.safetensors.index.json` whose
// weight_map names the shard holding each tensor. Everything is handed out as float32.
// pytorch_model.bin is deliberately unsupported: it is a pickle, and loading a pickle can run code.
import { FormatError } from "../errors.ts";
import { fileLabel, type FileSink, type ModelFiles } from "./files.ts";
import { parseJsonBytes } from "./json.ts";
import { parseSafetensors, serializeSafetensors, type StTensor, type WriteTensor } from "./safetensors.ts";

export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

export const WEIGHTS_FILE = "model.safetensors";
export const WEIGHTS_INDEX_FILE = "model.safetensors.index.json";

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
function readIndex(files: ModelFiles): Map<string, string> {
  const file = fileLabel(files.origin, WEIGHTS_INDEX_FILE);
  const json = parseJsonBytes<unknown>(files.read(WEIGHTS_INDEX_FILE), file);
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

function readShard(files: ModelFiles, name: string): Map<string, StTensor> {
  return parseSafetensors(files.read(name), fileLabel(files.origin, name)).tensors;
}

/**
 * Loads all weights of a checkpoint folder as float32, from `model.safetensors` or from the shards
 * listed in `model.safetensors.index.json`.
 */
export function checkpointTensors(files: ModelFiles): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  if (files.has(WEIGHTS_FILE)) {
    for (const [name, t] of readShard(files, WEIGHTS_FILE)) out.set(name, { shape: t.shape, data: toFloat32(t) });
    return out;
  }
  if (files.has(WEIGHTS_INDEX_FILE)) {
    const weightMap = readIndex(files);
    const shards = new Map<string, Map<string, StTensor>>();
    for (const shard of new Set(weightMap.values())) {
      if (!files.has(shard))
        throw new FormatError(fileLabel(files.origin, WEIGHTS_INDEX_FILE), `shard ${shard} listed in weight_map does not exist`);
      shards.set(shard, readShard(files, shard));
    }
    for (const [name, shard] of weightMap) {
      const t = shards.get(shard)!.get(name);
      if (!t) throw new FormatError(fileLabel(files.origin, shard), `tensor ${name} listed in ${WEIGHTS_INDEX_FILE} is not in this shard`);
      out.set(name, { shape: t.shape, data: toFloat32(t) });
    }
    return out;
  }
  const pickle = ["pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5"].filter((f) => files.has(f));
  throw new FormatError(
    files.origin,
    `no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}` +
      (pickle.length ? ` (found ${pickle.join(", ")})` : "") +
      `; only safetensors weights are supported: pytorch_model.bin is a pickle, which can run arbitrary code when loaded, so it is not read on purpose. ` +
      `Convert it once with transformers (model.save_pretrained(dir, safe_serialization=True)) or use a Hub revision that has ${WEIGHTS_FILE}.`,
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
