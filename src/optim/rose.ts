// ROSE, Robust Selective Fine-tuning (Jiang et al., 2022): the whole rule of the paper in one module.
//
// Each update may touch only the parameters whose saliency lies in a band [quantile(lower%),
// quantile(upper%)] over the eligible tensors (or, at element granularity, over a tensor's elements):
//   first order  (rose-first):   saliency = |grad of the symmetric KL between two dropout passes|
//                                (per tensor: its L2 norm);
//   second order (rose-second):  saliency = |(1-beta1) * |g| / |exp_avg| - 1|, from the gradient and the
//                                first moment before this step (per tensor: of their L2 norms);
//   ensemble     (rose-ensemble): mask = (1-gamma) * second-order mask + gamma * first-order mask.
// Masks apply only to eligible tensors (by default names with "layer" and "weight") and only once a
// tensor's step count exceeds the warm-up. The optimizer (adamw.ts) applies the masks this module selects;
// the training step (train/step.ts) computes the signals `stepNeeds` asks for.
// Everything that decides a mask follows torch's float32 arithmetic, so masks agree with the reference.
import { withDefaults } from "../defaults.ts";
import { ConfigError, RoseError, ShapeError } from "../errors.ts";
import { bandMask, elementBandMask, torchNorm32 } from "./select.ts";

export type RoseMethod = "vanilla" | "rose-first" | "rose-second" | "rose-ensemble";
export type Granularity = "tensor" | "element";
export type NamePredicate = (name: string) => boolean;

/** The method table: which saliencies each method selects with. */
export const METHODS: Readonly<Record<RoseMethod, { firstOrder: boolean; secondOrder: boolean }>> = {
  vanilla: { firstOrder: false, secondOrder: false },
  "rose-first": { firstOrder: true, secondOrder: false },
  "rose-second": { firstOrder: false, secondOrder: true },
  "rose-ensemble": { firstOrder: true, secondOrder: true },
};
export const METHOD_NAMES = Object.keys(METHODS) as RoseMethod[];
export const GRANULARITIES: readonly Granularity[] = ["tensor", "element"];

/**
 * ROSE's options in a training run (fine-tuning, pre-training, the demo, a sweep's trials): the selection
 * rule, the tensors it may mask and the dropout of the two passes the first order takes. The rule's warm-up
 * is the run's learning-rate warm-up.
 */
export interface RoseTrainOptions {
  method: RoseMethod;
  /** Band percentiles in [0, 100]: an update touches the tensors (or elements) whose saliency lies between them. */
  upper: number;
  lower: number;
  /** Weight of the first-order mask in the ensemble. */
  gamma: number;
  granularity: Granularity;
  /** Tensors eligible for selection; default: name contains "layer" and "weight". */
  eligible?: RegExp | string | NamePredicate;
  /** Dropout of the two forward passes (first order, ensemble; R-Drop's too). */
  klDropout: number;
}

/** The optimizer's ROSE options: the rule, and the step count after which its masks apply. */
export interface RoseOptions extends Omit<RoseTrainOptions, "klDropout"> {
  /** Masks apply only once a tensor's step count exceeds this. */
  numWarmupSteps: number;
}

/**
 * ROSE's defaults, the one table: the library (optimizer, fine-tuning, pre-training), every command and
 * their flags read it. A command that wants another value passes it as its own setting (the demo's upper).
 */
export const ROSE_DEFAULTS: Readonly<Omit<RoseTrainOptions, "eligible">> = {
  method: "vanilla",
  upper: 70,
  lower: 0,
  gamma: 0.5,
  granularity: "tensor",
  klDropout: 0.1,
};

/** An options type given in part: any of its own fields, and any of its ROSE group's. */
export type WithPartialRose<T extends { rose: RoseTrainOptions }> = Partial<Omit<T, "rose">> & { rose?: Partial<RoseTrainOptions> };

/** ROSE's options given in part (undefined fields too), completed from ROSE_DEFAULTS. */
export function withRoseDefaults(given: Partial<RoseTrainOptions> = {}): RoseTrainOptions {
  return withDefaults<RoseTrainOptions>(ROSE_DEFAULTS, given);
}

/**
 * The one validation of ROSE's rule. `at` prefixes the option names in errors, so that they read as the
 * caller's user spells them: "" for the optimizer's flat options, "rose." for a training run's group.
 */
