// Small helpers for the benchmarks: flag parsing, timing, medians.
import { performance } from "node:perf_hooks";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` warmup + reps times; returns the timed durations in ms. */
export async function timeIt(reps: number, warmup: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const t = performance.now();
    await fn();
    if (i >= warmup) out.push(performance.now() - t);
  }
  return out;
}

/** --name value flags over defaults; numbers parsed when the default is a number. */
export function parseFlags<T extends Record<string, number | string | boolean>>(argv: string[], defaults: T): T {
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in out)) throw new Error(`unknown flag ${a}`);
    if (typeof out[key] === "boolean") out[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`flag ${a} needs a value`);
      out[key] = typeof defaults[key] === "number" ? Number(v) : v;
    }
  }
  return out as T;
}
