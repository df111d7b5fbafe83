// DeBERTa-v2/v3, block by block as in Hugging Face's modeling_deberta_v2.py (DebertaV2ForSequenceClassification),
// with the checkpoint's parameter names. Disentangled attention adds to each content score q_i.k_j a
// content-to-position term q_i.Kr[idx(i,j)] and a position-to-content term k_j.Qr[idx(i,j)], where Kr and Qr are
// the layer's key/query projections of the shared (layer-normed) relative embeddings and idx(i,j) is the
// (log-)bucketed relative position i - j shifted into the table. The relative-position gathers are ops.gather
// over a flattened [positions * table rows] axis, so their gradient is gather's deterministic one.
import type { Graph, Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";
import type { DebertaConfig, EncoderConfig } from "../io/config.ts";
import { BertResidualOutput } from "./bert.ts";
import {
  activation,
  type BuildContext,
  dropout,
  Embedding,
  firstToken,
  type LastLayerQueries,
  LayerNorm,
  Linear,
  queryRows,
} from "./modules.ts";
import { ConfigError } from "../errors.ts";

const MOST_NEGATIVE_FLOAT32 = -3.4028234663852886e38;

function debertaOf(cfg: EncoderConfig): DebertaConfig {
  if (!cfg.deberta) throw new ConfigError(`model_type ${cfg.modelType}: the config lacks DeBERTa's attention settings`);
  return cfg.deberta;
}

/**
 * make_log_bucket_position for one relative position r = i - j, in float32 as PyTorch computes it:
 * r itself within mid = bucketSize / 2 of 0, else sign(r) * (ceil(ln(|r| / mid) / ln((maxPosition - 1) / mid) * (mid - 1)) + mid).
 */
export function logBucketPosition(r: number, bucketSize: number, maxPosition: number): number {
  const mid = Math.floor(bucketSize / 2);
  const abs = Math.abs(r);
  if (abs <= mid) return r;
  const f = Math.fround;
  const ratio = f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxPosition - 1) / mid))));
  return Math.sign(r) * (Math.ceil(f(ratio * (mid - 1))) + mid);
}

/** The attention span: rel_embeddings has 2 * span rows (position_buckets when bucketed, else max_relative_positions). */
export function attentionSpan(d: DebertaConfig): number {
  return d.positionBuckets > 0 ? d.positionBuckets : d.maxRelativePositions;
}

/** The row of the relative-embedding table that query i reads for key j, from r = i - j: clamp(bucket(r) + span, 0, 2 span - 1). */
export function relativeIndex(r: number, d: DebertaConfig): number {
  const span = attentionSpan(d);
  const rel = d.positionBuckets > 0 ? logBucketPosition(r, d.positionBuckets, d.maxRelativePositions) : r;
  return Math.min(Math.max(rel + span, 0), 2 * span - 1);
}

/**
 * The distance beyond which relativeIndex no longer changes (it is monotone in r and saturates at 0 below,
 * 2 span - 1 above): clamping i - j to +-reach gives every sequence length the same indices as the unclamped
 * function, so the graph needs no limit on the length.
 */
export function relativeReach(d: DebertaConfig): number {
  return Math.max(d.maxRelativePositions, attentionSpan(d)) + 1;
}

/** relativeIndex for r = -reach .. reach (entry r + reach). */
export function relativeIndexTable(d: DebertaConfig): BigInt64Array {
  const reach = relativeReach(d);
  const table = BigInt64Array.from({ length: 2 * reach + 1 }, (_, k) => BigInt(relativeIndex(k - reach, d)));
  if (table[0] !== 0n || table[2 * reach] !== BigInt(2 * attentionSpan(d) - 1)) {
    throw new ConfigError(
      `position_buckets ${d.positionBuckets} with max_relative_positions ${d.maxRelativePositions}: relative positions do not saturate within ${reach}`,
    );
  }
  return table;
}

/**
 * Flat indices of the two relative terms for queries at `posQ` [Tq] and keys 0..T-1: c2p indexes
 * [Tq * 2 span] (query row, table row), p2c indexes [T * 2 span] (key row, table row); both [Tq, T].
 */
interface RelativeIndices {
  c2p: Tensor;
  p2c: Tensor;
}

