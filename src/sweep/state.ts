// The sweep's files in DIR: sweep.json (what was asked: trials, rungs, objective; written once) and
// state.json (every rung result so far, rewritten atomically after each). A re-run with the same DIR
// reads both: recorded rung results are not run again, and trials continue from their checkpoints.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { SweepDir } from "../node/run-dir.ts";
import type { ExtraEvals } from "./extra-evals.ts";
import type { Config } from "./space.ts";
import type { TrialOutcome } from "./trial.ts";

export interface TrialSpec {
  index: number;
  /** Index of the configuration (trials of one configuration differ only by seed). */
  config: number;
  params: Config;
  seed: number | null;
  /** The run directory, relative to DIR. */
  dir: string;
  /** The `rose train` flags of this trial (fixed flags first). */
  args: string[];
}

export interface SweepSpec {
  strategy: "grid" | "random" | "halving";
  objective: string;
  mode: "max" | "min";
  /** Measurements each rung takes besides the trainer's evaluation. */
  extra: ExtraEvals;
  eta: number;
  /** Rung stops in epochs; 0 is the end. */
  rungs: number[];
  trainArgs: string[];
  flags: string[];
  configs: Config[];
  trials: TrialSpec[];
}

export interface SweepFile extends SweepSpec {
  id: string;
}

export interface RungRecord {
  outcome?: TrialOutcome;
  score?: number | null;
  error?: string;
}

export type SweepState = Record<string, RungRecord>;

export const rungKey = (trial: number, rung: number) => `${trial}/${rung}`;

/** Creates DIR/sweep.json, or checks that an existing one asks for the same sweep. */
export function openSweep(dir: string, spec: SweepSpec): SweepFile {
  mkdirSync(dir, { recursive: true });
  const sweepDir = new SweepDir(dir);
  const file = sweepDir.path("spec");
  const old = sweepDir.readSpec<SweepFile>();
  if (old) {
    const { id, ...rest } = old;
    for (const k of Object.keys(spec) as (keyof SweepSpec)[]) {
      if (JSON.stringify(rest[k]) !== JSON.stringify(spec[k])) {
        throw new ConfigError(
          `${file}: this directory holds a different sweep (its ${k} differ); use another --output-dir or the same settings`,
        );
      }
    }
    return { ...spec, id };
  }
  const created: SweepFile = { id: randomUUID(), ...spec };
  sweepDir.writeSpec(created);
  return created;
}

export function loadState(dir: string): SweepState {
  return new SweepDir(dir).readState<SweepState>() ?? {};
}

export function saveState(dir: string, state: SweepState): void {
  new SweepDir(dir).writeState(state);
}
