// BERT and RoBERTa, block by block as in Hugging Face's modeling_bert.py / modeling_roberta.py, with
// the checkpoint's parameter names. RoBERTa is BERT with other position ids and another head.
import type { Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";
import { type EncoderConfig, isRobertaFamily } from "../io/config.ts";
import {
  activation,
  type BuildContext,
  dropout,
  Embedding,
  extendedAttentionMask,
  firstToken,
  type LastLayerQueries,
  LayerNorm,
  Linear,
  queryRows,
} from "./modules.ts";
import { ConfigError } from "../errors.ts";

export class BertEmbeddings {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  constructor(
    readonly prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.wordEmbeddings = new Embedding(`${prefix}.word_embeddings`, cfg.vocabSize, cfg.hiddenSize);
    this.positionEmbeddings = new Embedding(`${prefix}.position_embeddings`, cfg.maxPositionEmbeddings, cfg.hiddenSize);
    this.tokenTypeEmbeddings = new Embedding(`${prefix}.token_type_embeddings`, cfg.typeVocabSize, cfg.hiddenSize);
    this.layerNorm = new LayerNorm(`${prefix}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps);
  }

  forward(ctx: BuildContext, inputIds: Tensor, tokenTypeIds?: Tensor): Tensor {
    let pos: Tensor;
    if (isRobertaFamily(this.cfg.modelType)) {
      // Positions count non-padding tokens only, starting at pad_token_id + 1.
      const g = inputIds.graph;
      const m = ops.cast(ops.not(ops.equal(inputIds, g.scalar(this.cfg.padTokenId, "int64"))), "int64");
      pos = ops.add(ops.mul(ops.cumsum(m, 1), m), g.scalar(this.cfg.padTokenId, "int64"));
    } else {
      pos = ops.arange(inputIds, 1);
    }
    let e = ops.add(this.wordEmbeddings.forward(ctx, inputIds), this.positionEmbeddings.forward(ctx, pos));
    // Without token type ids, Hugging Face uses type 0 everywhere: row 0 of the table.
    const tt = tokenTypeIds
      ? this.tokenTypeEmbeddings.forward(ctx, tokenTypeIds)
      : ops.slice(this.tokenTypeEmbeddings.weight(ctx), 0, 0, 1);
    e = ops.add(e, tt);
    return dropout(ctx, this.layerNorm.forward(ctx, e), this.cfg.hiddenDropout);
  }
}

/** Multi-head self-attention; `names` are the q/k/v projection names (BERT: query/key/value). */
export class SelfAttention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly headDim: number;
  constructor(
    prefix: string,
    readonly hidden: number,
    readonly heads: number,
    readonly attnDropout: number,
    names: [string, string, string],
  ) {
    if (hidden % heads !== 0) throw new ConfigError(`hidden size ${hidden} is not a multiple of the number of attention heads ${heads}`);
    this.q = new Linear(`${prefix}.${names[0]}`, hidden, hidden);
    this.k = new Linear(`${prefix}.${names[1]}`, hidden, hidden);
    this.v = new Linear(`${prefix}.${names[2]}`, hidden, hidden);
    this.headDim = hidden / heads;
  }

  private split(x: Tensor): Tensor {
    return ops.transpose(ops.reshape(x, [0, 0, this.heads, this.headDim]), [0, 2, 1, 3]);
  }

  /** Queries from `xq` (default x: self-attention over every position), keys and values from x. */
  forward(ctx: BuildContext, x: Tensor, addMask: Tensor, xq: Tensor = x): Tensor {
    const q = this.split(this.q.forward(ctx, xq));
    const k = this.split(this.k.forward(ctx, x));
    const v = this.split(this.v.forward(ctx, x));
    const scores = ops.add(ops.matmul(q, k, { transB: true, alpha: 1 / Math.sqrt(this.headDim) }), addMask);
    const probs = dropout(ctx, ops.softmax(scores, -1), this.attnDropout);
    const out = ops.transpose(ops.matmul(probs, v), [0, 2, 1, 3]);
    return ops.reshape(out, [0, 0, this.hidden]);
  }
}

/** dense -> dropout -> LayerNorm(. + residual): BertSelfOutput and BertOutput. */
export class BertResidualOutput {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  constructor(
    prefix: string,
    inF: number,
    readonly cfg: EncoderConfig,
  ) {
    this.dense = new Linear(`${prefix}.dense`, inF, cfg.hiddenSize);
    this.layerNorm = new LayerNorm(`${prefix}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps);
  }
  forward(ctx: BuildContext, h: Tensor, residual: Tensor): Tensor {
    return this.layerNorm.forward(ctx, ops.add(this.dense.forward(ctx, h, this.cfg.hiddenDropout), residual));
  }
}

export class BertAttention {
  readonly self: SelfAttention;
  readonly output: BertResidualOutput;
  constructor(prefix: string, cfg: EncoderConfig) {
    this.self = new SelfAttention(`${prefix}.self`, cfg.hiddenSize, cfg.numHeads, cfg.attentionDropout, ["query", "key", "value"]);
    this.output = new BertResidualOutput(`${prefix}.output`, cfg.hiddenSize, cfg);
  }
  forward(ctx: BuildContext, x: Tensor, addMask: Tensor, xq: Tensor = x): Tensor {
    return this.output.forward(ctx, this.self.forward(ctx, x, addMask, xq), xq);
  }
}

export class BertLayer {
  readonly attention: BertAttention;
  readonly intermediate: Linear;
  readonly output: BertResidualOutput;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.attention = new BertAttention(`${prefix}.attention`, cfg);
    this.intermediate = new Linear(`${prefix}.intermediate.dense`, cfg.hiddenSize, cfg.intermediateSize);
    this.output = new BertResidualOutput(`${prefix}.output`, cfg.intermediateSize, cfg);
  }
  /** With `queries`, only those positions attend and go on (see LastLayerQueries). */
  forward(ctx: BuildContext, x: Tensor, addMask: Tensor, queries?: LastLayerQueries): Tensor {
    const a = this.attention.forward(ctx, x, addMask, queries ? queryRows(x, queries) : x);
    return this.output.forward(ctx, activation(this.cfg.hiddenAct, this.intermediate.forward(ctx, a)), a);
  }
}

