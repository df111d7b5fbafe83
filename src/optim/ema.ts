// An exponential moving average of the weights over the optimizer steps (Polyak averaging, as
// timm's ModelEma and TF's ExponentialMovingAverage keep it). The average sits nearer the middle of
// the region the last steps wandered in than the last iterate does, which on small fine-tuning sets
// tends to score a little higher and vary less between seeds. As in TF, the decay ramps up as
// (1 + t) / (10 + t) so the untrained start is forgotten within the first steps.
import { ConfigError } from "../errors.ts";

export class WeightEma {
  /** The averaged weights, by parameter name (float32, like the weights). */
  readonly shadow = new Map<string, Float32Array>();

  constructor(
    readonly decay: number,
    params: ReadonlyMap<string, Float32Array>,
  ) {
    if (!(decay > 0 && decay < 1)) throw new ConfigError(`emaDecay must be in (0, 1) (0 turns it off), got ${decay}`, ["emaDecay"]);
    for (const [n, p] of params) this.shadow.set(n, Float32Array.from(p));
  }

  /** The decay used after optimizer step `step` (1-based). */
  decayAt(step: number): number {
    return Math.min(this.decay, (1 + step) / (10 + step));
  }

  /** Folds the weights after optimizer step `step` (1-based) into the average. */
  update(params: ReadonlyMap<string, Float32Array>, step: number): void {
    const a = 1 - this.decayAt(step);
    for (const [n, s] of this.shadow) {
      const p = params.get(n)!;
      for (let i = 0; i < s.length; i++) s[i] = s[i]! + a * (p[i]! - s[i]!);
    }
  }

  /** Puts the averaged weights into `params` (no copy); the returned function puts the live ones back. */
  swapInto(params: Map<string, Float32Array>): () => void {
    const live = new Map<string, Float32Array>();
    for (const [n, s] of this.shadow) {
      live.set(n, params.get(n)!);
      params.set(n, s);
    }
    return () => {
      for (const [n, p] of live) params.set(n, p);
    };
  }

  /** Replaces the average with a saved one (a resumed run); the caller has checked names and sizes. */
  load(saved: ReadonlyMap<string, Float32Array>): void {
    for (const n of this.shadow.keys()) this.shadow.set(n, saved.get(n)!);
  }
}
