// One interface over the supported architectures: encode, classify, masked-LM logits, parameter shapes.
import { Graph, type Tensor } from "../engine/index.ts";
import type { EncoderConfig, ModelType } from "../io/config.ts";
import { BertClassificationHead, BertModel, bertMlmHead, RobertaClassificationHead } from "./bert.ts";
import { DistilBertClassificationHead, DistilBertModel } from "./distilbert.ts";
import { DebertaV2ClassificationHead, DebertaV2Model, debertaLayerIndex } from "./deberta.ts";
import { ElectraClassificationHead, ElectraModel, electraLayerIndex } from "./electra.ts";
import { ModernBertClassificationHead, ModernBertMaskedLMHead, ModernBertModel, modernBertLayerIndex } from "./modernbert.ts";
import { type BuildContext, type LastLayerQueries, ParamScope } from "./modules.ts";
import { ConfigError } from "../errors.ts";

export { ParamScope } from "./modules.ts";
export type { BuildContext, LastLayerQueries } from "./modules.ts";

export interface EncoderInputs {
  inputIds: Tensor;
  attentionMask: Tensor;
  tokenTypeIds?: Tensor;
}

export type HeadKind = "classifier" | "mlm";

/** An encoder stack: embeddings and layers, returning the last hidden state. */
export interface Encoder {
  /**
   * Last hidden state [batch, seq, hidden]. With `queries`, the last layer computes only those positions
   * (keys and values still come from every position) and returns [batch, 1 or slots, hidden].
   */
  forward(ctx: BuildContext, x: EncoderInputs, queries?: LastLayerQueries): Tensor;
}

/** A sequence-classification head on the last hidden state. */
export interface ClassificationHead {
  /** `attentionMask` [batch, seq]: for heads that pool over the real tokens (ModernBERT's "mean"). */
  forward(ctx: BuildContext, hidden: Tensor, attentionMask: Tensor): Tensor;
  /** Whether the head reads only the first token (then the last layer can compute that token alone). */
  readonly firstTokenOnly: boolean;
}

/** A masked-LM head: hidden rows to vocabulary logits, its decoder tied to the word embeddings. */
export interface MlmHead {
  forward(ctx: BuildContext, hidden: Tensor, wordEmbeddings: Tensor): Tensor;
}

/**
 * What rose knows of one architecture (a `model_type`): its parameter prefix, modules and heads. Each
 * architecture's module builds these from the config; Architecture dispatches on cfg.modelType.
 */
export interface ArchitectureDef {
  /** Prefix of the encoder's parameter names, as Hugging Face's base_model_prefix ("bert", "roberta", ...). */
  prefix(cfg: EncoderConfig): string;
  encoder(cfg: EncoderConfig, prefix: string): Encoder;
  head(cfg: EncoderConfig, prefix: string): ClassificationHead;
  /** Masked-LM head, where rose supports one for this architecture. */
  mlmHead?(cfg: EncoderConfig): MlmHead;
  /** Whether the model reads token_type_ids. */
  usesTokenTypes(cfg: EncoderConfig): boolean;
  /** Name of the word-embedding matrix (the masked-LM decoder is tied to it). */
  wordEmbeddingName(prefix: string): string;
  /**
   * Encoder layer index of a parameter name, or null for embeddings and heads (see layerDepth); -1 for
   * parameters outside the embeddings that feed every layer from below (depth 0, as the embeddings).
   */
  layerIndex?(name: string): number | null;
}

// XLM-RoBERTa and CamemBERT checkpoints are RoBERTa's, parameter names ("roberta.*") included.
const bertLike = (kind: "bert" | "roberta"): ArchitectureDef => ({
  prefix: () => kind,
  encoder: (cfg, prefix) => {
    const m = new BertModel(prefix, cfg);
    const tokenTypes = kind === "bert" && cfg.typeVocabSize > 0;
    return { forward: (ctx, x, q) => m.forward(ctx, x.inputIds, x.attentionMask, tokenTypes ? x.tokenTypeIds : undefined, q) };
  },
  head: (cfg, prefix) => (kind === "roberta" ? new RobertaClassificationHead(cfg) : new BertClassificationHead(prefix, cfg)),
  mlmHead: (cfg) => bertMlmHead(cfg),
  usesTokenTypes: (cfg) => kind === "bert" && cfg.typeVocabSize > 0,
  wordEmbeddingName: (prefix) => `${prefix}.embeddings.word_embeddings.weight`,
});

