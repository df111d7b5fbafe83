// ELECTRA's discriminator, block by block as in Hugging Face's modeling_electra.py, with the checkpoint's
// parameter names: BERT's layers on embeddings of embedding_size, projected to hidden_size where the two
// differ; no pooler. The generator (ElectraForMaskedLM) is a separate checkpoint, so no masked-LM head.
import type { Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";
import type { EncoderConfig } from "../io/config.ts";
import { BertLayer } from "./bert.ts";
import {
  type BuildContext,
  dropout,
  Embedding,
  extendedAttentionMask,
  firstToken,
  type LastLayerQueries,
  LayerNorm,
  Linear,
} from "./modules.ts";

/** embedding_size, with ElectraConfig's default where the config came without the ELECTRA fields. */
export function embeddingSize(cfg: EncoderConfig): number {
  return cfg.electra?.embeddingSize ?? 128;
}

/** Word + position + token type embeddings of embedding_size, LayerNorm and dropout (ElectraEmbeddings). */
export class ElectraEmbeddings {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    const e = embeddingSize(cfg);
    this.wordEmbeddings = new Embedding(`${prefix}.word_embeddings`, cfg.vocabSize, e);
    this.positionEmbeddings = new Embedding(`${prefix}.position_embeddings`, cfg.maxPositionEmbeddings, e);
    this.tokenTypeEmbeddings = new Embedding(`${prefix}.token_type_embeddings`, cfg.typeVocabSize, e);
    this.layerNorm = new LayerNorm(`${prefix}.LayerNorm`, e, cfg.layerNormEps);
  }

  forward(ctx: BuildContext, inputIds: Tensor, tokenTypeIds?: Tensor): Tensor {
    const e = ops.add(this.wordEmbeddings.forward(ctx, inputIds), this.positionEmbeddings.forward(ctx, ops.arange(inputIds, 1)));
    // Without token type ids, Hugging Face uses type 0 everywhere: row 0 of the table.
    const tt = tokenTypeIds
      ? this.tokenTypeEmbeddings.forward(ctx, tokenTypeIds)
      : ops.slice(this.tokenTypeEmbeddings.weight(ctx), 0, 0, 1);
    return dropout(ctx, this.layerNorm.forward(ctx, ops.add(e, tt)), this.cfg.hiddenDropout);
  }
}

export class ElectraModel {
  readonly embeddings: ElectraEmbeddings;
  /** Linear embedding_size -> hidden_size; absent when the two are equal (ELECTRA-base and -large). */
  readonly embeddingsProject?: Linear;
  readonly layers: BertLayer[];
  constructor(
    readonly prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.embeddings = new ElectraEmbeddings(`${prefix}.embeddings`, cfg);
    const e = embeddingSize(cfg);
    if (e !== cfg.hiddenSize) this.embeddingsProject = new Linear(`${prefix}.embeddings_project`, e, cfg.hiddenSize);
    this.layers = Array.from({ length: cfg.numLayers }, (_, i) => new BertLayer(`${prefix}.encoder.layer.${i}`, cfg));
  }

  /** The last hidden state [batch, seq, hidden], or with `queries` the last layer's query rows only. */
  forward(ctx: BuildContext, inputIds: Tensor, attentionMask: Tensor, tokenTypeIds?: Tensor, queries?: LastLayerQueries): Tensor {
    const addMask = extendedAttentionMask(attentionMask);
    let h = this.embeddings.forward(ctx, inputIds, tokenTypeIds);
    if (this.embeddingsProject) h = this.embeddingsProject.forward(ctx, h);
    this.layers.forEach((layer, i) => {
      h = layer.forward(ctx, h, addMask, i === this.layers.length - 1 ? queries : undefined);
    });
    return h;
  }
}

/** ElectraClassificationHead: dropout, dense, GELU (whatever hidden_act says), dropout, out_proj on the first token. */
export class ElectraClassificationHead {
  readonly firstTokenOnly = true;
  readonly dense: Linear;
  readonly outProj: Linear;
  constructor(readonly cfg: EncoderConfig) {
    this.dense = new Linear("classifier.dense", cfg.hiddenSize, cfg.hiddenSize);
    this.outProj = new Linear("classifier.out_proj", cfg.hiddenSize, cfg.numLabels);
  }
  forward(ctx: BuildContext, h: Tensor): Tensor {
    const p = this.cfg.classifierDropout;
    const x = ops.gelu(this.dense.forward(ctx, dropout(ctx, firstToken(h), p)));
    return this.outProj.forward(ctx, dropout(ctx, x, p));
  }
}

/** Encoder layer index of an ELECTRA parameter (see ArchitectureDef.layerIndex); embeddings_project sits with the embeddings. */
export function electraLayerIndex(name: string): number | null {
  if (name.startsWith("electra.embeddings_project.")) return -1;
  const m = /^electra\.encoder\.layer\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}
