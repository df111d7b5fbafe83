// Building blocks shared by the model files: parameters are declared by their Hugging Face names, once
// per graph, so several forward passes built in one graph (ROSE's two dropout passes) share them.
import type { Graph, Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";
import { ConfigError, ShapeError } from "../errors.ts";

/** Declares each named parameter once per graph and records its shape. */
export class ParamScope {
  readonly tensors = new Map<string, Tensor>();
  constructor(readonly graph: Graph) {}

  get(name: string, shape: number[]): Tensor {
    let t = this.tensors.get(name);
    if (!t) {
      t = this.graph.param(name, shape);
      this.tensors.set(name, t);
    } else if (t.shape.join(",") !== shape.join(",")) {
      throw new ShapeError(`parameter ${name} declared with shapes [${t.shape}] and [${shape}]`);
    }
    return t;
  }
}

/** How a forward pass is built: which scope holds the parameters and whether dropout is on. */
export interface BuildContext {
  scope: ParamScope;
  /** Training mode: dropout on. */
  train: boolean;
  /** Overrides the config's hidden/attention dropout (ROSE's --kl-dropout). */
  dropoutOverride?: number;
}

export function dropout(ctx: BuildContext, x: Tensor, p: number): Tensor {
  return ops.dropout(x, dropProb(ctx, p));
}

/** The drop probability in effect for a dropout site, or 0 when dropout is off. */
export function dropProb(ctx: BuildContext, p: number): number {
  return ctx.train ? (ctx.dropoutOverride ?? p) : 0;
}

/** nn.Linear: y = x W^T + b with W stored [out, in] as PyTorch stores it. */
export class Linear {
  constructor(
    readonly prefix: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {}
  /**
   * With `dropoutP`: dropout(linear(x)), the pattern of every residual branch: a dropout site, whose
   * probability the context may override. Without it there is no site, override or not (q/k/v, the
   * intermediate dense, heads: Hugging Face has no dropout there).
   */
  forward(ctx: BuildContext, x: Tensor, dropoutP?: number): Tensor {
    const w = ctx.scope.get(`${this.prefix}.weight`, [this.outFeatures, this.inFeatures]);
    const b = ctx.scope.get(`${this.prefix}.bias`, [this.outFeatures]);
    const y = ops.linear(x, w, b);
    return dropoutP === undefined ? y : dropout(ctx, y, dropoutP);
  }
}

export class LayerNorm {
  constructor(
    readonly prefix: string,
    readonly size: number,
    readonly eps: number,
  ) {}
  forward(ctx: BuildContext, x: Tensor): Tensor {
    const w = ctx.scope.get(`${this.prefix}.weight`, [this.size]);
    const b = ctx.scope.get(`${this.prefix}.bias`, [this.size]);
    return ops.layerNorm(x, w, b, this.eps);
  }
}

export class Embedding {
  constructor(
    readonly prefix: string,
    readonly num: number,
    readonly dim: number,
  ) {}
  weight(ctx: BuildContext): Tensor {
    return ctx.scope.get(`${this.prefix}.weight`, [this.num, this.dim]);
  }
  forward(ctx: BuildContext, ids: Tensor): Tensor {
    return ops.gather(this.weight(ctx), ids);
  }
}

export function activation(name: string, x: Tensor): Tensor {
  switch (name) {
    case "gelu":
      return ops.gelu(x);
    case "relu":
      return ops.relu(x);
    case "tanh":
      return ops.tanh(x);
    default:
      throw new ConfigError(`unsupported activation ${name} (supported: gelu, relu, tanh)`);
  }
}

/** [batch, seq] 0/1 mask -> [batch, 1, 1, seq] additive mask with the most negative float32. */
export function extendedAttentionMask(mask: Tensor): Tensor {
  const m = ops.cast(mask, "float32");
  const inv = ops.sub(mask.graph.scalar(1), m);
  return ops.unsqueeze(ops.scale(inv, -3.4028234663852886e38), [1, 2]);
}

/** The first position, keeping the axis: [batch, seq, hidden] -> [batch, 1, hidden]. */
export function firstPosition(x: Tensor): Tensor {
  return ops.slice(x, 1, 0, 1);
}

/**
 * The positions the last layer computes, when its head reads only some (keys and values still come from
 * every position): "first" (classification heads read the first token) or rows, an int64 [batch, slots]
 * tensor of flat indices into [batch * seq] whose row b holds positions of sequence b (masked LM: the
 * predicted positions, padded by repeating one of them). Its output is then [batch, 1 or slots, hidden].
 */
export type LastLayerQueries = "first" | Tensor;

/** The query rows of `x` [batch, seq, hidden] that `queries` selects. */
export function queryRows(x: Tensor, queries: LastLayerQueries): Tensor {
  return queries === "first" ? firstPosition(x) : ops.gather(ops.reshape(x, [-1, x.shape[x.rank - 1] as number]), queries);
}

/** The hidden state of the first token: [batch, seq, hidden] -> [batch, hidden]. */
export function firstToken(x: Tensor): Tensor {
  return ops.squeeze(firstPosition(x), [1]);
}
