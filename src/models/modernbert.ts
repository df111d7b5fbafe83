// ModernBERT, block by block as in Hugging Face's modeling_modernbert.py, with the checkpoint's parameter
// names: pre-norm layers, fused Wqkv, rotary positions with one theta for global and one for local layers,
// sliding-window attention on the local layers, GeGLU feed-forward, optional biases, a final norm.
import type { Graph, Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";
import type { EncoderConfig, ModernBertOptions } from "../io/config.ts";
import { ConfigError } from "../errors.ts";
import { activation, type BuildContext, dropout, Embedding, extendedAttentionMask, type LastLayerQueries, queryRows } from "./modules.ts";

const MOST_NEGATIVE = -3.4028234663852886e38;

/** The config's ModernBERT options (parseModelConfig fills them for model_type "modernbert"). */
export function modernBertOptions(cfg: EncoderConfig): ModernBertOptions {
  if (!cfg.modernbert) throw new ConfigError(`model_type ${cfg.modelType} has no ModernBERT options`);
  return cfg.modernbert;
}

/** nn.Linear whose bias the config may switch off (attention_bias, mlp_bias, classifier_bias). */
export class MaybeBiasLinear {
  constructor(
    readonly prefix: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly bias: boolean,
  ) {}
  forward(ctx: BuildContext, x: Tensor): Tensor {
    const w = ctx.scope.get(`${this.prefix}.weight`, [this.outFeatures, this.inFeatures]);
    if (!this.bias) return ops.matmul(x, w, { transB: true });
    return ops.linear(x, w, ctx.scope.get(`${this.prefix}.bias`, [this.outFeatures]));
  }
}

/** map.get(key), made and stored on first use. */
function cached<K, V>(map: { get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, make: () => V): V {
  const known = map.get(key);
  if (known !== undefined) return known;
  const made = make();
  map.set(key, made);
  return made;
}

// One zero vector per graph and size stands in for a LayerNorm's missing bias (a constant: no gradient).
const zeroBiases = new WeakMap<Graph, Map<number, Tensor>>();
function zeros(g: Graph, size: number): Tensor {
  const bySize = cached(zeroBiases, g, () => new Map<number, Tensor>());
  return cached(bySize, size, () => g.constant(new Float32Array(size), [size], "float32"));
}

/** nn.LayerNorm with or without a bias (norm_bias). */
export class MaybeBiasLayerNorm {
  constructor(
    readonly prefix: string,
    readonly size: number,
    readonly eps: number,
    readonly bias: boolean,
  ) {}
  forward(ctx: BuildContext, x: Tensor): Tensor {
    const w = ctx.scope.get(`${this.prefix}.weight`, [this.size]);
    const b = this.bias ? ctx.scope.get(`${this.prefix}.bias`, [this.size]) : zeros(x.graph, this.size);
    return ops.layerNorm(x, w, b, this.eps);
  }
}

/**
 * cos and sin of position * theta^(-2i/d), i < d/2, for every position the model allows, rounded as
 * PyTorch computes them in float32 (inverse frequencies, then each angle, in float32).
 */
export function ropeTables(theta: number, headDim: number, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const inv = Float32Array.from({ length: half }, (_, i) => 1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * inv[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** What the layers of one forward pass share: rotary factors per theta and the attention masks. */
interface LayerInputs {
  /** [1, 1, seq, head_dim] factors: x * cos + swapHalves(x) * sin is the rotate-half RoPE. */
  rope: Map<number, { cos: Tensor; sin: Tensor }>;
  /** Additive masks: global [batch, 1, 1, seq] (padding keys), local [batch, 1, seq, seq] (padding or outside the window). */
  globalMask: Tensor;
  localMask: Tensor;
}

export class ModernBertEmbeddings {
  readonly tokEmbeddings: Embedding;
  readonly norm: MaybeBiasLayerNorm;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    const o = modernBertOptions(cfg);
    this.tokEmbeddings = new Embedding(`${prefix}.tok_embeddings`, cfg.vocabSize, cfg.hiddenSize);
    this.norm = new MaybeBiasLayerNorm(`${prefix}.norm`, cfg.hiddenSize, cfg.layerNormEps, o.normBias);
  }
  forward(ctx: BuildContext, inputIds: Tensor): Tensor {
    return dropout(ctx, this.norm.forward(ctx, this.tokEmbeddings.forward(ctx, inputIds)), modernBertOptions(this.cfg).embeddingDropout);
  }
}

export class ModernBertAttention {
  readonly Wqkv: MaybeBiasLinear;
  readonly Wo: MaybeBiasLinear;
  readonly headDim: number;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
    /** Full attention with the global theta, or the sliding window with the local one. */
    readonly global: boolean,
  ) {
    const o = modernBertOptions(cfg);
    this.headDim = cfg.hiddenSize / cfg.numHeads;
    this.Wqkv = new MaybeBiasLinear(`${prefix}.Wqkv`, cfg.hiddenSize, 3 * cfg.hiddenSize, o.attentionBias);
    this.Wo = new MaybeBiasLinear(`${prefix}.Wo`, cfg.hiddenSize, cfg.hiddenSize, o.attentionBias);
  }

  get theta(): number {
    const o = modernBertOptions(this.cfg);
    return this.global ? o.globalRopeTheta : o.localRopeTheta;
  }

  private heads(x: Tensor): Tensor {
    return ops.transpose(ops.reshape(x, [0, 0, this.cfg.numHeads, this.headDim]), [0, 2, 1, 3]);
  }

  private rotate(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
    const half = this.headDim / 2;
    const swapped = ops.concat([ops.slice(x, 3, half, this.headDim), ops.slice(x, 3, 0, half)], 3);
    return ops.add(ops.mul(x, cos), ops.mul(swapped, sin));
  }

  /** With `first`, only the first position queries (its rotation is the identity: position 0). */
  forward(ctx: BuildContext, x: Tensor, shared: LayerInputs, first: boolean): Tensor {
    const hidden = this.cfg.hiddenSize;
    const qkv = this.Wqkv.forward(ctx, x); // [batch, seq, q | k | v], heads contiguous in each
    const { cos, sin } = shared.rope.get(this.theta)!;
    const k = this.rotate(this.heads(ops.slice(qkv, 2, hidden, 2 * hidden)), cos, sin);
    const v = this.heads(ops.slice(qkv, 2, 2 * hidden, 3 * hidden));
    let q: Tensor;
    let mask = this.global ? shared.globalMask : shared.localMask;
    if (first) {
      q = this.heads(ops.slice(ops.slice(qkv, 1, 0, 1), 2, 0, hidden));
      if (!this.global) mask = ops.slice(mask, 2, 0, 1);
    } else {
      q = this.rotate(this.heads(ops.slice(qkv, 2, 0, hidden)), cos, sin);
    }
    const scores = ops.add(ops.matmul(q, k, { transB: true, alpha: 1 / Math.sqrt(this.headDim) }), mask);
    const probs = dropout(ctx, ops.softmax(scores, -1), this.cfg.attentionDropout);
    const out = ops.reshape(ops.transpose(ops.matmul(probs, v), [0, 2, 1, 3]), [0, 0, hidden]);
    return dropout(ctx, this.Wo.forward(ctx, out), this.cfg.attentionDropout);
  }
}

/** GeGLU: Wi projects to [input | gate], Wo(dropout(act(input) * gate)). */
export class ModernBertMLP {
  readonly Wi: MaybeBiasLinear;
  readonly Wo: MaybeBiasLinear;
  constructor(
    prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    const o = modernBertOptions(cfg);
    this.Wi = new MaybeBiasLinear(`${prefix}.Wi`, cfg.hiddenSize, 2 * cfg.intermediateSize, o.mlpBias);
    this.Wo = new MaybeBiasLinear(`${prefix}.Wo`, cfg.intermediateSize, cfg.hiddenSize, o.mlpBias);
  }
  forward(ctx: BuildContext, x: Tensor): Tensor {
    const n = this.cfg.intermediateSize;
    const h = this.Wi.forward(ctx, x);
    const last = h.rank - 1;
    const gated = ops.mul(activation(this.cfg.hiddenAct, ops.slice(h, last, 0, n)), ops.slice(h, last, n, 2 * n));
    return this.Wo.forward(ctx, dropout(ctx, gated, this.cfg.hiddenDropout));
  }
}

export class ModernBertEncoderLayer {
  /** Layer 0 has none: its input is the embeddings' norm. */
  readonly attnNorm: MaybeBiasLayerNorm | null;
  readonly attn: ModernBertAttention;
  readonly mlpNorm: MaybeBiasLayerNorm;
  readonly mlp: ModernBertMLP;
  constructor(prefix: string, cfg: EncoderConfig, index: number) {
    const o = modernBertOptions(cfg);
    const norm = (name: string) => new MaybeBiasLayerNorm(`${prefix}.${name}`, cfg.hiddenSize, cfg.layerNormEps, o.normBias);
    this.attnNorm = index === 0 ? null : norm("attn_norm");
    this.attn = new ModernBertAttention(`${prefix}.attn`, cfg, o.globalLayers[index]!);
    this.mlpNorm = norm("mlp_norm");
    this.mlp = new ModernBertMLP(`${prefix}.mlp`, cfg);
  }
  /** With `first`, only the first position goes on (keys and values still come from every position). */
  forward(ctx: BuildContext, x: Tensor, shared: LayerInputs, first: boolean): Tensor {
    const a = this.attn.forward(ctx, this.attnNorm ? this.attnNorm.forward(ctx, x) : x, shared, first);
    const h = ops.add(first ? ops.slice(x, 1, 0, 1) : x, a);
    return ops.add(h, this.mlp.forward(ctx, this.mlpNorm.forward(ctx, h)));
  }
}

export class ModernBertModel {
  readonly embeddings: ModernBertEmbeddings;
  readonly layers: ModernBertEncoderLayer[];
  readonly finalNorm: MaybeBiasLayerNorm;
  // Per graph: the rotary tables (constants, shared by every pass built in that graph).
  private readonly tables = new WeakMap<Graph, Map<number, { cos: Tensor; sin: Tensor }>>();
  // Per attention mask: what the layers share, so a second pass (ROSE's dropout passes) reuses it.
  private readonly shared = new WeakMap<Tensor, LayerInputs>();

  constructor(
    readonly prefix: string,
    readonly cfg: EncoderConfig,
  ) {
    const o = modernBertOptions(cfg);
    if (o.globalLayers.length !== cfg.numLayers) {
      throw new ConfigError(`ModernBERT: ${o.globalLayers.length} layer types for ${cfg.numLayers} layers`);
    }
    if ((cfg.hiddenSize / cfg.numHeads) % 2 !== 0) throw new ConfigError(`ModernBERT: rotary positions need an even head size`);
    this.embeddings = new ModernBertEmbeddings(`${prefix}.embeddings`, cfg);
    this.layers = Array.from({ length: cfg.numLayers }, (_, i) => new ModernBertEncoderLayer(`${prefix}.layers.${i}`, cfg, i));
    this.finalNorm = new MaybeBiasLayerNorm(`${prefix}.final_norm`, cfg.hiddenSize, cfg.layerNormEps, o.normBias);
  }

  private ropeTable(g: Graph, theta: number): { cos: Tensor; sin: Tensor } {
    return cached(
      cached(this.tables, g, () => new Map()),
      theta,
      () => {
        const d = this.cfg.hiddenSize / this.cfg.numHeads;
        const p = this.cfg.maxPositionEmbeddings;
        const { cos, sin } = ropeTables(theta, d, p);
        return { cos: g.constant(cos, [p, d / 2], "float32"), sin: g.constant(sin, [p, d / 2], "float32") };
      },
    );
  }

  private layerInputs(attentionMask: Tensor): LayerInputs {
    const known = this.shared.get(attentionMask);
    if (known) return known;
    const g = attentionMask.graph;
    const pos = ops.arange(attentionMask, 1); // positions 0..seq-1, padding counted
    const rope = new Map<number, { cos: Tensor; sin: Tensor }>();
    for (const layer of this.layers) {
      const theta = layer.attn.theta;
      if (rope.has(theta)) continue;
      const t = this.ropeTable(g, theta);
      const c = ops.gather(t.cos, pos),
        s = ops.gather(t.sin, pos);
      rope.set(theta, {
        cos: ops.unsqueeze(ops.concat([c, c], 1), [0, 1]),
        sin: ops.unsqueeze(ops.concat([ops.neg(s), s], 1), [0, 1]),
      });
    }
    const half = Math.floor(modernBertOptions(this.cfg).localAttention / 2);
    const diff = ops.sub(ops.unsqueeze(pos, [1]), ops.unsqueeze(pos, [0]));
    const inWindow = ops.cast(ops.not(ops.greater(ops.mul(diff, diff), g.scalar(half * half, "int64"))), "float32"); // [seq, seq]
    const keys = ops.unsqueeze(ops.cast(attentionMask, "float32"), [1, 2]); // [batch, 1, 1, seq]
    // One most-negative value where a key is hidden (never two added: -inf would make a fully masked row NaN).
    const localMask = ops.scale(ops.sub(g.scalar(1), ops.mul(inWindow, keys)), MOST_NEGATIVE);
    const out = { rope, globalMask: extendedAttentionMask(attentionMask), localMask };
    this.shared.set(attentionMask, out);
    return out;
  }

  /**
   * The last hidden state (after final_norm) [batch, seq, hidden]; with `queries` the last layer's query
   * rows only: "first" computes that position alone, rows are taken from the full last layer.
   */
  forward(ctx: BuildContext, inputIds: Tensor, attentionMask: Tensor, queries?: LastLayerQueries): Tensor {
    const shared = this.layerInputs(attentionMask);
    let h = this.embeddings.forward(ctx, inputIds);
    const last = this.layers.length - 1;
    this.layers.forEach((layer, i) => {
      h = layer.forward(ctx, h, shared, i === last && queries === "first");
    });
    h = this.finalNorm.forward(ctx, h);
    return queries !== undefined && queries !== "first" ? queryRows(h, queries) : h;
  }
}

/** ModernBertPredictionHead: dense, activation, norm (the classifier's and the masked-LM head's). */
export class ModernBertPredictionHead {
  readonly dense: MaybeBiasLinear;
  readonly norm: MaybeBiasLayerNorm;
  constructor(readonly cfg: EncoderConfig) {
    const o = modernBertOptions(cfg);
    this.dense = new MaybeBiasLinear("head.dense", cfg.hiddenSize, cfg.hiddenSize, o.classifierBias);
    this.norm = new MaybeBiasLayerNorm("head.norm", cfg.hiddenSize, cfg.layerNormEps, o.normBias);
  }
  forward(ctx: BuildContext, h: Tensor): Tensor {
    return this.norm.forward(ctx, activation(modernBertOptions(this.cfg).classifierActivation, this.dense.forward(ctx, h)));
  }
}

/** Pooling ("cls": the first token; "mean": over real tokens), head, dropout, classifier (with bias). */
export class ModernBertClassificationHead {
  readonly firstTokenOnly: boolean;
  readonly head: ModernBertPredictionHead;
  constructor(readonly cfg: EncoderConfig) {
    this.firstTokenOnly = modernBertOptions(cfg).classifierPooling === "cls";
    this.head = new ModernBertPredictionHead(cfg);
  }
  forward(ctx: BuildContext, h: Tensor, attentionMask: Tensor): Tensor {
    let pooled: Tensor;
    if (this.firstTokenOnly) pooled = ops.squeeze(ops.slice(h, 1, 0, 1), [1]);
    else {
      const m = ops.unsqueeze(ops.cast(attentionMask, h.dtype), [-1]); // [batch, seq, 1]
      pooled = ops.div(ops.reduceSum(ops.mul(h, m), [1]), ops.reduceSum(m, [1]));
    }
    const x = dropout(ctx, this.head.forward(ctx, pooled), this.cfg.classifierDropout);
    const w = ctx.scope.get("classifier.weight", [this.cfg.numLabels, this.cfg.hiddenSize]);
    return ops.linear(x, w, ctx.scope.get("classifier.bias", [this.cfg.numLabels]));
  }
}

/** ModernBertForMaskedLM's head: the prediction head, then `decoder` tied to the token embeddings. */
export class ModernBertMaskedLMHead {
  readonly head: ModernBertPredictionHead;
  constructor(readonly cfg: EncoderConfig) {
    this.head = new ModernBertPredictionHead(cfg);
  }
  forward(ctx: BuildContext, h: Tensor, wordEmbeddings: Tensor): Tensor {
    const t = this.head.forward(ctx, h);
    if (!modernBertOptions(this.cfg).decoderBias) return ops.matmul(t, wordEmbeddings, { transB: true });
    return ops.linear(t, wordEmbeddings, ctx.scope.get("decoder.bias", [this.cfg.vocabSize]));
  }
}

/** Encoder layer index of a parameter name (model.layers.N.*), null elsewhere. */
export function modernBertLayerIndex(name: string): number | null {
  const m = /^model\.layers\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}
