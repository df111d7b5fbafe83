// Hugging Face config.json for the supported encoders, normalised into one typed EncoderConfig.
// BERT and RoBERTa share field names; DistilBERT uses its own (dim, n_layers, ...). Missing fields take
// the defaults of the corresponding transformers config class, so minimal configs load as they do in HF.
import { ConfigError, FormatError } from "../errors.ts";
import { fileLabel, type FileSink, type ModelFiles } from "./files.ts";
import { parseJsonBytes } from "./json.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type ModelType = "bert" | "roberta" | "distilbert" | "xlm-roberta" | "camembert" | "electra" | "modernbert" | "deberta-v2";

/** Model types whose checkpoints are RoBERTa's (XLMRobertaModel, CamembertModel): same parameters, positions and heads. */
export const ROBERTA_FAMILY: readonly string[] = ["roberta", "xlm-roberta", "camembert"];

export function isRobertaFamily(modelType: string): boolean {
  return ROBERTA_FAMILY.includes(modelType);
}

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
  /** ELECTRA: embeddings of embedding_size, projected to hidden_size when the two differ. */
  electra?: { embeddingSize: number };
  /** ModernBERT: layer pattern, rotary thetas, window, biases and heads (see ModernBertOptions). */
  modernbert?: ModernBertOptions;
  /** DeBERTa-v2/v3: disentangled attention, relative positions and the pooler (see DebertaConfig). */
  deberta?: DebertaConfig;
  /** The config.json object as read, so saving writes every field back unchanged. */
  raw: JsonObject;
}

/** ModernBERT's own fields (EncoderConfig holds hidden_activation, mlp_dropout, attention_dropout, norm_eps, ...). */
export interface ModernBertOptions {
  /** Per layer: full attention with globalRopeTheta (true) or the sliding window with localRopeTheta (false). */
  globalLayers: boolean[];
  globalRopeTheta: number;
  localRopeTheta: number;
  /** local_attention: a local layer's query i sees key j iff |i - j| <= localAttention / 2 (rounded down). */
  localAttention: number;
  embeddingDropout: number;
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  /** The prediction head's dense (the classifier itself always has a bias). */
  classifierBias: boolean;
  decoderBias: boolean;
  classifierPooling: "cls" | "mean";
  classifierActivation: string;
}

/** DeBERTa-v2/v3's own fields, with the defaults modeling_deberta_v2.py reads them with. */
export interface DebertaConfig {
  relativeAttention: boolean;
  /** The relative terms attention adds: content-to-position ("c2p"), position-to-content ("p2c"). */
  posAttType: ("c2p" | "p2c")[];
  /** max_relative_positions, or max_position_embeddings where that is below 1. */
  maxRelativePositions: number;
  /** position_buckets; 0 or less: relative positions are not log-bucketed. */
  positionBuckets: number;
  /** share_att_key: the layer's key/query projections also project the relative embeddings (else pos_key_proj, pos_query_proj). */
  shareAttKey: boolean;
  /** norm_rel_ebd has "layer_norm": the relative embeddings go through encoder.LayerNorm. */
  normRelEmbeddings: boolean;
  /** position_biased_input: absolute position embeddings are added to the word embeddings. */
  positionBiasedInput: boolean;
  poolerHiddenAct: string;
  poolerDropout: number;
}

const ARCH_PREFIX: Record<ModelType, string> = {
  bert: "Bert",
  roberta: "Roberta",
  distilbert: "DistilBert",
  "xlm-roberta": "XLMRoberta",
  camembert: "Camembert",
  electra: "Electra",
  modernbert: "ModernBert",
  "deberta-v2": "DebertaV2",
};

/** Default values of transformers' BertConfig / RobertaConfig / XLMRobertaConfig / CamembertConfig / ElectraConfig. */
const BASE_SIZES = { hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072 };
const DEFAULTS = {
  bert: { vocab_size: 30522, pad_token_id: 0, ...BASE_SIZES },
  roberta: { vocab_size: 50265, pad_token_id: 1, ...BASE_SIZES },
  "xlm-roberta": { vocab_size: 30522, pad_token_id: 1, ...BASE_SIZES },
  camembert: { vocab_size: 30522, pad_token_id: 1, ...BASE_SIZES },
  electra: { vocab_size: 30522, pad_token_id: 0, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 },
} as const;

/** Every model_type rose loads, as config.json spells it. */
const SUPPORTED = Object.keys(ARCH_PREFIX) as ModelType[];

