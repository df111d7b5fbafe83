// Hugging Face config.json for the three supported encoders, normalised into one typed EncoderConfig.
// BERT and RoBERTa share field names; DistilBERT uses its own (dim, n_layers, ...). Missing fields take
// the defaults of the corresponding transformers config class, so minimal configs load as they do in HF.
import { ConfigError, FormatError } from "../errors.ts";
import { fileLabel, type FileSink, type ModelFiles } from "./files.ts";
import { parseJsonBytes } from "./json.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type ModelType = "bert" | "roberta" | "distilbert";
export type ProblemType = "regression" | "single_label_classification";

export interface EncoderConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: string;
  hiddenDropout: number;
  attentionDropout: number;
  /** Dropout before the classification head: DistilBERT seq_classif_dropout; BERT/RoBERTa classifier_dropout ?? hidden_dropout_prob. */
  classifierDropout: number;
  maxPositionEmbeddings: number;
  /** 0 for DistilBERT, which has no token type embeddings. */
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  initializerRange: number;
  numLabels: number;
  /** Label names indexed by class id. */
  id2label: string[];
  label2id: Record<string, number>;
  problemType?: ProblemType;
  /** The config.json object as read, so saving writes every field back unchanged. */
  raw: JsonObject;
}

const ARCH_PREFIX: Record<ModelType, string> = { bert: "Bert", roberta: "Roberta", distilbert: "DistilBert" };

/** Default values of transformers' BertConfig / RobertaConfig / DistilBertConfig. */
const DEFAULTS = {
  bert: { vocab_size: 30522, pad_token_id: 0 },
  roberta: { vocab_size: 50265, pad_token_id: 1 },
} as const;

function detectModelType(file: string, raw: JsonObject): ModelType {
  const mt = raw.model_type;
  if (mt === "bert" || mt === "roberta" || mt === "distilbert") return mt;
  if (mt === undefined) {
    // Very old configs lack model_type; transformers then falls back on the architecture name.
    const arch = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
    if (typeof arch === "string") {
      if (arch.startsWith("DistilBert")) return "distilbert";
      if (arch.startsWith("Roberta")) return "roberta";
      if (arch.startsWith("Bert")) return "bert";
    }
  }
  throw new ConfigError(`${file}: unsupported model_type ${JSON.stringify(mt ?? null)} (supported: bert, roberta, distilbert)`);
}

/** Reads typed fields with their defaults, naming the file and field on a bad value. */
class Fields {
  constructor(
    private readonly file: string,
    private readonly raw: JsonObject,
  ) {}

