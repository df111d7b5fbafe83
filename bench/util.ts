// Small helpers for the benchmarks: flag parsing, timing, medians.
import { performance } from "node:perf_hooks";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` warmup + reps times; returns the timed durations in ms. */
export async function timeIt(reps: number, warmup: number, fn: () => Promise<unknown>): Promise<number[]> {
  return (await timeSteps(reps, warmup, fn)).wall;
}

/**
 * As `timeIt`, with this process's CPU time (user + system) per run beside the wall time: on a loaded
 * machine a single-threaded step's CPU time stays near its idle wall time while the wall time does not.
 */
export async function timeSteps(reps: number, warmup: number, fn: () => Promise<unknown>): Promise<{ wall: number[]; cpu: number[] }> {
  const wall: number[] = [],
    cpu: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await fn();
    if (i < warmup) continue;
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { wall, cpu };
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