export class BertModel {
  readonly embeddings: BertEmbeddings;
  readonly layers: BertLayer[];
  constructor(
    readonly prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.embeddings = new BertEmbeddings(`${prefix}.embeddings`, cfg);
    this.layers = Array.from({ length: cfg.numLayers }, (_, i) => new BertLayer(`${prefix}.encoder.layer.${i}`, cfg));
  }
  /** The last hidden state [batch, seq, hidden], or with `queries` the last layer's query rows only. */
  forward(ctx: BuildContext, inputIds: Tensor, attentionMask: Tensor, tokenTypeIds?: Tensor, queries?: LastLayerQueries): Tensor {
    const addMask = extendedAttentionMask(attentionMask);
    let h = this.embeddings.forward(ctx, inputIds, tokenTypeIds);
    this.layers.forEach((layer, i) => {
      h = layer.forward(ctx, h, addMask, i === this.layers.length - 1 ? queries : undefined);
    });
    return h;
  }
}

/** BERT's head: pooler (dense + tanh on the first token), dropout, classifier. */
export class BertClassificationHead {
  readonly firstTokenOnly = true;
  readonly pooler: Linear;
  readonly classifier: Linear;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.pooler = new Linear(`${prefix}.pooler.dense`, cfg.hiddenSize, cfg.hiddenSize);
    this.classifier = new Linear("classifier", cfg.hiddenSize, cfg.numLabels);
  }
  forward(ctx: BuildContext, h: Tensor): Tensor {
    const pooled = ops.tanh(this.pooler.forward(ctx, firstToken(h)));
    return this.classifier.forward(ctx, dropout(ctx, pooled, this.cfg.classifierDropout));
  }
}

/** RoBERTa's head: dropout, dense + tanh on the first token, dropout, out_proj. */
export class RobertaClassificationHead {
  readonly firstTokenOnly = true;
  readonly dense: Linear;
  readonly outProj: Linear;
  constructor(readonly cfg: EncoderConfig) {
    this.dense = new Linear("classifier.dense", cfg.hiddenSize, cfg.hiddenSize);
    this.outProj = new Linear("classifier.out_proj", cfg.hiddenSize, cfg.numLabels);
  }
  forward(ctx: BuildContext, h: Tensor): Tensor {
    const p = this.cfg.classifierDropout;
    const x = ops.tanh(this.dense.forward(ctx, dropout(ctx, firstToken(h), p)));
    return this.outProj.forward(ctx, dropout(ctx, x, p));
  }
}

/** Masked-LM head: transform (dense, activation, LayerNorm) and a decoder tied to the word embeddings. */
export class MaskedLMHead {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  constructor(
    readonly cfg: EncoderConfig,
    readonly names: { dense: string; layerNorm: string; bias: string },
  ) {
    this.dense = new Linear(names.dense, cfg.hiddenSize, cfg.hiddenSize);
    this.layerNorm = new LayerNorm(names.layerNorm, cfg.hiddenSize, cfg.layerNormEps);
  }
  forward(ctx: BuildContext, h: Tensor, wordEmbeddings: Tensor): Tensor {
    const act = isRobertaFamily(this.cfg.modelType) ? "gelu" : this.cfg.hiddenAct;
    const t = this.layerNorm.forward(ctx, activation(act, this.dense.forward(ctx, h)));
    const bias = ctx.scope.get(this.names.bias, [this.cfg.vocabSize]);
    // The tied decoder as a Linear: one Gemm with the bias inside, not a matmul and a [rows, vocab] Add.
    return ops.linear(t, wordEmbeddings, bias);
  }
}

export function bertMlmHead(cfg: EncoderConfig): MaskedLMHead {
  return isRobertaFamily(cfg.modelType)
    ? new MaskedLMHead(cfg, { dense: "lm_head.dense", layerNorm: "lm_head.layer_norm", bias: "lm_head.bias" })
    : new MaskedLMHead(cfg, {
        dense: "cls.predictions.transform.dense",
        layerNorm: "cls.predictions.transform.LayerNorm",
        bias: "cls.predictions.bias",
      });
}
