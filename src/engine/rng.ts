// Seeded, counter-based randomness. Every random stream in rose is derived from (seed, purpose, counter)
// by hashing, so a run can be resumed exactly from a saved counter: no hidden generator state.

/** splitmix32-style finaliser: a good 32-bit integer hash. */
export function hash32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hash of several 32-bit words, for deriving independent stream keys. */
export function mixKey(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) h = hash32((h ^ hash32(w >>> 0)) + 0x7f4a7c15);
  return h >>> 0;
}

/** sfc32: fast, statistically strong 32-bit generator; its whole state is four words (see `state`). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, ...stream: number[]) {
    const k = mixKey(seed, ...stream);
    this.a = k;
    this.b = hash32(k + 1);
    this.c = hash32(k + 2);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }

  get state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  set state(s: [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = s;
  }
}