const ARCHITECTURES: Record<ModelType, ArchitectureDef> = {
  bert: bertLike("bert"),
  roberta: bertLike("roberta"),
  "xlm-roberta": bertLike("roberta"),
  camembert: bertLike("roberta"),
  electra: {
    prefix: () => "electra",
    encoder: (cfg, prefix) => {
      const m = new ElectraModel(prefix, cfg);
      const tokenTypes = cfg.typeVocabSize > 0;
      return { forward: (ctx, x, q) => m.forward(ctx, x.inputIds, x.attentionMask, tokenTypes ? x.tokenTypeIds : undefined, q) };
    },
    head: (cfg) => new ElectraClassificationHead(cfg),
    usesTokenTypes: (cfg) => cfg.typeVocabSize > 0,
    wordEmbeddingName: (prefix) => `${prefix}.embeddings.word_embeddings.weight`,
    layerIndex: electraLayerIndex,
  },
  distilbert: {
    prefix: () => "distilbert",
    encoder: (cfg, prefix) => {
      const m = new DistilBertModel(prefix, cfg);
      return { forward: (ctx, x, q) => m.forward(ctx, x.inputIds, x.attentionMask, q) };
    },
    head: (cfg) => new DistilBertClassificationHead(cfg),
    usesTokenTypes: () => false,
    wordEmbeddingName: (prefix) => `${prefix}.embeddings.word_embeddings.weight`,
  },
  "deberta-v2": {
    prefix: () => "deberta",
    encoder: (cfg, prefix) => {
      const m = new DebertaV2Model(prefix, cfg);
      const tokenTypes = cfg.typeVocabSize > 0;
      return { forward: (ctx, x, q) => m.forward(ctx, x.inputIds, x.attentionMask, tokenTypes ? x.tokenTypeIds : undefined, q) };
    },
    head: (cfg) => new DebertaV2ClassificationHead(cfg),
    usesTokenTypes: (cfg) => cfg.typeVocabSize > 0,
    wordEmbeddingName: (prefix) => `${prefix}.embeddings.word_embeddings.weight`,
    layerIndex: debertaLayerIndex,
  },
  modernbert: {
    prefix: () => "model",
    encoder: (cfg, prefix) => {
      const m = new ModernBertModel(prefix, cfg);
      return { forward: (ctx, x, q) => m.forward(ctx, x.inputIds, x.attentionMask, q) };
    },
    head: (cfg) => new ModernBertClassificationHead(cfg),
    mlmHead: (cfg) => new ModernBertMaskedLMHead(cfg),
    usesTokenTypes: () => false,
    wordEmbeddingName: (prefix) => `${prefix}.embeddings.tok_embeddings.weight`,
    layerIndex: modernBertLayerIndex,
  },
};

export class Architecture {
  readonly prefix: string;
  private readonly def: ArchitectureDef;
  private readonly encoder: Encoder;
  private readonly head: ClassificationHead;
  private readonly mlm?: MlmHead;

  constructor(readonly cfg: EncoderConfig) {
    const def = ARCHITECTURES[cfg.modelType];
    if (!def) throw new ConfigError(`model_type ${cfg.modelType} has no architecture in rose`);
    this.def = def;
    this.prefix = def.prefix(cfg);
    this.encoder = def.encoder(cfg, this.prefix);
    this.head = def.head(cfg, this.prefix);
    this.mlm = def.mlmHead?.(cfg);
  }