export function validateRoseOptions(o: RoseOptions, at = ""): void {
  const n = (k: keyof RoseOptions) => `${at}${k}`;
  if (!METHOD_NAMES.includes(o.method))
    throw new ConfigError(`${n("method")} must be one of ${METHOD_NAMES.join(", ")}, got ${JSON.stringify(o.method)}`, [n("method")]);
  if (!GRANULARITIES.includes(o.granularity)) {
    throw new ConfigError(`${n("granularity")} must be ${GRANULARITIES.join(" or ")}, got ${JSON.stringify(o.granularity)}`, [
      n("granularity"),
    ]);
  }
  for (const k of ["lower", "upper"] as const) {
    if (!(o[k] >= 0 && o[k] <= 100)) throw new ConfigError(`ROSE band: ${n(k)} percentile must be in [0, 100], got ${o[k]}`, [n(k)]);
  }
  if (o.lower > o.upper) {
    throw new ConfigError(`ROSE band: ${n("lower")} percentile ${o.lower} is above ${n("upper")} percentile ${o.upper}`, [
      n("lower"),
      n("upper"),
    ]);
  }
  if (!(o.gamma >= 0 && o.gamma <= 1)) throw new ConfigError(`${n("gamma")} must be in [0, 1], got ${o.gamma}`, [n("gamma")]);
  if (!(Number.isInteger(o.numWarmupSteps) && o.numWarmupSteps >= 0)) {
    throw new ConfigError(`${n("numWarmupSteps")} (ROSE warm-up) must be an integer >= 0, got ${o.numWarmupSteps}`, [n("numWarmupSteps")]);
  }
  eligibleFrom(o.eligible, n("eligible"));
}

/** Validates a training run's ROSE group; errors name its options as `at` + name ("rose.upper"). */
export function validateRoseTrainOptions(o: RoseTrainOptions, at = "rose."): void {
  validateRoseOptions({ ...o, numWarmupSteps: 0 }, at);
  if (!(o.klDropout >= 0 && o.klDropout < 1))
    throw new ConfigError(`${at}klDropout must be in [0, 1), got ${o.klDropout}`, [`${at}klDropout`]);
}

/** What the training step must compute for a method: two dropout passes, and which KL-gradient signal. */
export function stepNeeds(o: { method: RoseMethod; granularity: Granularity; rdropAlpha?: number }): {
  twoPasses: boolean;
  klGradient: "none" | "tensor-norms" | "elements";
} {
  const first = METHODS[o.method].firstOrder;
  return {
    twoPasses: first || (o.rdropAlpha ?? 0) > 0,
    klGradient: !first ? "none" : o.granularity === "element" ? "elements" : "tensor-norms",
  };
}

// ---- eligibility and warm-up ---------------------------------------------------------------------------

/** The reference's eligibility rule: the name contains both "layer" and "weight" (case-sensitive). */
export function defaultEligible(name: string): boolean {
  return name.includes("layer") && name.includes("weight");
}

/** Turns a RegExp, a regex source string or a predicate into a predicate; errors call the option `name`. */
export function eligibleFrom(spec?: RegExp | string | NamePredicate, name = "eligible"): NamePredicate {
  if (spec === undefined) return defaultEligible;
  if (typeof spec === "function") return spec;
  let re: RegExp;
  if (typeof spec === "string") {
    try {
      re = new RegExp(spec);
    } catch (e) {
      throw new ConfigError(`${name}: invalid regular expression ${JSON.stringify(spec)} (${(e as Error).message})`, [name]);
    }
  } else {
    // Drop g/y flags: a stateful lastIndex would make test() alternate between calls.
    re = new RegExp(spec.source, spec.flags.replace(/[gy]/g, ""));
  }
  return (name: string) => re.test(name);
}

/** Whether a tensor's `step`-th update (1-based) is masked: ROSE methods, after the warm-up. */
export function masksApply(method: RoseMethod, step: number, numWarmupSteps: number): boolean {
  return method !== "vanilla" && step > numWarmupSteps;
}

// ---- saliencies ------------------------------------------------------------------------------------------

const f32 = Math.fround;

/** |(1-beta1) * gradNorm / expAvgNorm - 1| in float32 arithmetic, as the reference computes it on tensors. */
export function secondSaliencyValue(gradNorm: number, expAvgNorm: number, beta1: number): number {
  return Math.abs(f32(f32(f32(f32(1 - beta1) * f32(gradNorm)) / f32(expAvgNorm)) - 1));
}

/**
 * Second-order (tensor) saliency per name, from the gradients and the first moments before this step's
 * update; null when some tensor has no first moment yet (the mask is then all ones).
 */