function relativeIndices(g: Graph, inputIds: Tensor, d: DebertaConfig, first: boolean): RelativeIndices {
  const reach = relativeReach(d);
  const rows = g.scalar(2 * attentionSpan(d), "int64");
  const posK = ops.arange(inputIds, 1);
  const posQ = first ? g.constant(BigInt64Array.of(0n), [1], "int64") : posK;
  let r = ops.sub(ops.unsqueeze(posQ, [1]), ops.unsqueeze(posK, [0]));
  const hi = g.scalar(reach, "int64"),
    lo = g.scalar(-reach, "int64");
  r = ops.where(ops.greater(r, hi), hi, ops.where(ops.greater(lo, r), lo, r));
  const table = g.constant(relativeIndexTable(d), [2 * reach + 1], "int64");
  const idx = ops.gather(table, ops.add(r, hi));
  // The query's own row: 0 when only the first position is computed.
  const c2p = first ? idx : ops.add(ops.mul(ops.unsqueeze(posQ, [1]), rows), idx);
  const p2c = ops.add(ops.mul(ops.unsqueeze(posK, [0]), rows), idx);
  return { c2p, p2c };
}

/** [batch, seq] 0/1 mask -> additive [batch, 1, Tq, seq] mask: the most negative float32 where the query or the key is padding. */
function pairAttentionMask(mask: Tensor, first: boolean): Tensor {
  const m = ops.cast(mask, "float32");
  const mq = first ? ops.unsqueeze(ops.slice(m, 1, 0, 1), [2]) : ops.unsqueeze(m, [2]);
  const pair = ops.mul(mq, ops.unsqueeze(m, [1]));
  return ops.unsqueeze(ops.scale(ops.sub(mask.graph.scalar(1), pair), MOST_NEGATIVE_FLOAT32), [1]);
}

