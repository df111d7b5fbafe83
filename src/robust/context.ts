// Per-run and per-example state shared by goal function, transformations and constraints: time
// accounting for the model calls, and seeded randomness that does not depend on search order.

import { Rng } from "../engine/rng.ts";
import type { AttackStats } from "./types.ts";

/** Accumulates where an attack run's time went. */
export class StatsClock {
  modelMs = 0;
  auxModelMs = 0;
  modelCalls = 0;
  modelInputs = 0;
  private readonly start = performance.now();

  /** Times one classifier call. */
  async model<T>(n: number, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.modelMs += performance.now() - t;
      this.modelCalls++;
      this.modelInputs += n;
    }
  }

  /** Times a masked-LM or sentence-encoder call. */
  async aux<T>(fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.auxModelMs += performance.now() - t;
    }
  }

  snapshot(): AttackStats {
    return {
      modelMs: this.modelMs,
      auxModelMs: this.auxModelMs,
      totalMs: performance.now() - this.start,
      modelCalls: this.modelCalls,
      modelInputs: this.modelInputs,
    };
  }
}

/** What transformations and constraints may use while attacking one example. */
export class ExampleContext {
  constructor(
    readonly clock: StatsClock,
    readonly seed: number,
    readonly exampleIndex: number,
  ) {}

  /** A generator for word `index` of this example: the same draws whatever order positions are visited in. */
  rng(index: number, purpose = 0): Rng {
    return new Rng(this.seed, 0x7a77ac, this.exampleIndex, index, purpose);
  }
}
