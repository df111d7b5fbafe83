// AdamW with ROSE selective updates (the paper's SparseAdamW). With mask m for a tensor (or element):
//   g = grad*m + exp_avg*(1-m);  moments updated with g;  p -= step_size * exp_avg*m / (sqrt(exp_avg_sq)+eps);
//   then decoupled decay p -= lr*wd*p*m.  m = 1 for ineligible tensors, during warm-up, and for "vanilla".
// Which masks: the RoseSelector this optimizer holds (rose.ts, the rule of the paper); this module only
// applies them. Constants are cast to float32 as torch does. Tensor-mask updates run in the WebAssembly SIMD
// kernel (simd.ts), in float32 like torch; the element-mask loop stays in JavaScript, where intermediate
// products stay in float64 (cheaper than Math.fround per op) and every stored value is rounded to float32.
// Both replay the reference within one float32 ulp.
import { ConfigError, RoseError, ShapeError } from "../errors.ts";
import { adamwUpdate, type AdamWConsts } from "./simd.ts";
import { type Granularity, type NamePredicate, type RoseMethod, type RoseOptions, RoseSelector } from "./rose.ts";

export type { RoseMethod } from "./rose.ts";

export interface AdamWOptions {
  /** Learning rate used when step() is not given one. */
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Tensors exempt from weight decay; default: norm parameters (LayerNorm, layer_norm, ModernBERT's *norm) and biases. */
  noDecay?: NamePredicate;
  /** Per-tensor multiplier of the learning rate (and so of the decay), e.g. layer-wise decay; default 1. */
  lrScale?: (name: string) => number;
}

/** AdamW options plus ROSE's (rose.ts; all optional, default vanilla). */
export interface RoseAdamWOptions extends AdamWOptions, Partial<RoseOptions> {}

export interface StepInput {
  params: Map<string, Float32Array>;
  /** Gradients. Parameters without a gradient are skipped, as torch skips grad=None. */
  grads: Map<string, Float32Array>;
  /**
   * Multiplies every gradient before use: the clipping coefficient (see clipCoefficient), folded into the
   * update instead of a separate pass over the gradients. Default 1.
   */
  gradScale?: number;
  lr?: number;
  /** Per eligible tensor, L2 norm of the KL-loss gradient (first-order / ensemble, tensor granularity). */
  klGradNorms?: Map<string, number>;
  /** Per eligible tensor, the KL-loss gradient itself (first-order / ensemble, element granularity). */
  klGrads?: Map<string, Float32Array>;
}

export interface StepInfo {
  /** 1-based index of this update (the largest per-tensor step count). */
  step: number;
  lr: number;
  /**
   * Per eligible tensor: tensor granularity, the mask value selected this step (computed, and logged, even
   * during warm-up, as the reference does); element granularity, the mean element mask (only once applied).
   * Empty for "vanilla".
   */
  mask: Map<string, number>;
  /** Tensor granularity, first-order / ensemble, when klGradNorms were given: the 0/1 first-order mask. */
  firstMask?: Map<string, number>;
  /** Tensor granularity, second-order / ensemble, once moments exist: the second-order saliency. */
  secondSaliency?: Map<string, number>;
  /** Whether a mask was applied to at least one tensor (false during warm-up and for "vanilla"). */
  maskApplied: boolean;
  /** Fraction of parameter elements given a non-zero mask this step (1 when nothing is masked). */
  fractionUpdated: number;
}

/** Optimizer state. state() returns the live arrays (no copy); loadState() adopts the arrays it is given. */
export interface OptimizerState {
  steps: Map<string, number>;
  expAvg: Map<string, Float32Array>;
  expAvgSq: Map<string, Float32Array>;
}

export function defaultNoDecay(name: string): boolean {
  return name.includes("LayerNorm") || name.includes("layer_norm") || /(^|[._])norm\.weight$/.test(name) || name.endsWith("bias");
}

/** Iteration order of the reference: the weight-decay group, then the rest, each in the map's order. */
export function paramOrder(names: Iterable<string>, noDecay: NamePredicate = defaultNoDecay): string[] {
  const decay: string[] = [];
  const rest: string[] = [];
  for (const n of names) (noDecay(n) ? rest : decay).push(n);
  return decay.concat(rest);
}

const f32 = Math.fround;

/** Update with a per-element mask: m = table[2*second[i] + first[i]]. */
function updateElementMask(
  p: Float32Array,
  grad: Float32Array,
  ea: Float32Array,
  eas: Float32Array,
  first: Uint8Array,
  second: Uint8Array,
  table: Float64Array,
  k: AdamWConsts,
): void {
  const { b1, c1, b2, c2, eps, negStep, negDecay } = k;
  for (let i = 0; i < p.length; i++) {
    const m = table[(second[i]! << 1) | first[i]!]!;
    const e = ea[i]!;
    const g = f32(grad[i]! * m + e * (1 - m));
    const a = f32(b1 * e + c1 * g);
    const v = f32(b2 * eas[i]! + c2 * g * g);
    ea[i] = a;
    eas[i] = v;
    const pi = f32(p[i]! + negStep * ((a * m) / (Math.sqrt(v) + eps)));
    p[i] = pi + negDecay * (pi * m);
  }
}

export class AdamW {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly noDecay: NamePredicate;
  private readonly lrScale: ((name: string) => number) | null;
  private readonly lrScales = new Map<string, number>();