/** Word embeddings (plus absolute positions and token types where the config has them), LayerNorm, times the mask. */
export class DebertaV2Embeddings {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings?: Embedding;
  readonly tokenTypeEmbeddings?: Embedding;
  readonly layerNorm: LayerNorm;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.wordEmbeddings = new Embedding(`${prefix}.word_embeddings`, cfg.vocabSize, cfg.hiddenSize);
    if (debertaOf(cfg).positionBiasedInput)
      this.positionEmbeddings = new Embedding(`${prefix}.position_embeddings`, cfg.maxPositionEmbeddings, cfg.hiddenSize);
    if (cfg.typeVocabSize > 0)
      this.tokenTypeEmbeddings = new Embedding(`${prefix}.token_type_embeddings`, cfg.typeVocabSize, cfg.hiddenSize);
    this.layerNorm = new LayerNorm(`${prefix}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps);
  }

  forward(ctx: BuildContext, inputIds: Tensor, attentionMask: Tensor, tokenTypeIds?: Tensor): Tensor {
    let e = this.wordEmbeddings.forward(ctx, inputIds);
    if (this.positionEmbeddings) e = ops.add(e, this.positionEmbeddings.forward(ctx, ops.arange(inputIds, 1)));
    if (this.tokenTypeEmbeddings) {
      // Without token type ids, Hugging Face uses type 0 everywhere: row 0 of the table.
      const tt = tokenTypeIds
        ? this.tokenTypeEmbeddings.forward(ctx, tokenTypeIds)
        : ops.slice(this.tokenTypeEmbeddings.weight(ctx), 0, 0, 1);
      e = ops.add(e, tt);
    }
    const masked = ops.mul(this.layerNorm.forward(ctx, e), ops.unsqueeze(ops.cast(attentionMask, "float32"), [2]));
    return dropout(ctx, masked, this.cfg.hiddenDropout);
  }
}

/** What every layer's attention shares: the relative embeddings R [2 span, hidden] and the gather indices. */
interface RelativeContext {
  embeddings: Tensor;
  indices: RelativeIndices;
}

export class DisentangledSelfAttention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  /** Projections of R: the key/query projections themselves with share_att_key, else pos_key_proj / pos_query_proj. */
  readonly posKey?: Linear;
  readonly posQuery?: Linear;
  readonly heads: number;
  readonly headDim: number;
  readonly scale: number;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    const d = debertaOf(cfg);
    const hidden = cfg.hiddenSize;
    this.heads = cfg.numHeads;
    this.headDim = hidden / cfg.numHeads;
    this.q = new Linear(`${prefix}.query_proj`, hidden, hidden);
    this.k = new Linear(`${prefix}.key_proj`, hidden, hidden);
    this.v = new Linear(`${prefix}.value_proj`, hidden, hidden);
    if (d.relativeAttention) {
      if (d.posAttType.includes("c2p")) this.posKey = d.shareAttKey ? this.k : new Linear(`${prefix}.pos_key_proj`, hidden, hidden);
      if (d.posAttType.includes("p2c")) this.posQuery = d.shareAttKey ? this.q : new Linear(`${prefix}.pos_query_proj`, hidden, hidden);
    }
    // Every term is divided by sqrt(head_dim * (1 + number of relative terms)), also without relative attention.
    this.scale = 1 / Math.sqrt(this.headDim * (1 + d.posAttType.length));
  }

  private split(x: Tensor): Tensor {
    return ops.transpose(ops.reshape(x, [0, 0, this.heads, this.headDim]), [0, 2, 1, 3]);
  }

  /** R [rows, hidden] through a projection, as heads [1, heads, rows, head_dim]. */
  private relHeads(ctx: BuildContext, proj: Linear, rel: Tensor): Tensor {
    const rows = rel.shape[0] as number;
    return ops.transpose(ops.reshape(proj.forward(ctx, rel), [1, rows, this.heads, this.headDim]), [0, 2, 1, 3]);
  }

  /** scores [batch, heads, T1, 2 span] -> [T1 * 2 span, batch, heads], the layout ops.gather reads rows from. */
  private rowsFirst(scores: Tensor): Tensor {
    return ops.transpose(ops.reshape(scores, [0, 0, -1]), [2, 0, 1]);
  }

  /** Queries from `xq` (x itself, or its first position), keys and values from x. */
  forward(ctx: BuildContext, x: Tensor, addMask: Tensor, xq: Tensor, rel?: RelativeContext): Tensor {
    const q = this.split(this.q.forward(ctx, xq));
    const k = this.split(this.k.forward(ctx, x));
    const v = this.split(this.v.forward(ctx, x));
    let scores = ops.matmul(q, k, { transB: true, alpha: this.scale });
    if (rel && (this.posKey || this.posQuery)) {
      const r = dropout(ctx, rel.embeddings, this.cfg.hiddenDropout);
      // Each term as [Tq, T, batch, heads]: gathered over (row, table row) pairs.
      const terms: Tensor[] = [];
      if (this.posKey) {
        const c2p = ops.matmul(q, this.relHeads(ctx, this.posKey, r), { transB: true });
        terms.push(ops.gather(this.rowsFirst(c2p), rel.indices.c2p));
      }
      if (this.posQuery) {
        const p2c = ops.matmul(k, this.relHeads(ctx, this.posQuery, r), { transB: true });
        terms.push(ops.gather(this.rowsFirst(p2c), rel.indices.p2c));
      }
      const sum = terms.length === 2 ? ops.add(terms[0]!, terms[1]!) : terms[0]!;
      scores = ops.add(scores, ops.scale(ops.transpose(sum, [2, 3, 0, 1]), this.scale));
    }
    const probs = dropout(ctx, ops.softmax(ops.add(scores, addMask), -1), this.cfg.attentionDropout);
    const out = ops.transpose(ops.matmul(probs, v), [0, 2, 1, 3]);
    return ops.reshape(out, [0, 0, this.cfg.hiddenSize]);
  }
}

export class DebertaV2Layer {
  readonly self: DisentangledSelfAttention;
  readonly attentionOutput: BertResidualOutput;
  readonly intermediate: Linear;
  readonly output: BertResidualOutput;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.self = new DisentangledSelfAttention(`${prefix}.attention.self`, cfg);
    this.attentionOutput = new BertResidualOutput(`${prefix}.attention.output`, cfg.hiddenSize, cfg);
    this.intermediate = new Linear(`${prefix}.intermediate.dense`, cfg.hiddenSize, cfg.intermediateSize);
    this.output = new BertResidualOutput(`${prefix}.output`, cfg.intermediateSize, cfg);
  }

  forward(ctx: BuildContext, x: Tensor, addMask: Tensor, rel: RelativeContext | undefined, first: boolean): Tensor {
    const xq = first ? queryRows(x, "first") : x;
    const a = this.attentionOutput.forward(ctx, this.self.forward(ctx, x, addMask, xq, rel), xq);
    return this.output.forward(ctx, activation(this.cfg.hiddenAct, this.intermediate.forward(ctx, a)), a);
  }
}

export class DebertaV2Model {
  readonly embeddings: DebertaV2Embeddings;
  readonly layers: DebertaV2Layer[];
  /** encoder.rel_embeddings and, with norm_rel_ebd "layer_norm", encoder.LayerNorm applied to it. */
  readonly relEmbeddings?: Embedding;
  readonly relLayerNorm?: LayerNorm;
  readonly d: DebertaConfig;
  constructor(
    readonly prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    this.d = debertaOf(cfg);
    this.embeddings = new DebertaV2Embeddings(`${prefix}.embeddings`, cfg);
    this.layers = Array.from({ length: cfg.numLayers }, (_, i) => new DebertaV2Layer(`${prefix}.encoder.layer.${i}`, cfg));
    if (this.d.relativeAttention) {
      this.relEmbeddings = new Embedding(`${prefix}.encoder.rel_embeddings`, 2 * attentionSpan(this.d), cfg.hiddenSize);
      if (this.d.normRelEmbeddings) this.relLayerNorm = new LayerNorm(`${prefix}.encoder.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps);
    }
  }

  /** The last hidden state [batch, seq, hidden], or with queries "first" the last layer's first position [batch, 1, hidden]. */
  forward(ctx: BuildContext, inputIds: Tensor, attentionMask: Tensor, tokenTypeIds?: Tensor, queries?: LastLayerQueries): Tensor {
    if (queries !== undefined && queries !== "first") {
      throw new ConfigError(`${this.cfg.modelType}: the last layer computes all positions or the first one only (no masked-LM rows)`);
    }
    const g = inputIds.graph;
    let h = this.embeddings.forward(ctx, inputIds, attentionMask, tokenTypeIds);
    let rEmb: Tensor | undefined;
    if (this.relEmbeddings) {
      rEmb = this.relEmbeddings.weight(ctx);
      if (this.relLayerNorm) rEmb = this.relLayerNorm.forward(ctx, rEmb);
    }
    const context = (first: boolean) => ({
      mask: pairAttentionMask(attentionMask, first),
      rel: rEmb && { embeddings: rEmb, indices: relativeIndices(g, inputIds, this.d, first) },
    });
    const all = context(false);
    const last = this.layers.length - 1;
    this.layers.forEach((layer, i) => {
      const first = i === last && queries === "first";
      const c = first ? context(true) : all;
      h = layer.forward(ctx, h, c.mask, c.rel, first);
    });
    return h;
  }
}