  /**
   * How deep a parameter sits: 0 the embeddings, i + 1 encoder layer i, numLayers + 1 the heads (pooler,
   * classifier, MLM head); layer-wise learning-rate decay scales by it.
   */
  layerDepth(name: string): number {
    const own = this.def.layerIndex?.(name);
    if (own !== undefined) return own === null ? (/(^|\.)embeddings\./.test(name) ? 0 : this.cfg.numLayers + 1) : own + 1;
    if (/(^|\.)embeddings\./.test(name)) return 0;
    const m = /(?:^|\.)(?:encoder|transformer)\.layer\.(\d+)\./.exec(name);
    return m ? Number(m[1]) + 1 : this.cfg.numLayers + 1;
  }

  /** Whether the model reads token_type_ids (BERT with type_vocab_size > 1). */
  get usesTokenTypes(): boolean {
    return this.def.usesTokenTypes(this.cfg);
  }

  get wordEmbeddingName(): string {
    return this.def.wordEmbeddingName(this.prefix);
  }

  get supportsMlm(): boolean {
    return this.mlm !== undefined;
  }

  /**
   * Last hidden state [batch, seq, hidden]. With `queries`, the last layer computes only those positions
   * (keys and values still come from every position) and returns [batch, 1 or slots, hidden].
   */
  encode(ctx: BuildContext, x: EncoderInputs, opts: { queries?: LastLayerQueries } = {}): Tensor {
    return this.encoder.forward(ctx, x, opts.queries);
  }

  /**
   * Sequence-classification logits [batch, num_labels] from the inputs. A head that reads only the first
   * token lets the last layer's query, attention output and feed-forward run for that token alone: the same
   * logits and gradients as classify(encode(...)) for about (L-1)/L of the work.
   */
  logits(ctx: BuildContext, x: EncoderInputs): Tensor {
    return this.classify(ctx, this.encode(ctx, x, this.firstTokenOnly ? { queries: "first" } : {}), x.attentionMask);
  }

  /** Whether the classification head reads only the first token (then encode with queries "first"). */
  get firstTokenOnly(): boolean {
    return this.head.firstTokenOnly;
  }

  /** Sequence-classification logits [batch, num_labels] from the last hidden state and the attention mask. */
  classify(ctx: BuildContext, hidden: Tensor, attentionMask: Tensor): Tensor {
    return this.head.forward(ctx, hidden, attentionMask);
  }

  /** Masked-LM logits [batch, seq, vocab] (decoder tied to the word embeddings). */
  mlmLogits(ctx: BuildContext, hidden: Tensor): Tensor {
    if (!this.mlm) throw new ConfigError(`${this.cfg.modelType}: masked-LM head not supported`);
    return this.mlm.forward(ctx, hidden, ctx.scope.get(this.wordEmbeddingName, [this.cfg.vocabSize, this.cfg.hiddenSize]));
  }

  /** Declares the standard inputs (input_ids, attention_mask, token_type_ids where used) on a graph. */
  inputs(g: Graph, opts: { tokenTypes?: boolean } = {}): EncoderInputs {
    const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
    const attentionMask = g.input("attention_mask", "int64", ["batch", "seq"]);
    const tokenTypeIds = (opts.tokenTypes ?? this.usesTokenTypes) ? g.input("token_type_ids", "int64", ["batch", "seq"]) : undefined;
    return { inputIds, attentionMask, tokenTypeIds };
  }

  /** Every parameter (name -> shape) the given heads use, in model order. */
  paramShapes(heads: HeadKind[] = ["classifier"]): Map<string, number[]> {
    const g = new Graph();
    const ctx: BuildContext = { scope: new ParamScope(g), train: false };
    const x = this.inputs(g);
    const h = this.encode(ctx, x);
    if (heads.includes("classifier")) this.classify(ctx, h, x.attentionMask);
    if (heads.includes("mlm") && this.supportsMlm) this.mlmLogits(ctx, h);
    return new Map([...ctx.scope.tensors].map(([n, t]) => [n, t.shape as number[]]));
  }
}