  private value(key: string): JsonValue | undefined {
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  num(key: string, def: number, check: "int>0" | "int>=0" | "prob" | ">0" | "any" = "any"): number {
    const v = this.value(key) ?? def;
    const ok =
      typeof v === "number" &&
      Number.isFinite(v) &&
      (check === "any" ||
        (check === "int>0" && Number.isInteger(v) && v > 0) ||
        (check === "int>=0" && Number.isInteger(v) && v >= 0) ||
        (check === "prob" && v >= 0 && v < 1) ||
        (check === ">0" && v > 0));
    if (!ok) throw new ConfigError(`${this.file}: ${key} must be ${describe(check)}, got ${JSON.stringify(v)}`);
    return v as number;
  }

  /** A number that may be explicitly null (then `def` applies). */
  optNum(key: string, def: number, check: "prob"): number {
    return this.value(key) === undefined ? def : this.num(key, def, check);
  }

  str(key: string, def: string): string {
    const v = this.value(key) ?? def;
    if (typeof v !== "string") throw new ConfigError(`${this.file}: ${key} must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
}

function describe(check: string): string {
  switch (check) {
    case "int>0":
      return "a positive integer";
    case "int>=0":
      return "a non-negative integer";
    case "prob":
      return "a probability in [0, 1)";
    case ">0":
      return "a positive number";
    default:
      return "a number";
  }
}

function parseLabels(file: string, raw: JsonObject): { numLabels: number; id2label: string[]; label2id: Record<string, number> } {
  const i2l = raw.id2label;
  let id2label: string[];
  if (i2l !== undefined && i2l !== null) {
    if (typeof i2l !== "object" || Array.isArray(i2l)) throw new ConfigError(`${file}: id2label must be an object`);
    const entries = Object.entries(i2l);
    id2label = new Array<string>(entries.length);
    for (const [k, v] of entries) {
      const id = Number(k);
      if (!/^\d+$/.test(k) || id >= entries.length || id2label[id] !== undefined) {
        throw new ConfigError(`${file}: id2label keys must be the ids 0..${entries.length - 1}, got ${JSON.stringify(k)}`);
      }
      if (typeof v !== "string") throw new ConfigError(`${file}: id2label[${k}] must be a string`);
      id2label[id] = v;
    }
    // As in transformers, id2label wins over a disagreeing num_labels.
  } else {
    const n = raw.num_labels ?? 2;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
      throw new ConfigError(`${file}: num_labels must be a positive integer, got ${JSON.stringify(n)}`);
    id2label = Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  if (id2label.length === 0) throw new ConfigError(`${file}: id2label is empty`);
  let label2id: Record<string, number>;
  const l2i = raw.label2id;
  if (l2i !== undefined && l2i !== null && typeof l2i === "object" && !Array.isArray(l2i) && Object.keys(l2i).length === id2label.length) {
    label2id = {};
    for (const [k, v] of Object.entries(l2i)) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= id2label.length) {
        throw new ConfigError(`${file}: label2id[${JSON.stringify(k)}] must be a class id below ${id2label.length}`);
      }
      label2id[k] = v;
    }
  } else {
    label2id = Object.fromEntries(id2label.map((l, i) => [l, i]));
  }
  return { numLabels: id2label.length, id2label, label2id };
}

function parseProblemType(file: string, raw: JsonObject): ProblemType | undefined {
  const p = raw.problem_type;
  if (p === undefined || p === null) return undefined;
  if (p === "regression" || p === "single_label_classification") return p;
  throw new ConfigError(`${file}: problem_type ${JSON.stringify(p)} is not supported (regression, single_label_classification)`);
}

/** Normalises a parsed config.json object; `file` is only used in error messages. */
export function parseModelConfig(raw: JsonValue, file = "config.json"): EncoderConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new FormatError(file, "config is not a JSON object");
  const modelType = detectModelType(file, raw);
  const f = new Fields(file, raw);
  const labels = parseLabels(file, raw);
  const problemType = parseProblemType(file, raw);
  let cfg: EncoderConfig;
  if (modelType === "distilbert") {
    cfg = {
      modelType,
      vocabSize: f.num("vocab_size", 30522, "int>0"),
      hiddenSize: f.num("dim", 768, "int>0"),
      numLayers: f.num("n_layers", 6, "int>0"),
      numHeads: f.num("n_heads", 12, "int>0"),
      intermediateSize: f.num("hidden_dim", 3072, "int>0"),
      hiddenAct: f.str("activation", "gelu"),
      hiddenDropout: f.num("dropout", 0.1, "prob"),
      attentionDropout: f.num("attention_dropout", 0.1, "prob"),
      classifierDropout: f.num("seq_classif_dropout", 0.2, "prob"),
      maxPositionEmbeddings: f.num("max_position_embeddings", 512, "int>0"),
      typeVocabSize: 0,
      layerNormEps: 1e-12,
      padTokenId: f.num("pad_token_id", 0, "int>=0"),
      initializerRange: f.num("initializer_range", 0.02, ">0"),
      ...labels,
      raw,
    };
  } else {
    const hiddenDropout = f.num("hidden_dropout_prob", 0.1, "prob");
    cfg = {
      modelType,
      vocabSize: f.num("vocab_size", DEFAULTS[modelType].vocab_size, "int>0"),
      hiddenSize: f.num("hidden_size", 768, "int>0"),
      numLayers: f.num("num_hidden_layers", 12, "int>0"),
      numHeads: f.num("num_attention_heads", 12, "int>0"),
      intermediateSize: f.num("intermediate_size", 3072, "int>0"),
      hiddenAct: f.str("hidden_act", "gelu"),
      hiddenDropout,
      attentionDropout: f.num("attention_probs_dropout_prob", 0.1, "prob"),
      classifierDropout: f.optNum("classifier_dropout", hiddenDropout, "prob"),
      maxPositionEmbeddings: f.num("max_position_embeddings", 512, "int>0"),
      typeVocabSize: f.num("type_vocab_size", 2, "int>0"),
      layerNormEps: f.num("layer_norm_eps", 1e-12, ">0"),
      padTokenId: f.num("pad_token_id", DEFAULTS[modelType].pad_token_id, "int>=0"),
      initializerRange: f.num("initializer_range", 0.02, ">0"),
      ...labels,
      raw,
    };
  }
  if (problemType !== undefined) cfg.problemType = problemType;
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw new ConfigError(`${file}: hidden size ${cfg.hiddenSize} is not a multiple of the number of attention heads ${cfg.numHeads}`);
  }
  if (cfg.padTokenId >= cfg.vocabSize)
    throw new ConfigError(`${file}: pad_token_id ${cfg.padTokenId} is outside the vocabulary (${cfg.vocabSize})`);
  return cfg;
}

export const CONFIG_FILE = "config.json";

/** The longest input a model's position table allows (RoBERTa's positions start after the pad id). */
export function maxInputLength(cfg: { modelType: string; maxPositionEmbeddings: number; padTokenId: number }, requested: number): number {
  const limit = cfg.modelType === "roberta" ? cfg.maxPositionEmbeddings - cfg.padTokenId - 1 : cfg.maxPositionEmbeddings;
  return Math.min(requested, limit);
}

/** Reads and normalises a model folder's config.json. */
export function loadModelConfig(files: ModelFiles): EncoderConfig {
  const file = fileLabel(files.origin, CONFIG_FILE);
  return parseModelConfig(parseJsonBytes<JsonValue>(files.read(CONFIG_FILE), file), file);
}

/** A copy of `cfg` with a new label set (e.g. a pre-trained encoder put on a task with other classes). */
export function withLabels(cfg: EncoderConfig, labels: readonly string[], problemType?: ProblemType): EncoderConfig {
  if (labels.length === 0) throw new ConfigError("a classifier needs at least one label");
  if (new Set(labels).size !== labels.length) throw new ConfigError(`duplicate label names in ${JSON.stringify(labels)}`);
  const out: EncoderConfig = {
    ...cfg,
    numLabels: labels.length,
    id2label: [...labels],
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
  if (problemType !== undefined) out.problemType = problemType;
  return out;
}

export type Head = "SequenceClassification" | "MaskedLM" | "Model";

/** The transformers class name for a model type and head, e.g. "BertForSequenceClassification". */
export function architectureName(modelType: ModelType, head: Head = "SequenceClassification"): string {
  return head === "Model" ? `${ARCH_PREFIX[modelType]}Model` : `${ARCH_PREFIX[modelType]}For${head}`;
}

/** The JSON object saveModelConfig writes: `raw` with the label fields, problem type and architectures updated. */
export function modelConfigJson(cfg: EncoderConfig, head: Head = "SequenceClassification"): JsonObject {
  if (cfg.id2label.length !== cfg.numLabels) {
    throw new ConfigError(`config has num_labels ${cfg.numLabels} but ${cfg.id2label.length} label names`);
  }
  const out: JsonObject = { ...cfg.raw };
  out.model_type = cfg.modelType;
  out.architectures = [architectureName(cfg.modelType, head)];
  out.num_labels = cfg.numLabels;
  // transformers writes id2label keys as strings.
  out.id2label = Object.fromEntries(cfg.id2label.map((l, i) => [String(i), l]));
  out.label2id = { ...cfg.label2id };
  if (cfg.problemType !== undefined) out.problem_type = cfg.problemType;
  return out;
}

/** Writes config.json. */
export function saveModelConfig(sink: FileSink, cfg: EncoderConfig, opts: { head?: Head } = {}): void {
  sink.write(CONFIG_FILE, `${JSON.stringify(modelConfigJson(cfg, opts.head), null, 2)}\n`);
}