/** ContextPooler (dense + activation on the first token, after pooler dropout), dropout (cls_dropout), classifier. */
export class DebertaV2ClassificationHead {
  readonly firstTokenOnly = true;
  readonly pooler: Linear;
  readonly classifier: Linear;
  constructor(readonly cfg: EncoderConfig) {
    this.pooler = new Linear("pooler.dense", cfg.hiddenSize, cfg.hiddenSize);
    this.classifier = new Linear("classifier", cfg.hiddenSize, cfg.numLabels);
  }
  forward(ctx: BuildContext, h: Tensor): Tensor {
    const d = debertaOf(this.cfg);
    const pooled = activation(d.poolerHiddenAct, this.pooler.forward(ctx, dropout(ctx, firstToken(h), d.poolerDropout)));
    return this.classifier.forward(ctx, dropout(ctx, pooled, this.cfg.classifierDropout));
  }
}

/**
 * Encoder layer index of a DeBERTa parameter for layer-wise learning-rate decay: N for encoder.layer.N, -1
 * (the embeddings' depth) for encoder.rel_embeddings and encoder.LayerNorm, which replace absolute position
 * embeddings and feed every layer from below, null otherwise (embeddings, pooler, classifier).
 */
export function debertaLayerIndex(name: string): number | null {
  const m = /(?:^|\.)encoder\.layer\.(\d+)\./.exec(name);
  if (m) return Number(m[1]);
  return /(?:^|\.)encoder\.(rel_embeddings|LayerNorm)\./.test(name) ? -1 : null;
}
