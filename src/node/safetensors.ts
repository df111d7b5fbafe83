// safetensors files on disk: read whole and parsed, written atomically.
import { parseSafetensors, type SafetensorsFile, serializeSafetensors, type WriteTensor } from "../io/safetensors.ts";
import { readBytes, writeFileAtomic } from "./files.ts";

export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(readBytes(file), file);
}

export function writeSafetensors(
  file: string,
  tensors: Map<string, WriteTensor> | [string, WriteTensor][],
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata ?? { format: "pt" }, file));
}