  private steps = new Map<string, number>();
  private expAvg = new Map<string, Float32Array>();
  private expAvgSq = new Map<string, Float32Array>();
  private stepCount = 0;
  private orderCache: { params: Map<string, Float32Array>; size: number; order: string[]; selected: string[] } | null = null;

  /** `selector`: ROSE's selection, whose masks each step applies; none: plain AdamW. */
  constructor(
    opts: AdamWOptions,
    readonly selector: RoseSelector | null = null,
  ) {
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.noDecay = opts.noDecay ?? defaultNoDecay;
    this.lrScale = opts.lrScale ?? null;
    if (!(Number.isFinite(this.lr) && this.lr >= 0))
      throw new ConfigError(`lr (learning rate) must be a finite number >= 0, got ${this.lr}`);
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new ConfigError(`betas must be in [0, 1), got ${b1}, ${b2}`);
    if (!(this.eps >= 0)) throw new ConfigError(`eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new ConfigError(`weightDecay must be >= 0, got ${this.weightDecay}`, ["weightDecay"]);
  }

  get method(): RoseMethod {
    return this.selector?.method ?? "vanilla";
  }

  /** Number of updates made so far (restored by loadState). */
  get stepsDone(): number {
    return this.stepCount;
  }

  /** Whether the next step() will apply masks, i.e. whether the trainer must supply the KL gradients. */
  willApplyMask(): boolean {
    return this.selector?.applies(this.stepCount + 1) ?? false;
  }

  private scaleOf(name: string): number {
    if (!this.lrScale) return 1;
    let s = this.lrScales.get(name);
    if (s === undefined) {
      s = this.lrScale(name);
      if (!(Number.isFinite(s) && s >= 0)) throw new ConfigError(`lrScale(${name}) must be a finite number >= 0, got ${s}`);
      this.lrScales.set(name, s);
    }
    return s;
  }

  isEligible(name: string): boolean {
    return this.selector?.eligible(name) ?? false;
  }

  private orderFor(params: Map<string, Float32Array>, grads: Map<string, Float32Array>): { order: string[]; selected: string[] } {
    for (const n of grads.keys()) if (!params.has(n)) throw new RoseError(`optimizer: gradient for unknown parameter ${n}`);
    const c = this.orderCache;
    if (c && c.params === params && c.size === params.size && c.order.every((n) => grads.has(n)) && c.order.length === grads.size) {
      return c;
    }
    const order = paramOrder(
      [...params.keys()].filter((n) => grads.has(n)),
      this.noDecay,
    );
    const sel = this.selector;
    const selected = !sel || sel.method === "vanilla" ? [] : order.filter((n) => sel.eligible(n));
    this.orderCache = { params, size: params.size, order, selected };
    return this.orderCache;
  }

  /** One optimizer update, in place on params; moments are created on first sight of a parameter. */
  step(input: StepInput): StepInfo {
    const lr = input.lr ?? this.lr;
    if (!(Number.isFinite(lr) && lr >= 0)) throw new ConfigError(`lr (learning rate) must be a finite number >= 0, got ${lr}`);
    const { params, grads } = input;
    const scale = input.gradScale ?? 1;
    if (!(Number.isFinite(scale) && scale > 0))
      throw new ConfigError(`gradScale (the gradient scale) must be a finite number > 0, got ${scale}`);
    const { order, selected } = this.orderFor(params, grads);
    this.checkShapes(order, params, grads);
    const scaledInPlace = this.scaleForSelection(selected, grads, scale);
    const info: StepInfo = { step: this.stepCount + 1, lr, mask: new Map(), maskApplied: false, fractionUpdated: 1 };
    const tensorMask = this.tensorMasks(input, selected, info);

    const [b1, b2] = this.betas;
    const k: AdamWConsts = { b1: f32(b1), c1: f32(1 - b1), b2: f32(b2), c2: f32(1 - b2), eps: f32(this.eps), negStep: 0, negDecay: 0 };
    let total = 0;
    let live = 0;
    let maxStep = 0;
    for (const n of order) {
      const t = (this.steps.get(n) ?? 0) + 1;
      this.steps.set(n, t);
      maxStep = Math.max(maxStep, t);
      const s = this.scaleOf(n);
      k.negStep = f32(-((lr * s * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t)));
      k.negDecay = this.noDecay(n) ? 0 : f32(-lr * s * this.weightDecay);
      total += params.get(n)!.length;
      live += this.updateTensor(n, t, params.get(n)!, grads.get(n)!, scaledInPlace.has(n) ? 1 : scale, tensorMask, input, info, k);
    }
    this.stepCount = Math.max(this.stepCount + 1, maxStep);
    info.step = this.stepCount;
    info.fractionUpdated = total === 0 ? 1 : live / total;
    return info;
  }

  private checkShapes(order: readonly string[], params: Map<string, Float32Array>, grads: Map<string, Float32Array>): void {
    for (const n of order) {
      const p = params.get(n)!;
      const g = grads.get(n)!;
      if (g.length !== p.length)
        throw new ShapeError(`optimizer: gradient for ${n} has ${g.length} elements, the parameter has ${p.length}`);
      const m = this.expAvg.get(n);
      if (m && (m.length !== p.length || this.expAvgSq.get(n)?.length !== p.length)) {
        throw new ShapeError(`optimizer: state for ${n} has ${m.length} elements, the parameter has ${p.length}`);
      }
    }
  }

  /**
   * Selection that reads the gradients themselves (second-order norms, element masks) sees them scaled, as
   * after torch's in-place clipping; everything else gets the scale inside the update. Returns the tensors
   * scaled here.
   */
  private scaleForSelection(selected: readonly string[], grads: Map<string, Float32Array>, scale: number): Set<string> {
    const scaledInPlace = new Set<string>();
    if (scale === 1 || !this.selector?.readsGradients) return scaledInPlace;
    for (const n of selected) {
      const g = grads.get(n)!;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
      scaledInPlace.add(n);
    }
    return scaledInPlace;
  }

  /** Tensor granularity: each selected tensor's mask this step (recorded in `info`), else null. */
  private tensorMasks(input: StepInput, selected: readonly string[], info: StepInfo): Map<string, number> | null {
    const sel = this.selector;
    const chosen = sel?.tensors(selected, {
      klGradNorms: input.klGradNorms,
      grads: input.grads,
      expAvg: this.expAvg,
      beta1: this.betas[0],
      applying: this.willApplyMask(),
      step: info.step,
    });
    if (!chosen) return null;
    if (chosen.firstMask) info.firstMask = new Map(selected.map((n, i) => [n, chosen.firstMask![i]!]));
    if (chosen.secondSaliency) info.secondSaliency = new Map(selected.map((n, i) => [n, chosen.secondSaliency![i]!]));
    info.mask = new Map(selected.map((n, i) => [n, chosen.mask[i]!]));
    return info.mask;
  }

  /** Updates one tensor (its `t`-th step) and returns how many of its elements got a non-zero mask. */
  private updateTensor(
    n: string,
    t: number,
    p: Float32Array,
    grad: Float32Array,
    gradScale: number,
    tensorMask: Map<string, number> | null,
    input: StepInput,
    info: StepInfo,
    k: AdamWConsts,
  ): number {
    let ea = this.expAvg.get(n);
    let eas = this.expAvgSq.get(n);
    const hadState = ea !== undefined;
    if (!ea || !eas) {
      ea = new Float32Array(p.length);
      eas = new Float32Array(p.length);
      this.expAvg.set(n, ea);
      this.expAvgSq.set(n, eas);
    }
    const sel = this.selector;
    if (!sel?.applies(t) || !sel.eligible(n)) {
      adamwUpdate(p, grad, ea, eas, 1, gradScale, k);
      return p.length;
    }
    info.maskApplied = true;
    if (tensorMask) {
      const m = tensorMask.get(n)!;
      adamwUpdate(p, grad, ea, eas, m, gradScale, k);
      return m > 0 ? p.length : 0;
    }
    if (gradScale !== 1) for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * gradScale;
    const e = sel.elements(n, { grad, expAvg: hadState ? ea : null, klGrad: input.klGrads?.get(n), beta1: this.betas[0] });
    updateElementMask(p, grad, ea, eas, e.first, e.second, sel.table, k);
    info.mask.set(n, e.mean);
    return e.live;
  }

  /** The live state arrays (not copies): save them before the next step() changes them. */
  state(): OptimizerState {
    return { steps: new Map(this.steps), expAvg: new Map(this.expAvg), expAvgSq: new Map(this.expAvgSq) };
  }

  /** Restores a state saved by state(); the arrays are adopted, not copied. */
  loadState(s: OptimizerState): void {
    for (const [n, m] of s.expAvg) {
      const v = s.expAvgSq.get(n);
      const t = s.steps.get(n);
      if (!v) throw new RoseError(`optimizer state: ${n} has exp_avg but no exp_avg_sq`);
      if (v.length !== m.length) throw new ShapeError(`optimizer state: ${n} has ${m.length} exp_avg and ${v.length} exp_avg_sq elements`);
      if (t === undefined || !Number.isInteger(t) || t < 1) throw new RoseError(`optimizer state: ${n} has no valid step count`);
    }
    if (s.expAvgSq.size !== s.expAvg.size) throw new RoseError("optimizer state: exp_avg and exp_avg_sq name different tensors");
    this.steps = new Map([...s.steps].filter(([n]) => s.expAvg.has(n)));
    this.expAvg = new Map(s.expAvg);
    this.expAvgSq = new Map(s.expAvgSq);
    this.stepCount = Math.max(0, ...this.steps.values());
    this.orderCache = null;
  }
}

/** AdamW with ROSE's selection built from its options (vanilla AdamW by default). */
export class RoseAdamW extends AdamW {
  readonly granularity: Granularity;
  constructor(opts: RoseAdamWOptions) {
    super(opts, new RoseSelector(opts));
    this.granularity = this.selector!.options.granularity;
  }
}
