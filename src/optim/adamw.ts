// AdamW with ROSE selective updates (the paper's SparseAdamW). With mask m for a tensor (or element):
//   g = grad*m + exp_avg*(1-m);  moments updated with g;  p -= step_size * exp_avg*m / (sqrt(exp_avg_sq)+eps);
//   then decoupled decay p -= lr*wd*p*m.  m = 1 for ineligible tensors, during warm-up, and for "vanilla".
// Constants are cast to float32 as torch does. Tensor-mask updates run in the WebAssembly SIMD kernel
// (simd.ts), in float32 like torch; the element-mask loop stays in JavaScript, where intermediate products
// stay in float64 (cheaper than Math.fround per op) and every stored value is rounded to float32. Both
// replay the reference within one float32 ulp.
import { ConfigError, RoseError, ShapeError } from "../errors.ts";
import { adamwUpdate, type AdamWConsts } from "./simd.ts";
import {
  bandMask,
  checkPercents,
  elementBandMask,
  elementFirstSaliency,
  elementSecondSaliency,
  eligibleFrom,
  ensembleMask,
  secondSaliencyValue,
  torchNorm32,
  type Granularity,
  type NamePredicate,
} from "./select.ts";

export type RoseMethod = "vanilla" | "rose-first" | "rose-second" | "rose-ensemble";

export interface RoseAdamWOptions {
  /** Learning rate used when step() is not given one. */
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Tensors exempt from weight decay; default: LayerNorm/layer_norm parameters and biases. */
  noDecay?: NamePredicate;
  method?: RoseMethod;
  /** Band percentiles in [0, 100]; defaults 100 and 0 (keep everything), as in the reference. */
  upper?: number;
  lower?: number;
  /** Weight of the first-order mask in the ensemble. */
  gamma?: number;
  /** Masks apply only once a tensor's step count exceeds this. */
  numWarmupSteps?: number;
  granularity?: Granularity;
  /** Tensors eligible for selection; default: name contains "layer" and "weight". */
  eligible?: RegExp | string | NamePredicate;
}

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
  return name.includes("LayerNorm") || name.includes("layer_norm") || name.endsWith("bias");
}

/** Iteration order of the reference: the weight-decay group, then the rest, each in the map's order. */
export function paramOrder(names: Iterable<string>, noDecay: NamePredicate = defaultNoDecay): string[] {
  const decay: string[] = [];
  const rest: string[] = [];
  for (const n of names) (noDecay(n) ? rest : decay).push(n);
  return decay.concat(rest);
}

const METHODS: readonly RoseMethod[] = ["vanilla", "rose-first", "rose-second", "rose-ensemble"];
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

export class RoseAdamW {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly method: RoseMethod;
  readonly upper: number;
  readonly lower: number;
  readonly gamma: number;
  readonly numWarmupSteps: number;
  readonly granularity: Granularity;
  private readonly noDecay: NamePredicate;
  private readonly eligible: NamePredicate;
  private readonly useFirst: boolean;
  private readonly useSecond: boolean;

  private steps = new Map<string, number>();
  private expAvg = new Map<string, Float32Array>();
  private expAvgSq = new Map<string, Float32Array>();
  private stepCount = 0;

  private orderCache: { params: Map<string, Float32Array>; size: number; order: string[]; selected: string[] } | null = null;
  // Element-granularity scratch, sized to the largest eligible tensor and reused every step.
  private salBuf = new Float32Array(0);
  private firstBits = new Uint8Array(0);
  private secondBits = new Uint8Array(0);

