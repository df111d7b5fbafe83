// Exports a classifier as a self-contained ONNX inference model: token ids in, logits out, every weight
// embedded as an initializer, so any onnxruntime (and transformers.js, which runs onnxruntime) can run
// it without rose.
//
// Interface, as Hugging Face optimum exports sequence classifiers:
//   inputs  input_ids, attention_mask (and token_type_ids for BERT and ELECTRA): int64 [batch_size, sequence_length]
//   output  logits: float32 [batch_size, num_labels]
//
// Runtime requirement: the graph uses onnxruntime's com.microsoft contrib ops (FusedMatMul for
// transposed matmuls, Gelu for the exact erf GELU) next to standard opset-18 ops. onnxruntime-node and
// onnxruntime-web (the CPU/wasm kernels transformers.js uses) implement them; a runtime limited to the
// standard ONNX domain would reject the model.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { emitModel, Graph, type Tensor } from "../engine/index.ts";
import { RoseError } from "../errors.ts";
import { writeFileAtomic } from "../node/files.ts";
import { type EncoderInputs, ParamScope } from "../models/index.ts";
import type { PretrainedModel } from "../models/pretrained.ts";

/** The model cannot be exported as asked (too large, incomplete parameters). */
export class ExportError extends RoseError {}

/** A protobuf message (an ONNX file without external data) cannot exceed 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

export const ONNX_INPUT_DIMS = ["batch_size", "sequence_length"] as const;

/** Throws a clear ExportError when `bytes` cannot fit in one ONNX protobuf file. */
export function assertFitsProtobuf(bytes: number, file: string): void {
  if (bytes <= PROTOBUF_LIMIT) return;
  const gib = (bytes / 2 ** 30).toFixed(2);
  throw new ExportError(
    `${file}: the model needs ${gib} GiB but an ONNX file without external data is limited to 2 GiB ` +
      "(protobuf message limit); rose does not write external-data ONNX files, so export a smaller model",
  );
}

export interface OnnxExportResult {
  file: string;
  bytes: number;
  inputs: string[];
  outputs: string[];
}

/** The ONNX model as bytes (see the file comment for its interface). */
export function onnxBytes(model: PretrainedModel, file = "model.onnx"): { bytes: Uint8Array; inputs: string[] } {
  // The parameters dominate the file size: refuse before building anything.
  let paramBytes = 0;
  for (const d of model.params.values()) paramBytes += d.byteLength;
  assertFitsProtobuf(paramBytes, file);

  const arch = model.arch;
  const g = new Graph();
  // Declared here rather than with arch.inputs() to get optimum's dim names.
  const dims = [...ONNX_INPUT_DIMS];
  const inputs: EncoderInputs = {
    inputIds: g.input("input_ids", "int64", dims),
    attentionMask: g.input("attention_mask", "int64", dims),
    tokenTypeIds: arch.usesTokenTypes ? g.input("token_type_ids", "int64", dims) : undefined,
  };
  const ctx = { scope: new ParamScope(g), train: false };
  const logits: Tensor = arch.logits(ctx, inputs);

  const missing = [...ctx.scope.tensors.keys()].filter((n) => !model.params.has(n));
  if (missing.length) throw new ExportError(`${file}: the model lacks parameters ${missing.join(", ")}`);
  const emitted = emitModel(g, { logits }, { initializers: model.params, name: `${model.cfg.modelType}-sequence-classification` });
  const stray = emitted.inputs.filter((i) => i.kind !== "data").map((i) => i.name);
  if (stray.length) throw new ExportError(`${file}: graph inputs ${stray.join(", ")} were not embedded`);
  assertFitsProtobuf(emitted.bytes.byteLength, file);
  return { bytes: emitted.bytes, inputs: emitted.inputs.map((i) => i.name) };
}

/** Writes the model's inference graph with embedded weights to `file` (atomically). */
export function exportOnnx(model: PretrainedModel, file: string): OnnxExportResult {
  const { bytes, inputs } = onnxBytes(model, file);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, bytes);
  return { file, bytes: bytes.byteLength, inputs, outputs: ["logits"] };
}
