// A model as a user holds it: config, architecture, parameters (by Hugging Face name) and tokenizer.
// Loading follows Hugging Face: weights the head needs but the checkpoint lacks are newly initialised
// (normal with std initializer_range), and the new and unused names are reported.
import { Rng } from "../engine/index.ts";
import { ConfigError, FormatError } from "../errors.ts";
import { checkpointTensors, type Float32Tensor, saveCheckpoint, WEIGHTS_FILE, weightsFileOf } from "../io/checkpoint.ts";
import { fileLabel, type FileSink, type ModelFiles } from "../io/files.ts";
import { type EncoderConfig, type Head, loadModelConfig, saveModelConfig, withLabels } from "../io/config.ts";
import { Tokenizer, TRUNCATIONS, type Truncation } from "../io/tokenizer.ts";
import { Architecture, type HeadKind } from "./index.ts";

export interface LoadOptions {
  /** Label names for a classification task; a head of another size is re-initialised. */
  labels?: readonly string[];
  regression?: boolean;
  /** Which heads to build parameters for (default: classifier). */
  heads?: HeadKind[];
  /** Seed for newly initialised weights. */
  seed?: number;
  /** Skip loading the tokenizer (ids-only checkpoints). */
  noTokenizer?: boolean;
}

export interface LoadReport {
  newParams: string[];
  unusedParams: string[];
  resizedParams: string[];
}

// Checkpoint entries Hugging Face ignores silently: buffers and weights tied to others.
const IGNORED = [/\.position_ids$/, /^cls\.predictions\.decoder\.(weight|bias)$/, /^lm_head\.decoder\.(weight|bias)$/, /^decoder\.weight$/];

export class PretrainedModel {
  constructor(
    public cfg: EncoderConfig,
    readonly params: Map<string, Float32Array>,
    readonly shapes: Map<string, number[]>,
    readonly tokenizer: Tokenizer | null,
    readonly report: LoadReport = { newParams: [], unusedParams: [], resizedParams: [] },
  ) {}

  get arch(): Architecture {
    return new Architecture(this.cfg);
  }

  /** Loads a Hugging Face model folder (in Node: `PretrainedModel.load(dirFiles(dir))`). */
  static async load(files: ModelFiles, opts: LoadOptions = {}): Promise<PretrainedModel> {
    let cfg = loadModelConfig(files);
    if (opts.labels) cfg = withLabels(cfg, opts.labels, opts.regression ? "regression" : "single_label_classification");
    const arch = new Architecture(cfg);
    const shapes = arch.paramShapes(opts.heads ?? ["classifier"]);
    const stored = checkpointTensors(files);
    const params = new Map<string, Float32Array>();
    const report: LoadReport = { newParams: [], unusedParams: [], resizedParams: [] };
    const rng = new Rng(opts.seed ?? 0, 0x1a17);
    for (const [name, shape] of shapes) {
      const t = stored.get(name);
      if (t && t.shape.join(",") === shape.join(",")) {
        params.set(name, t.data);
        continue;
      }
      if (t) {
        // Only a head may change size (a new label set); anything else is a corrupt or foreign checkpoint.
        if (!isHeadParam(name)) {
          throw new FormatError(
            fileLabel(files.origin, weightsFileOf(files) ?? WEIGHTS_FILE),
            `tensor ${name} has shape [${t.shape}] but the config implies [${shape}]`,
          );
        }
        report.resizedParams.push(name);
      } else {
        report.newParams.push(name);
      }
      params.set(name, initParam(name, shape, cfg, rng));
    }
    for (const name of stored.keys()) {
      if (!shapes.has(name) && !IGNORED.some((r) => r.test(name))) report.unusedParams.push(name);
    }
    const tokenizer = opts.noTokenizer ? null : await Tokenizer.load(files);
    return new PretrainedModel(cfg, params, shapes, tokenizer, report);
  }

  /** A fresh, randomly initialised model of the given config (pre-training from scratch, baselines). */
  static random(cfg: EncoderConfig, tokenizer: Tokenizer | null, heads: HeadKind[], seed: number): PretrainedModel {
    const shapes = new Architecture(cfg).paramShapes(heads);
    const rng = new Rng(seed, 0x1a17);
    const params = new Map([...shapes].map(([n, s]) => [n, initParam(n, s, cfg, rng)]));
    return new PretrainedModel(cfg, params, shapes, tokenizer, { newParams: [...shapes.keys()], unusedParams: [], resizedParams: [] });
  }

  /** A Hugging Face-style notice about newly initialised and unused weights, or null. */
  notice(): string | null {
    const { newParams, unusedParams, resizedParams } = this.report;
    const parts: string[] = [];
    if (newParams.length)
      parts.push(
        `Some weights were not in the checkpoint and are newly initialized: ${newParams.join(", ")}. You should train this model on a down-stream task before using it for predictions.`,
      );
    if (resizedParams.length)
      parts.push(
        `Some weights had another shape in the checkpoint and were re-initialized for ${this.cfg.numLabels} labels: ${resizedParams.join(", ")}.`,
      );
    if (unusedParams.length) parts.push(`Some weights of the checkpoint were not used: ${unusedParams.join(", ")}.`);
    return parts.length ? parts.join("\n") : null;
  }

  tensors(): Map<string, Float32Tensor> {
    return new Map([...this.shapes].map(([n, shape]) => [n, { shape, data: this.params.get(n)! }]));
  }

  /** Writes a Hugging Face folder (in Node: `model.save(dirSink(dir))`): config.json, model.safetensors, tokenizer files. */
  save(sink: FileSink, opts: { head?: Head; dtype?: "F32" | "F16" } = {}): void {
    saveCheckpoint(sink, this.tensors(), { dtype: opts.dtype });
    saveModelConfig(sink, this.cfg, { head: opts.head ?? "SequenceClassification" });
    this.tokenizer?.save(sink);
  }

  /** Deep copy of the parameters (best-model snapshots). */
  cloneParams(): Map<string, Float32Array> {
    return new Map([...this.params].map(([n, d]) => [n, d.slice()]));
  }
}

export function isHeadParam(name: string): boolean {
  return /^(classifier|pre_classifier)\./.test(name);
}

/** Hugging Face's _init_weights: normal(0, initializer_range) for Linear/Embedding, zero biases, LayerNorm 1/0. */
export function initParam(name: string, shape: number[], cfg: EncoderConfig, rng: Rng): Float32Array {
  const n = shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  const isNorm = /LayerNorm|layer_norm|(^|[._])norm\./.test(name);
  if (name.endsWith(".bias") || name === "cls.predictions.bias" || name === "lm_head.bias") return out;
  if (isNorm && name.endsWith(".weight")) return out.fill(1);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * cfg.initializerRange;
  if (name.endsWith("word_embeddings.weight")) {
    const h = shape[1]!;
    out.fill(0, cfg.padTokenId * h, (cfg.padTokenId + 1) * h);
  }
  return out;
}

/** Makes the model's tokenizer keep `truncation`'s tokens of long texts (unchanged when not given). */
export function applyTruncation(model: PretrainedModel, truncation: Truncation | undefined): void {
  if (truncation === undefined) return;
  if (!TRUNCATIONS.includes(truncation))
    throw new ConfigError(`truncation must be one of ${TRUNCATIONS.join(", ")}, got ${JSON.stringify(truncation)}`, ["truncation"]);
  if (model.tokenizer) model.tokenizer.truncation = truncation;
}
