// `rose export`: a model directory (or Hub id) -> a Hugging Face directory that transformers (Python)
// and transformers.js both load: config.json, model.safetensors, tokenizer files, and onnx/model.onnx
// (where transformers.js looks for the fp32 ONNX weights).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ResolveModelOptions } from "../node/hub.ts";
import { prepareOutputDir } from "../node/outputs.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { resolveModelDir } from "../node/model-ref.ts";
import { exportOnnx } from "../export/onnx.ts";
import { dirFiles, dirSink } from "../node/files.ts";
import { SENTENCEPIECE_FILES } from "../io/sentencepiece.ts";
import { type EncoderConfig, maxInputLength } from "../io/config.ts";
import { fileLabel, type FileSink } from "../io/files.ts";
import { parseJsonBytes, parseJsonText } from "../io/json.ts";

export interface ExportOptions {
  /** Model directory or Hub id; default: the shipped default model. */
  model?: string;
  hub?: ResolveModelOptions;
  /** Output directory (created; files in it are overwritten). */
  out: string;
  /** Export without tokenizer files even when the source has them. */
  skipTokenizer?: boolean;
}

export interface ExportResult {
  modelDir: string;
  out: string;
  onnxFile: string;
  onnxBytes: number;
  /** Whether tokenizer files were written. */
  tokenizer: boolean;
  /** Things the user should know (no tokenizer, newly initialised weights). */
  warnings: string[];
}

export const ONNX_SUBPATH = join("onnx", "model.onnx");

/** Whether a directory holds a tokenizer rose can load (same files Tokenizer.fromDir accepts). */
export function hasTokenizerFiles(dir: string): boolean {
  return ["tokenizer.json", "vocab.txt", "vocab.json", ...SENTENCEPIECE_FILES].some((f) => existsSync(join(dir, f)));
}

export async function exportModel(opts: ExportOptions): Promise<ExportResult> {
  prepareOutputDir(opts.out, "--out");
  const modelDir = await resolveModelDir({ model: opts.model, hub: opts.hub });
  const warnings: string[] = [];
  // Ids-only checkpoints (no tokenizer files) still export; text pipelines then need a tokenizer added.
  const withTokenizer = !opts.skipTokenizer && hasTokenizerFiles(modelDir);
  if (!withTokenizer && !opts.skipTokenizer) {
    warnings.push(`${modelDir} has no tokenizer files: exported without a tokenizer (transformers pipelines on text need one)`);
  }
  const model = await PretrainedModel.load(dirFiles(modelDir), { noTokenizer: !withTokenizer });
  const notice = model.notice();
  if (notice) warnings.push(notice);
  // ONNX first: it is the step that can refuse (size limit) and should leave no half-written directory.
  const onnxFile = join(opts.out, ONNX_SUBPATH);
  const onnx = exportOnnx(model, onnxFile);
  model.save(withModelMaxLength(dirSink(opts.out), model.cfg));
  return { modelDir, out: opts.out, onnxFile, onnxBytes: onnx.bytes, tokenizer: withTokenizer, warnings };
}

const TOKENIZER_CONFIG = "tokenizer_config.json";

/**
 * A sink that writes tokenizer_config.json with `model_max_length` set to the most tokens the model takes
 * (rose's own limit, maxInputLength) where the source gives none, an unbounded one (transformers' 1e30) or a
 * larger one: transformers.js truncates to that number (its pipelines always ask to) and feeds a longer text
 * whole otherwise, past the position table. A config that already fits is written byte for byte.
 */
export function withModelMaxLength(sink: FileSink, cfg: EncoderConfig): FileSink {
  const limit = maxInputLength(cfg, Number.POSITIVE_INFINITY);
  return {
    origin: sink.origin,
    write(name, data) {
      if (name !== TOKENIZER_CONFIG) return sink.write(name, data);
      const file = fileLabel(sink.origin, name);
      const json =
        typeof data === "string" ? parseJsonText<Record<string, unknown>>(data, file) : parseJsonBytes<Record<string, unknown>>(data, file);
      const mml = json.model_max_length;
      if (typeof mml === "number" && Number.isInteger(mml) && mml > 0 && mml <= limit) return sink.write(name, data);
      sink.write(name, `${JSON.stringify({ ...json, model_max_length: limit }, null, 2)}\n`);
    },
  };
}