  constructor(opts: RoseAdamWOptions) {
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.method = opts.method ?? "vanilla";
    this.upper = opts.upper ?? 100;
    this.lower = opts.lower ?? 0;
    this.gamma = opts.gamma ?? 0.5;
    this.numWarmupSteps = opts.numWarmupSteps ?? 0;
    this.granularity = opts.granularity ?? "tensor";
    this.noDecay = opts.noDecay ?? defaultNoDecay;
    this.eligible = eligibleFrom(opts.eligible);

    if (!METHODS.includes(this.method)) throw new ConfigError(`unknown optimizer method ${JSON.stringify(this.method)} (expected ${METHODS.join(", ")})`);
    if (this.granularity !== "tensor" && this.granularity !== "element") {
      throw new ConfigError(`unknown selection granularity ${JSON.stringify(this.granularity)} (expected tensor or element)`);
    }
    if (!(Number.isFinite(this.lr) && this.lr >= 0)) throw new ConfigError(`learning rate must be a finite number >= 0, got ${this.lr}`);
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new ConfigError(`betas must be in [0, 1), got ${b1}, ${b2}`);
    if (!(this.eps >= 0)) throw new ConfigError(`eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new ConfigError(`weight decay must be >= 0, got ${this.weightDecay}`);
    if (!(this.gamma >= 0 && this.gamma <= 1)) throw new ConfigError(`gamma must be in [0, 1], got ${this.gamma}`);
    if (!(Number.isInteger(this.numWarmupSteps) && this.numWarmupSteps >= 0)) {
      throw new ConfigError(`ROSE warm-up steps must be an integer >= 0, got ${this.numWarmupSteps}`);
    }
    checkPercents(this.lower, this.upper);
    this.useFirst = this.method === "rose-first" || this.method === "rose-ensemble";
    this.useSecond = this.method === "rose-second" || this.method === "rose-ensemble";
  }

  /** Number of updates made so far (restored by loadState). */
  get stepsDone(): number {
    return this.stepCount;
  }

  /** Whether the next step() will apply masks, i.e. whether the trainer must supply the KL gradients. */
  willApplyMask(): boolean {
    return this.method !== "vanilla" && this.stepCount + 1 > this.numWarmupSteps;
  }

  /** Whether the next step() needs klGradNorms / klGrads (first-order or ensemble, masks applied). */
  needsKl(): boolean {
    return this.useFirst && this.willApplyMask();
  }

  isEligible(name: string): boolean {
    return this.eligible(name);
  }

  private orderFor(params: Map<string, Float32Array>, grads: Map<string, Float32Array>): { order: string[]; selected: string[] } {
    for (const n of grads.keys()) if (!params.has(n)) throw new RoseError(`optimizer: gradient for unknown parameter ${n}`);
    const c = this.orderCache;
    if (c && c.params === params && c.size === params.size && c.order.every((n) => grads.has(n)) && c.order.length === grads.size) {
      return c;
    }
    const order = paramOrder([...params.keys()].filter((n) => grads.has(n)), this.noDecay);
    const selected = this.method === "vanilla" ? [] : order.filter((n) => this.eligible(n));
    this.orderCache = { params, size: params.size, order, selected };
    return this.orderCache;
  }

  /** Tensor-granularity masks for `selected`, or null for vanilla. */
  private tensorMasks(selected: string[], input: StepInput, info: StepInfo, applying: boolean): Float32Array | null {
    if (this.method === "vanilla" || this.granularity !== "tensor" || selected.length === 0) return null;
    let first: Float32Array | null = null;
    if (this.useFirst) {
      const kl = input.klGradNorms;
      if (kl) {
        const sal = new Float32Array(selected.length);
        selected.forEach((n, i) => {
          const v = kl.get(n);
          if (v === undefined) throw new RoseError(`optimizer: klGradNorms has no entry for eligible tensor ${n}`);
          sal[i] = v;
        });
        first = bandMask(sal, this.lower, this.upper);
        info.firstMask = new Map(selected.map((n, i) => [n, first![i]!]));
      } else if (applying) {
        throw new RoseError(`optimizer: ${this.method} needs klGradNorms once warm-up is over (step ${info.step})`);
      } else {
        first = new Float32Array(selected.length).fill(1); // warm-up: not applied, nothing to select with
      }
    }
    let second: Float32Array | null = null;
    if (this.useSecond) {
      const [b1] = this.betas;
      let sal: Float32Array | null = new Float32Array(selected.length);
      for (let i = 0; i < selected.length; i++) {
        const n = selected[i]!;
        const m = this.expAvg.get(n);
        if (!m) {
          sal = null; // no moments yet: all ones, as the reference
          break;
        }
        sal[i] = secondSaliencyValue(torchNorm32(input.grads.get(n)!), torchNorm32(m), b1);
      }
      if (sal) {
        second = bandMask(sal, this.lower, this.upper);
        info.secondSaliency = new Map(selected.map((n, i) => [n, sal![i]!]));
      } else {
        second = new Float32Array(selected.length).fill(1);
      }
    }
    const mask = first && second ? ensembleMask(first, second, this.gamma) : (first ?? second)!;
    info.mask = new Map(selected.map((n, i) => [n, mask[i]!]));
    return mask;
  }

  private ensureScratch(n: number): void {
    if (this.salBuf.length >= n) return;
    this.salBuf = new Float32Array(n);
    this.firstBits = new Uint8Array(n);
    this.secondBits = new Uint8Array(n);
  }

  /**
   * Element masks for one eligible tensor into firstBits/secondBits (bits of unused orders are set to 1);
   * returns [elements with a non-zero combined mask, mean combined mask].
   */
  private elementMasks(name: string, grad: Float32Array, ea: Float32Array | null, input: StepInput, table: Float64Array): [number, number] {
    const n = grad.length;
    this.ensureScratch(n);
    const sal = this.salBuf.subarray(0, n);
    const first = this.firstBits.subarray(0, n);
    const second = this.secondBits.subarray(0, n);
    if (this.useFirst) {
      const kl = input.klGrads?.get(name);
      if (!kl) throw new RoseError(`optimizer: ${this.method} with element granularity needs klGrads for ${name}`);
      if (kl.length !== n) throw new ShapeError(`optimizer: klGrads for ${name} has ${kl.length} elements, the parameter has ${n}`);
      elementFirstSaliency(kl, sal);
      elementBandMask(sal, n, this.lower, this.upper, first);
    } else first.fill(1);
    if (this.useSecond && ea) {
      elementSecondSaliency(grad, ea, this.betas[0], sal);
      elementBandMask(sal, n, this.lower, this.upper, second);
    } else second.fill(1);
    let live = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const m = table[(second[i]! << 1) | first[i]!]!;
      sum += m;
      if (m > 0) live++;
    }
    return [live, sum / n];
  }

  /** One optimizer update, in place on params; moments are created on first sight of a parameter. */
  step(input: StepInput): StepInfo {
    const lr = input.lr ?? this.lr;
    if (!(Number.isFinite(lr) && lr >= 0)) throw new ConfigError(`learning rate must be a finite number >= 0, got ${lr}`);
    const { params, grads } = input;
    const scale = input.gradScale ?? 1;
    if (!(Number.isFinite(scale) && scale > 0)) throw new ConfigError(`gradient scale must be a finite number > 0, got ${scale}`);
    const { order, selected } = this.orderFor(params, grads);
    for (const n of order) {
      const p = params.get(n)!;
      const g = grads.get(n)!;
      if (g.length !== p.length) throw new ShapeError(`optimizer: gradient for ${n} has ${g.length} elements, the parameter has ${p.length}`);
      const m = this.expAvg.get(n);
      if (m && (m.length !== p.length || this.expAvgSq.get(n)?.length !== p.length)) {
        throw new ShapeError(`optimizer: state for ${n} has ${m.length} elements, the parameter has ${p.length}`);
      }
    }

    // Selection that reads the gradients themselves (second-order norms, element masks) sees them scaled, as
    // after torch's in-place clipping; everything else gets the scale inside the update.
    const scaledInPlace = new Set<string>();
    if (scale !== 1 && this.method !== "vanilla" && (this.useSecond || this.granularity === "element")) {
      for (const n of selected) {
        const g = grads.get(n)!;
        for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
        scaledInPlace.add(n);
      }
    }
    const info: StepInfo = { step: this.stepCount + 1, lr, mask: new Map(), maskApplied: false, fractionUpdated: 1 };
    const applying = this.willApplyMask();
    const tensorMask = this.tensorMasks(selected, input, info, applying);
    const maskIndex = new Map<string, number>();
    if (tensorMask) selected.forEach((n, i) => maskIndex.set(n, i));

    const [b1, b2] = this.betas;
    const k: AdamWConsts = { b1: f32(b1), c1: f32(1 - b1), b2: f32(b2), c2: f32(1 - b2), eps: f32(this.eps), negStep: 0, negDecay: 0 };
    const negDecay = f32(-lr * this.weightDecay);
    // Element mask value for index (second bit << 1 | first bit); bits of an unused order are always 1.
    const table = new Float64Array(4);
    for (let s = 0; s < 2; s++) {
      for (let f = 0; f < 2; f++) {
        table[(s << 1) | f] = this.useFirst && this.useSecond ? f32(f32(f32(1 - this.gamma) * s) + f32(f32(this.gamma) * f)) : s * f;
      }
    }

    let total = 0;
    let live = 0;
    let maxStep = 0;
    for (const n of order) {
      const p = params.get(n)!;
      const grad = grads.get(n)!;
      let ea = this.expAvg.get(n);
      let eas = this.expAvgSq.get(n);
      const hadState = ea !== undefined;
      if (!ea || !eas) {
        ea = new Float32Array(p.length);
        eas = new Float32Array(p.length);
        this.expAvg.set(n, ea);
        this.expAvgSq.set(n, eas);
      }
      const t = (this.steps.get(n) ?? 0) + 1;
      this.steps.set(n, t);
      maxStep = Math.max(maxStep, t);
      k.negStep = f32(-((lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t)));
      k.negDecay = this.noDecay(n) ? 0 : negDecay;
      total += p.length;

      const apply = this.method !== "vanilla" && t > this.numWarmupSteps && this.eligible(n);
      const gs = scaledInPlace.has(n) ? 1 : scale;
      if (!apply) {
        adamwUpdate(p, grad, ea, eas, 1, gs, k);
        live += p.length;
      } else if (this.granularity === "tensor") {
        const m = tensorMask![maskIndex.get(n)!]!;
        adamwUpdate(p, grad, ea, eas, m, gs, k);
        if (m > 0) live += p.length;
        info.maskApplied = true;
      } else {
        if (gs !== 1) for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * gs;
        const [kept, mean] = this.elementMasks(n, grad, hadState ? ea : null, input, table);
        updateElementMask(p, grad, ea, eas, this.firstBits, this.secondBits, table, k);
        live += kept;
        info.mask.set(n, mean);
        info.maskApplied = true;
      }
    }
    this.stepCount = Math.max(this.stepCount + 1, maxStep);
    info.step = this.stepCount;
    info.fractionUpdated = total === 0 ? 1 : live / total;
    return info;
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