export function secondOrderSaliency(
  names: readonly string[],
  grads: Map<string, Float32Array>,
  expAvg: Map<string, Float32Array>,
  beta1: number,
): Float32Array | null {
  const sal = new Float32Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    const m = expAvg.get(n);
    const g = grads.get(n);
    if (m === undefined) return null;
    if (g === undefined) throw new ConfigError(`second-order selection: no gradient for ${n}`);
    sal[i] = secondSaliencyValue(torchNorm32(g), torchNorm32(m), beta1);
  }
  return sal;
}

/** Element-wise first-order saliency |klGrad[i]| into out. */
export function elementFirstSaliency(klGrad: Float32Array, out: Float32Array): void {
  for (let i = 0; i < klGrad.length; i++) out[i] = Math.abs(klGrad[i]!);
}

/**
 * Element-wise second-order saliency |(1-beta1)*|g[i]|/|expAvg[i]| - 1| into out (float32 arithmetic).
 * A zero moment gives +Infinity (or NaN for 0/0, which the band rule also treats as +Infinity).
 */
export function elementSecondSaliency(grad: Float32Array, expAvg: Float32Array, beta1: number, out: Float32Array): void {
  const c = f32(1 - beta1);
  for (let i = 0; i < grad.length; i++) {
    out[i] = Math.abs(f32(f32(f32(c * Math.abs(grad[i]!)) / Math.abs(expAvg[i]!)) - 1));
  }
}

// ---- masks -----------------------------------------------------------------------------------------------

/** First-order (tensor) mask: the band rule on the per-tensor L2 norms of the KL-loss gradient. */
export function firstOrderMask(
  names: readonly string[],
  klGradNorms: Map<string, number>,
  lowerPct: number,
  upperPct: number,
): Float32Array {
  const sal = new Float32Array(names.length);
  names.forEach((n, i) => {
    const v = klGradNorms.get(n);
    if (v === undefined) throw new ConfigError(`first-order selection: klGradNorms has no entry for eligible tensor ${n}`);
    sal[i] = v;
  });
  return bandMask(sal, lowerPct, upperPct);
}

/** Ensemble soft mask (1-gamma)*second + gamma*first, in float32 as torch computes it. */
export function ensembleMask(first: Float32Array, second: Float32Array, gamma: number): Float32Array {
  const a = f32(1 - gamma);
  const b = f32(gamma);
  const out = new Float32Array(first.length);
  for (let i = 0; i < first.length; i++) out[i] = f32(f32(a * second[i]!) + f32(b * first[i]!));
  return out;
}

/** A tensor-granularity selection: one mask value per selected tensor, and what it was made from. */
export interface TensorSelection {
  mask: Float32Array;
  /** The 0/1 first-order mask, when KL norms were given. */
  firstMask?: Float32Array;
  /** The second-order saliency, once every selected tensor has a first moment. */
  secondSaliency?: Float32Array;
}

/**
 * Tensor masks for `names` (the eligible tensors, in update order). Computed (and logged) during warm-up
 * too, as the reference does; a first-order method must then be given KL norms only once masks apply.
 */
export function selectTensors(
  o: RoseOptions,
  names: readonly string[],
  signals: {
    klGradNorms?: Map<string, number>;
    grads: Map<string, Float32Array>;
    expAvg: Map<string, Float32Array>;
    beta1: number;
    applying: boolean;
    step: number;
  },
): TensorSelection {
  const { firstOrder, secondOrder } = METHODS[o.method];
  const out: Partial<TensorSelection> = {};
  let first: Float32Array | null = null;
  if (firstOrder) {
    if (signals.klGradNorms) first = out.firstMask = firstOrderMask(names, signals.klGradNorms, o.lower, o.upper);
    else if (signals.applying) throw new RoseError(`optimizer: ${o.method} needs klGradNorms once warm-up is over (step ${signals.step})`);
    else first = new Float32Array(names.length).fill(1); // warm-up: not applied, nothing to select with
  }
  let second: Float32Array | null = null;
  if (secondOrder) {
    const sal = secondOrderSaliency(names, signals.grads, signals.expAvg, signals.beta1);
    if (sal) {
      second = bandMask(sal, o.lower, o.upper);
      out.secondSaliency = sal;
    } else second = new Float32Array(names.length).fill(1); // no moments yet: all ones, as the reference
  }
  return { ...out, mask: first && second ? ensembleMask(first, second, o.gamma) : (first ?? second)! };
}

/**
 * The element mask value for each (second bit, first bit) pair, indexed (second << 1) | first: the ensemble's
 * float32 weights, or the product of the bits (the bits of an unused order are always 1).
 */
