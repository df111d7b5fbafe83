// Strategies as rung plans: grid and random train every configuration to the end (one rung); successive
// halving trains all of them to the first rung, keeps the best 1/eta, continues those to the next, and so
// on. The halving is synchronous, so decisions depend only on scores, never on which worker was faster:
// the same sweep gives the same trials and results on one machine or many.
import { ConfigError } from "../errors.ts";

/** Rung stops in epochs; 0 is the last rung (train to the end). */
export function rungPlan(strategy: "grid" | "random" | "halving", epochs: number, eta: number, rungs?: readonly number[]): number[] {
  if (strategy !== "halving") return [0];
  if (!(Number.isInteger(eta) && eta >= 2)) throw new ConfigError(`--eta must be an integer >= 2, got ${eta}`);
  let stops: number[];
  if (rungs?.length) {
    if (!rungs.every((r) => Number.isInteger(r) && r > 0))
      throw new ConfigError(`--rungs must be positive whole epochs, got ${rungs.join(",")}`);
    stops = [...new Set(rungs)].sort((a, b) => a - b).filter((r) => r < epochs);
  } else {
    // Geometric: 1, eta, eta^2, ... epochs, below the full length.
    stops = [];
    for (let r = 1; r < epochs; r *= eta) stops.push(r);
  }
  if (stops.length === 0)
    throw new ConfigError(`halving needs a rung before the end: the trials train ${epochs} epoch(s); use more epochs or --rungs`);
  return [...stops, 0];
}

export type Mode = "max" | "min";

/** Objectives where smaller is better. */
export function objectiveMode(objective: string): Mode {
  return /loss|error/.test(objective) ? "min" : "max";
}

/**
 * The configurations promoted from a rung: the best max(1, floor(n / eta)) by score; failed ones (null)
 * never; ties go to the earlier configuration.
 */
export function promote(scores: ReadonlyMap<number, number | null>, eta: number, mode: Mode): number[] {
  const ranked = [...scores]
    .filter((e): e is [number, number] => e[1] !== null && Number.isFinite(e[1]))
    .sort((a, b) => (mode === "max" ? b[1] - a[1] : a[1] - b[1]) || a[0] - b[0]);
  const keep = Math.max(1, Math.floor(scores.size / eta));
  return ranked
    .slice(0, keep)
    .map(([c]) => c)
    .sort((a, b) => a - b);
}

/** A trial's score from its eval records: the best value so far (the model its directory keeps). */
export function scoreOf(evals: readonly Record<string, number>[], objective: string, mode: Mode): number | null {
  const vals = evals.map((e) => e[objective]).filter((v): v is number => typeof v === "number");
  if (vals.length === 0) return null;
  return mode === "max" ? Math.max(...vals) : Math.min(...vals);
}
