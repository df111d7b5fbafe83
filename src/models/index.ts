// One interface over the supported architectures: encode, classify, masked-LM logits, parameter shapes.
import { Graph, type Tensor } from "../engine/index.ts";
import type { EncoderConfig, ModelType } from "../io/config.ts";
import { BertClassificationHead, BertModel, bertMlmHead, type MaskedLMHead, RobertaClassificationHead } from "./bert.ts";
import { DistilBertClassificationHead, DistilBertModel } from "./distilbert.ts";
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
  forward(ctx: BuildContext, hidden: Tensor): Tensor;
  /** Whether the head reads only the first token (then the last layer can compute that token alone). */
  readonly firstTokenOnly: boolean;
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
  mlmHead?(cfg: EncoderConfig): MaskedLMHead;
  /** Whether the model reads token_type_ids. */
  usesTokenTypes(cfg: EncoderConfig): boolean;
  /** Name of the word-embedding matrix (the masked-LM decoder is tied to it). */
  wordEmbeddingName(prefix: string): string;
  /** Encoder layer index of a parameter name, or null for embeddings and heads (see layerDepth). */
  layerIndex?(name: string): number | null;
}

const bertLike = (kind: "bert" | "roberta"): ArchitectureDef => ({
  prefix: (cfg) => cfg.modelType,
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
};

export class Architecture {
  readonly prefix: string;
  private readonly def: ArchitectureDef;
  private readonly encoder: Encoder;
  private readonly head: ClassificationHead;
  private readonly mlm?: MaskedLMHead;

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
    return this.classify(ctx, this.encode(ctx, x, this.head.firstTokenOnly ? { queries: "first" } : {}));
  }

  /** Sequence-classification logits [batch, num_labels] from the last hidden state. */
  classify(ctx: BuildContext, hidden: Tensor): Tensor {
    return this.head.forward(ctx, hidden);
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
    const h = this.encode(ctx, this.inputs(g));
    if (heads.includes("classifier")) this.classify(ctx, h);
    if (heads.includes("mlm") && this.supportsMlm) this.mlmLogits(ctx, h);
    return new Map([...ctx.scope.tensors].map(([n, t]) => [n, t.shape as number[]]));
  }
}
