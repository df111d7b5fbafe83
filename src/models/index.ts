// One interface over the supported architectures: encode, classify, masked-LM logits, parameter shapes.
import { Graph, type Tensor } from "../engine/index.ts";
import type { EncoderConfig } from "../io/config.ts";
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

export class Architecture {
  readonly prefix: string;
  private readonly bert?: BertModel;
  private readonly distil?: DistilBertModel;
  private readonly head: { forward(ctx: BuildContext, h: Tensor): Tensor };
  private readonly mlm?: MaskedLMHead;

  constructor(readonly cfg: EncoderConfig) {
    this.prefix = cfg.modelType;
    if (cfg.modelType === "distilbert") {
      this.distil = new DistilBertModel("distilbert", cfg);
      this.head = new DistilBertClassificationHead(cfg);
    } else {
      this.bert = new BertModel(cfg.modelType, cfg);
      this.head = cfg.modelType === "roberta" ? new RobertaClassificationHead(cfg) : new BertClassificationHead(cfg.modelType, cfg);
      this.mlm = bertMlmHead(cfg);
    }
  }

  /**
   * How deep a parameter sits: 0 the embeddings, i + 1 encoder layer i, numLayers + 1 the heads (pooler,
   * classifier, MLM head); layer-wise learning-rate decay scales by it.
   */
  layerDepth(name: string): number {
    if (/(^|\.)embeddings\./.test(name)) return 0;
    const m = /(?:^|\.)(?:encoder|transformer)\.layer\.(\d+)\./.exec(name);
    return m ? Number(m[1]) + 1 : this.cfg.numLayers + 1;
  }

  /** Whether the model reads token_type_ids (BERT with type_vocab_size > 1). */
  get usesTokenTypes(): boolean {
    return this.cfg.modelType === "bert" && this.cfg.typeVocabSize > 0;
  }

  get wordEmbeddingName(): string {
    return `${this.prefix}.embeddings.word_embeddings.weight`;
  }

  get supportsMlm(): boolean {
    return this.mlm !== undefined;
  }

  /**
   * Last hidden state [batch, seq, hidden]. With `queries`, the last layer computes only those positions
   * (keys and values still come from every position) and returns [batch, 1 or slots, hidden].
   */
  encode(ctx: BuildContext, x: EncoderInputs, opts: { queries?: LastLayerQueries } = {}): Tensor {
    if (this.distil) return this.distil.forward(ctx, x.inputIds, x.attentionMask, opts.queries);
    return this.bert!.forward(ctx, x.inputIds, x.attentionMask, this.usesTokenTypes ? x.tokenTypeIds : undefined, opts.queries);
  }

  /**
   * Sequence-classification logits [batch, num_labels] from the inputs. Every head reads only the first
   * token, so the last layer's query, attention output and feed-forward run for that token alone: the same
   * logits and gradients as classify(encode(...)) for about (L-1)/L of the work.
   */
  logits(ctx: BuildContext, x: EncoderInputs): Tensor {
    return this.classify(ctx, this.encode(ctx, x, { queries: "first" }));
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
