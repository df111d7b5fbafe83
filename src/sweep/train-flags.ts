// The `rose train` flags a sweep may set, read from the description of rose train's flags (train/flags.ts):
// the space, the fixed flags and a trial's command line follow the exact flags and parsers `rose train` has.
import { ConfigError } from "../errors.ts";
import { levenshtein } from "../robust/words.ts";
import type { FineTuneOptions } from "../train/fine-tune.ts";
import { type FlagSpec, type FlagValues, findFlag, flagsText, parseFlagArgs, spellings } from "../train/flag-spec.ts";
import { fineTuneOptionsFrom, TRAIN_FLAGS, type TrainKey } from "../train/flags.ts";

export type TrainFlag = FlagSpec<TrainKey>;

/** Flags the sweep sets per trial itself; a space or the fixed flags may not. */
export const SWEEP_OWNED = new Set(["--output-dir", "--resume", "--stop-after-epoch", "--quiet"]);

/** " (did you mean --upper?)" for a near miss of a flag, else "". */
function suggestion(flag: string): string {
  const near = TRAIN_FLAGS.flatMap(spellings)
    .filter((n) => !SWEEP_OWNED.has(n))
    .map((n) => ({ n, d: levenshtein(flag, n) }))
    .sort((a, b) => a.d - b.d)[0];
  return near && near.d <= Math.max(2, Math.floor(flag.length / 4)) ? ` (did you mean ${near.n}?)` : "";
}

/**
 * The train flag a name refers to: `upper`, `--upper`, `learningRate`, `learning-rate` or, as Hugging
 * Face's hyper-parameter search spells it, `learning_rate`.
 */
export function trainOption(name: string, where: string): { flag: string; spec: TrainFlag } {
  const kebab = name
    .replace(/^--/, "")
    .replace(/_/g, "-")
    .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const flag = `--${kebab}`;
  const spec = findFlag(TRAIN_FLAGS, flag);
  if (!spec) throw new ConfigError(`${where}: unknown rose train option ${flag}${suggestion(flag)} (see rose train --help)`);
  if (spellings(spec).some((n) => SWEEP_OWNED.has(n))) throw new ConfigError(`${where}: ${flag} is set by the sweep for each trial`);
  return { flag, spec };
}

/** The fixed flags, checked as `rose train` checks them; returns them as fineTune's options (defaults included). */
export function parseTrainArgs(args: readonly string[]): FineTuneOptions {
  for (const a of args) {
    if (SWEEP_OWNED.has(a.split("=")[0]!)) throw new ConfigError(`train flags: ${a} is set by the sweep for each trial`);
  }
  return fineTuneOptionsFrom(readTrainArgs(args, "train flags"));
}

/** A trial's whole command line (the sweep's own flags included) as fineTune's options; --train-file is required. */
export function trialOptions(args: readonly string[]): FineTuneOptions {
  const values = readTrainArgs(args, "trial flags");
  const missing = TRAIN_FLAGS.find((s) => s.type !== "boolean" && s.required && values[s.key] === undefined);
  if (missing) throw new ConfigError(`trial flags: required option '${flagsText(missing)}' not specified`);
  return fineTuneOptionsFrom(values);
}

function readTrainArgs(args: readonly string[], where: string): FlagValues {
  let parsed: ReturnType<typeof parseFlagArgs>;
  try {
    parsed = parseFlagArgs(TRAIN_FLAGS, args);
  } catch (e) {
    throw new ConfigError(`${where}: ${(e as Error).message}`);
  }
  const unknown = parsed.unknown[0];
  if (unknown) throw new ConfigError(`${where}: unknown rose train option ${unknown}${suggestion(unknown)} (see rose train --help)`);
  if (parsed.operands.length) throw new ConfigError(`${where}: unexpected argument ${parsed.operands[0]}`);
  return parsed.values;
}

/** A trial's value as command-line words: switches are present or absent. */
export function flagWords(flag: string, spec: TrainFlag, value: unknown): string[] {
  if (spec.type === "boolean") return value === true ? [flag] : [];
  return [flag, String(value)];
}