function detectModelType(file: string, raw: JsonObject): ModelType {
  const mt = raw.model_type;
  if (typeof mt === "string" && (SUPPORTED as readonly string[]).includes(mt)) return mt as ModelType;
  if (mt === undefined) {
    // Very old configs lack model_type; transformers then falls back on the architecture name.
    const arch = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
    if (typeof arch === "string") {
      if (arch.startsWith("DistilBert")) return "distilbert";
      if (arch.startsWith("Roberta")) return "roberta";
      if (arch.startsWith("XLMRoberta")) return "xlm-roberta";
      if (arch.startsWith("Camembert")) return "camembert";
      if (arch.startsWith("Electra")) return "electra";
      if (arch.startsWith("DebertaV2")) return "deberta-v2";
      if (arch.startsWith("Bert")) return "bert";
    }
  }
  throw new ConfigError(`${file}: unsupported model_type ${JSON.stringify(mt ?? null)} (supported: ${SUPPORTED.join(", ")})`);
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

  bool(key: string, def: boolean): boolean {
    const v = this.value(key) ?? def;
    if (typeof v !== "boolean") throw new ConfigError(`${this.file}: ${key} must be true or false, got ${JSON.stringify(v)}`);
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

/** ModernBertConfig's common fields with its defaults (answerdotai/ModernBERT-base's sizes). */
function modernBertFields(f: Fields): Omit<EncoderConfig, "id2label" | "label2id" | "numLabels" | "raw"> {
  return {
    modelType: "modernbert",
    vocabSize: f.num("vocab_size", 50368, "int>0"),
    hiddenSize: f.num("hidden_size", 768, "int>0"),
    numLayers: f.num("num_hidden_layers", 22, "int>0"),
    numHeads: f.num("num_attention_heads", 12, "int>0"),
    intermediateSize: f.num("intermediate_size", 1152, "int>0"),
    hiddenAct: f.str("hidden_activation", "gelu"),
    hiddenDropout: f.num("mlp_dropout", 0, "prob"),
    attentionDropout: f.num("attention_dropout", 0, "prob"),
    classifierDropout: f.num("classifier_dropout", 0, "prob"),
    maxPositionEmbeddings: f.num("max_position_embeddings", 8192, "int>0"),
    typeVocabSize: 0,
    layerNormEps: f.num("norm_eps", 1e-5, ">0"),
    padTokenId: f.num("pad_token_id", 50283, "int>=0"),
    initializerRange: f.num("initializer_range", 0.02, ">0"),
  };
}

/**
 * ModernBERT's layer pattern and rotary thetas, as transformers 4.48 writes them (global_attn_every_n_layers,
 * global_rope_theta, local_rope_theta) or 5 (layer_types, rope_parameters); where both are present they must agree.
 */
function parseModernBertOptions(file: string, raw: JsonObject, f: Fields, numLayers: number): ModernBertOptions {
  const every = raw.global_attn_every_n_layers == null ? undefined : f.num("global_attn_every_n_layers", 3, "int>0");
  const byEvery = (n: number) => Array.from({ length: numLayers }, (_, i) => i % n === 0);
  let globalLayers: boolean[];
  const types = raw.layer_types;
  if (types != null) {
    if (!Array.isArray(types) || types.length !== numLayers || types.some((t) => t !== "full_attention" && t !== "sliding_attention")) {
      throw new ConfigError(`${file}: layer_types must give "full_attention" or "sliding_attention" for each of the ${numLayers} layers`);
    }
    globalLayers = types.map((t) => t === "full_attention");
    if (every !== undefined && byEvery(every).some((g, i) => g !== globalLayers[i])) {
      throw new ConfigError(`${file}: layer_types and global_attn_every_n_layers ${every} disagree`);
    }
  } else {
    globalLayers = byEvery(every ?? 3);
  }

  if (raw.rope_scaling != null) throw new ConfigError(`${file}: rope_scaling is not supported for ModernBERT (default RoPE only)`);
  const params = raw.rope_parameters;
  if (params != null && (typeof params !== "object" || Array.isArray(params))) {
    throw new ConfigError(`${file}: rope_parameters must map full_attention and sliding_attention to their parameters`);
  }
  const theta = (kind: "full_attention" | "sliding_attention", legacyKey: string, def: number): number => {
    const p = params?.[kind];
    let fromParams: number | undefined;
    if (p != null) {
      if (typeof p !== "object" || Array.isArray(p)) throw new ConfigError(`${file}: rope_parameters.${kind} must be an object`);
      if ((p.rope_type ?? "default") !== "default") {
        throw new ConfigError(`${file}: rope_parameters.${kind}.rope_type ${JSON.stringify(p.rope_type)} is not supported (default)`);
      }
      const t = p.rope_theta;
      if (t != null && !(typeof t === "number" && t > 0)) {
        throw new ConfigError(`${file}: rope_parameters.${kind}.rope_theta must be a positive number, got ${JSON.stringify(t)}`);
      }
      fromParams = t ?? undefined;
    }
    const legacy = raw[legacyKey] == null ? undefined : f.num(legacyKey, def, ">0");
    if (fromParams !== undefined && legacy !== undefined && fromParams !== legacy) {
      throw new ConfigError(`${file}: rope_parameters.${kind}.rope_theta ${fromParams} and ${legacyKey} ${legacy} disagree`);
    }
    return fromParams ?? legacy ?? def;
  };
  const globalRopeTheta = theta("full_attention", "global_rope_theta", 160000);
  // transformers 4.48: a null local_rope_theta means the local layers use the global theta.
  const localRopeTheta = theta("sliding_attention", "local_rope_theta", raw.local_rope_theta === null ? globalRopeTheta : 10000);

  const pooling = f.str("classifier_pooling", "cls");
  if (pooling !== "cls" && pooling !== "mean") {
    throw new ConfigError(`${file}: classifier_pooling must be "cls" or "mean", got ${JSON.stringify(pooling)}`);
  }
  return {
    globalLayers,
    globalRopeTheta,
    localRopeTheta,
    localAttention: f.num("local_attention", 128, "int>0"),
    embeddingDropout: f.num("embedding_dropout", 0, "prob"),
    normBias: f.bool("norm_bias", false),
    attentionBias: f.bool("attention_bias", false),
    mlpBias: f.bool("mlp_bias", false),
    classifierBias: f.bool("classifier_bias", false),
    decoderBias: f.bool("decoder_bias", true),
    classifierPooling: pooling,
    classifierActivation: f.str("classifier_activation", "gelu"),
  };
}

/** DebertaV2Config's common fields with its defaults (microsoft/deberta-v2-xlarge's sizes). */
function debertaV2Fields(f: Fields): Omit<EncoderConfig, "id2label" | "label2id" | "numLabels" | "raw"> {
  const hiddenDropout = f.num("hidden_dropout_prob", 0.1, "prob");
  return {
    modelType: "deberta-v2",
    vocabSize: f.num("vocab_size", 128100, "int>0"),
    hiddenSize: f.num("hidden_size", 1536, "int>0"),
    numLayers: f.num("num_hidden_layers", 24, "int>0"),
    numHeads: f.num("num_attention_heads", 24, "int>0"),
    intermediateSize: f.num("intermediate_size", 6144, "int>0"),
    hiddenAct: f.str("hidden_act", "gelu"),
    hiddenDropout,
    attentionDropout: f.num("attention_probs_dropout_prob", 0.1, "prob"),
    classifierDropout: f.optNum("cls_dropout", hiddenDropout, "prob"),
    maxPositionEmbeddings: f.num("max_position_embeddings", 512, "int>0"),
    typeVocabSize: f.num("type_vocab_size", 0, "int>=0"),
    layerNormEps: f.num("layer_norm_eps", 1e-7, ">0"),
    padTokenId: f.num("pad_token_id", 0, "int>=0"),
    initializerRange: f.num("initializer_range", 0.02, ">0"),
  };
}

/** "p2c|c2p" -> ["p2c", "c2p"]: DebertaV2Config's lower-cased, "|"-separated option lists. */
function barList(s: string): string[] {
  return s
    .toLowerCase()
    .split("|")
    .map((t) => t.trim());
}

/**
 * DeBERTa's attention settings. pos_att_type is a list or a string such as "p2c|c2p" (DebertaV2Config splits it
 * on "|"); variants rose has no modules for (the convolution layer of deberta-v2-xlarge, embed_proj, another
 * pooler or head size) are refused rather than loaded wrong.
 */
function parseDebertaOptions(file: string, raw: JsonObject, f: Fields, hidden: number, heads: number, maxPositions: number): DebertaConfig {
  const refuse = (what: string) => new ConfigError(`${file}: ${what} is not supported for DeBERTa-v2 in rose`);
  if (f.num("conv_kernel_size", 0, "int>=0") > 0) throw refuse("conv_kernel_size > 0 (the convolution layer)");
  if (f.num("embedding_size", hidden, "int>0") !== hidden) throw refuse("an embedding_size other than hidden_size (embed_proj)");
  if (f.num("pooler_hidden_size", hidden, "int>0") !== hidden) throw refuse("a pooler_hidden_size other than hidden_size");
  if (raw.attention_head_size != null && f.num("attention_head_size", 0, "int>0") * heads !== hidden) {
    throw refuse("an attention_head_size other than hidden_size / num_attention_heads");
  }
  const p = raw.pos_att_type;
  let types: string[];
  if (p == null) types = [];
  else if (typeof p === "string") types = barList(p);
  else if (Array.isArray(p) && p.every((t) => typeof t === "string")) types = p as string[];
  else throw new ConfigError(`${file}: pos_att_type must be a list of "c2p"/"p2c" or a string such as "p2c|c2p", got ${JSON.stringify(p)}`);
  const unknown = types.filter((t) => t !== "" && t !== "c2p" && t !== "p2c");
  if (unknown.length) throw new ConfigError(`${file}: pos_att_type ${JSON.stringify(unknown)} is not supported (c2p, p2c)`);
  const integer = (key: string, def: number): number => {
    const v = f.num(key, def);
    if (!Number.isInteger(v)) throw new ConfigError(`${file}: ${key} must be an integer, got ${v}`);
    return v;
  };
  const maxRel = integer("max_relative_positions", -1);
  const maxRelativePositions = maxRel < 1 ? maxPositions : maxRel;
  const positionBuckets = integer("position_buckets", -1);
  const mid = Math.floor(positionBuckets / 2);
  if (positionBuckets > 0 && (mid < 2 || maxRelativePositions - 1 <= mid)) {
    throw new ConfigError(
      `${file}: position_buckets ${positionBuckets} needs max_relative_positions (or max_position_embeddings) above ${mid + 1}, got ${maxRelativePositions}`,
    );
  }
  const norm = f.str("norm_rel_ebd", "none");
  return {
    relativeAttention: f.bool("relative_attention", false),
    posAttType: (["c2p", "p2c"] as const).filter((t) => types.includes(t)),
    maxRelativePositions,
    positionBuckets,
    shareAttKey: f.bool("share_att_key", false),
    normRelEmbeddings: barList(norm).includes("layer_norm"),
    positionBiasedInput: f.bool("position_biased_input", true),
    poolerHiddenAct: f.str("pooler_hidden_act", "gelu"),
    poolerDropout: f.num("pooler_dropout", 0, "prob"),
  };
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
  } else if (modelType === "modernbert") {
    cfg = { ...modernBertFields(f), ...labels, raw };
    cfg.modernbert = parseModernBertOptions(file, raw, f, cfg.numLayers);
  } else if (modelType === "deberta-v2") {
    cfg = { ...debertaV2Fields(f), ...labels, raw };
    cfg.deberta = parseDebertaOptions(file, raw, f, cfg.hiddenSize, cfg.numHeads, cfg.maxPositionEmbeddings);
  } else {
    const hiddenDropout = f.num("hidden_dropout_prob", 0.1, "prob");
    const d = DEFAULTS[modelType];
    cfg = {
      modelType,
      vocabSize: f.num("vocab_size", d.vocab_size, "int>0"),
      hiddenSize: f.num("hidden_size", d.hidden_size, "int>0"),
      numLayers: f.num("num_hidden_layers", 12, "int>0"),
      numHeads: f.num("num_attention_heads", d.num_attention_heads, "int>0"),
      intermediateSize: f.num("intermediate_size", d.intermediate_size, "int>0"),
      hiddenAct: f.str("hidden_act", "gelu"),
      hiddenDropout,
      attentionDropout: f.num("attention_probs_dropout_prob", 0.1, "prob"),
      classifierDropout: f.optNum("classifier_dropout", hiddenDropout, "prob"),
      maxPositionEmbeddings: f.num("max_position_embeddings", 512, "int>0"),
      typeVocabSize: f.num("type_vocab_size", 2, "int>0"),
      layerNormEps: f.num("layer_norm_eps", 1e-12, ">0"),
      padTokenId: f.num("pad_token_id", d.pad_token_id, "int>=0"),
      initializerRange: f.num("initializer_range", 0.02, ">0"),
      ...labels,
      raw,
    };
  }
  if (problemType !== undefined) cfg.problemType = problemType;
  if (modelType === "electra") cfg.electra = { embeddingSize: f.num("embedding_size", 128, "int>0") };
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
  const limit = isRobertaFamily(cfg.modelType) ? cfg.maxPositionEmbeddings - cfg.padTokenId - 1 : cfg.maxPositionEmbeddings;
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