export function elementMaskTable(o: RoseOptions): Float64Array {
  const { firstOrder, secondOrder } = METHODS[o.method];
  const table = new Float64Array(4);
  for (let s = 0; s < 2; s++) {
    for (let f = 0; f < 2; f++) {
      table[(s << 1) | f] = firstOrder && secondOrder ? f32(f32(f32(1 - o.gamma) * s) + f32(f32(o.gamma) * f)) : s * f;
    }
  }
  return table;
}

/**
 * Element masks of one eligible tensor as bits (an unused order's bits are 1): the band rule over the
 * tensor's own elements. `expAvg` is the first moment before this step, null before the first.
 * `scratch` holds at least grad.length floats. Returns [elements with a non-zero mask, mean mask].
 */
export function selectElements(
  o: RoseOptions,
  name: string,
  signals: { grad: Float32Array; expAvg: Float32Array | null; klGrad?: Float32Array; beta1: number; table: Float64Array },
  scratch: Float32Array,
  first: Uint8Array,
  second: Uint8Array,
): [number, number] {
  const { firstOrder, secondOrder } = METHODS[o.method];
  const n = signals.grad.length;
  const sal = scratch.subarray(0, n);
  if (firstOrder) {
    const kl = signals.klGrad;
    if (!kl) throw new RoseError(`optimizer: ${o.method} with element granularity needs klGrads for ${name}`);
    if (kl.length !== n) throw new ShapeError(`optimizer: klGrads for ${name} has ${kl.length} elements, the parameter has ${n}`);
    elementFirstSaliency(kl, sal);
    elementBandMask(sal, n, o.lower, o.upper, first);
  } else first.fill(1, 0, n);
  if (secondOrder && signals.expAvg) {
    elementSecondSaliency(signals.grad, signals.expAvg, signals.beta1, sal);
    elementBandMask(sal, n, o.lower, o.upper, second);
  } else second.fill(1, 0, n);
  let live = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const m = signals.table[(second[i]! << 1) | first[i]!]!;
    sum += m;
    if (m > 0) live++;
  }
  return [live, sum / n];
}

// ---- the selector the optimizer holds --------------------------------------------------------------------

/** ROSE's options bound to an optimizer: which tensors it masks, when, and with which masks. */
export class RoseSelector {
  readonly options: RoseOptions;
  readonly eligible: NamePredicate;
  readonly firstOrder: boolean;
  readonly secondOrder: boolean;
  /** Element mask values by (second bit, first bit). */
  readonly table: Float64Array;
  // Element-granularity scratch, sized to the largest eligible tensor and reused every step.
  private sal = new Float32Array(0);
  private first = new Uint8Array(0);
  private second = new Uint8Array(0);

  constructor(opts: Partial<RoseOptions>) {
    const { klDropout: _, ...rule } = ROSE_DEFAULTS;
    // The warm-up is the optimizer's own: a training run sets it from its learning-rate warm-up.
    this.options = withDefaults<RoseOptions>({ ...rule, numWarmupSteps: 0 }, opts);
    validateRoseOptions(this.options);
    this.eligible = eligibleFrom(this.options.eligible);
    ({ firstOrder: this.firstOrder, secondOrder: this.secondOrder } = METHODS[this.options.method]);
    this.table = elementMaskTable(this.options);
  }

  get method(): RoseMethod {
    return this.options.method;
  }

  /** Whether a tensor's `step`-th update (1-based) is masked. */
  applies(step: number): boolean {
    return masksApply(this.options.method, step, this.options.numWarmupSteps);
  }

  /** Whether selection reads the (clipped) gradients themselves: second order, or element granularity. */
  get readsGradients(): boolean {
    return this.options.method !== "vanilla" && (this.secondOrder || this.options.granularity === "element");
  }

  tensors(names: readonly string[], signals: Parameters<typeof selectTensors>[2]): TensorSelection | null {
    if (this.options.method === "vanilla" || this.options.granularity !== "tensor" || names.length === 0) return null;
    return selectTensors(this.options, names, signals);
  }

  /** Element masks of one tensor: bit arrays (first, second) valid for grad.length, live count and mean. */
  elements(
    name: string,
    signals: { grad: Float32Array; expAvg: Float32Array | null; klGrad?: Float32Array; beta1: number },
  ): {
    first: Uint8Array;
    second: Uint8Array;
    live: number;
    mean: number;
  } {
    const n = signals.grad.length;
    if (this.sal.length < n) {
      this.sal = new Float32Array(n);
      this.first = new Uint8Array(n);
      this.second = new Uint8Array(n);
    }
    const first = this.first.subarray(0, n),
      second = this.second.subarray(0, n);
    const [live, mean] = selectElements(this.options, name, { ...signals, table: this.table }, this.sal, first, second);
    return { first, second, live, mean };
  }
}
