// DistilBERT, as in Hugging Face's modeling_distilbert.py, with the checkpoint's parameter names.
import type { Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";
import type { EncoderConfig } from "../io/config.ts";
import { SelfAttention } from "./bert.ts";
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

export class DistilEmbeddings {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.wordEmbeddings = new Embedding(`${prefix}.word_embeddings`, cfg.vocabSize, cfg.hiddenSize);
    this.positionEmbeddings = new Embedding(`${prefix}.position_embeddings`, cfg.maxPositionEmbeddings, cfg.hiddenSize);
    this.layerNorm = new LayerNorm(`${prefix}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps);
  }
  forward(ctx: BuildContext, inputIds: Tensor): Tensor {
    const e = ops.add(this.wordEmbeddings.forward(ctx, inputIds), this.positionEmbeddings.forward(ctx, ops.arange(inputIds, 1)));
    return dropout(ctx, this.layerNorm.forward(ctx, e), this.cfg.hiddenDropout);
  }
}

export class TransformerBlock {
  readonly attention: SelfAttention;
  readonly outLin: Linear;
  readonly saLayerNorm: LayerNorm;
  readonly lin1: Linear;
  readonly lin2: Linear;
  readonly outputLayerNorm: LayerNorm;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.attention = new SelfAttention(`${prefix}.attention`, cfg.hiddenSize, cfg.numHeads, cfg.attentionDropout, [
      "q_lin",
      "k_lin",
      "v_lin",
    ]);
    this.outLin = new Linear(`${prefix}.attention.out_lin`, cfg.hiddenSize, cfg.hiddenSize);
    this.saLayerNorm = new LayerNorm(`${prefix}.sa_layer_norm`, cfg.hiddenSize, cfg.layerNormEps);
    this.lin1 = new Linear(`${prefix}.ffn.lin1`, cfg.hiddenSize, cfg.intermediateSize);
    this.lin2 = new Linear(`${prefix}.ffn.lin2`, cfg.intermediateSize, cfg.hiddenSize);
    this.outputLayerNorm = new LayerNorm(`${prefix}.output_layer_norm`, cfg.hiddenSize, cfg.layerNormEps);
  }
  /** With `queries`, only those positions attend and go on (see LastLayerQueries). */
  forward(ctx: BuildContext, x: Tensor, addMask: Tensor, queries?: LastLayerQueries): Tensor {
    const xq = queries ? queryRows(x, queries) : x;
    const a = this.saLayerNorm.forward(ctx, ops.add(this.outLin.forward(ctx, this.attention.forward(ctx, x, addMask, xq)), xq));
    const f = this.lin2.forward(ctx, activation(this.cfg.hiddenAct, this.lin1.forward(ctx, a)), this.cfg.hiddenDropout);
    return this.outputLayerNorm.forward(ctx, ops.add(f, a));
  }
}

export class DistilBertModel {
  readonly embeddings: DistilEmbeddings;
  readonly layers: TransformerBlock[];
  constructor(
    readonly prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.embeddings = new DistilEmbeddings(`${prefix}.embeddings`, cfg);
    this.layers = Array.from({ length: cfg.numLayers }, (_, i) => new TransformerBlock(`${prefix}.transformer.layer.${i}`, cfg));
  }
  forward(ctx: BuildContext, inputIds: Tensor, attentionMask: Tensor, queries?: LastLayerQueries): Tensor {
    const addMask = extendedAttentionMask(attentionMask);
    let h = this.embeddings.forward(ctx, inputIds);
    this.layers.forEach((layer, i) => {
      h = layer.forward(ctx, h, addMask, i === this.layers.length - 1 ? queries : undefined);
    });
    return h;
  }
}

/** pre_classifier + ReLU on the first token, dropout (seq_classif_dropout), classifier. */
export class DistilBertClassificationHead {
  readonly firstTokenOnly = true;
  readonly preClassifier: Linear;
  readonly classifier: Linear;
  constructor(readonly cfg: EncoderConfig) {
    this.preClassifier = new Linear("pre_classifier", cfg.hiddenSize, cfg.hiddenSize);
    this.classifier = new Linear("classifier", cfg.hiddenSize, cfg.numLabels);
  }
  forward(ctx: BuildContext, h: Tensor): Tensor {
    const x = ops.relu(this.preClassifier.forward(ctx, firstToken(h)));
    return this.classifier.forward(ctx, dropout(ctx, x, this.cfg.classifierDropout));
  }
}
