// The `rose train` flags a sweep may set: read from the train command itself, so the space, the fixed
// flags and a trial's command line all follow the exact flags and parsers `rose train` has.
import { Command, type Option } from "commander";
import { registerTrain } from "../cli/train.ts";
import { ConfigError } from "../errors.ts";
import { levenshtein } from "../robust/words.ts";

/** Flags the sweep sets per trial itself; a space or the fixed flags may not. */
export const SWEEP_OWNED = new Set(["--output-dir", "--resume", "--stop-after-epoch", "--quiet"]);

function trainCommand(): Command {
  const program = new Command();
  registerTrain(program);
  const cmd = program.commands.find((c) => c.name() === "train")!;
  // Errors become exceptions this module rewords, not messages on stderr and an exit.
  cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  return cmd;
}

function names(o: Option): string[] {
  // `--batch-size, --per-device-train-batch-size` keeps its first long spelling in `short`.
  return [o.long, o.short].filter((n): n is string => typeof n === "string" && n.startsWith("--"));
}

/** " (did you mean --upper?)" for a near miss of a flag, else "". */
function suggestion(flag: string, cmd: Command): string {
  const near = cmd.options
    .flatMap(names)
    .filter((n) => !SWEEP_OWNED.has(n))
    .map((n) => ({ n, d: levenshtein(flag, n) }))
    .sort((a, b) => a.d - b.d)[0];
  return near && near.d <= Math.max(2, Math.floor(flag.length / 4)) ? ` (did you mean ${near.n}?)` : "";
}

/**
 * The train option a name refers to: `upper`, `--upper`, `learningRate`, `learning-rate` or, as Hugging
 * Face's hyper-parameter search spells it, `learning_rate`.
 */
export function trainOption(name: string, where: string): { flag: string; option: Option } {
  const kebab = name
    .replace(/^--/, "")
    .replace(/_/g, "-")
    .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const flag = `--${kebab}`;
  const cmd = trainCommand();
  const option = cmd.options.find((o) => names(o).includes(flag));
  if (!option) throw new ConfigError(`${where}: unknown rose train option ${flag}${suggestion(flag, cmd)} (see rose train --help)`);
  if (names(option).some((n) => SWEEP_OWNED.has(n))) throw new ConfigError(`${where}: ${flag} is set by the sweep for each trial`);
  return { flag, option };
}

/** The fixed flags, checked by the train command's parser; returns the values it parsed (defaults included). */
export function parseTrainArgs(args: readonly string[]): Record<string, unknown> {
  const cmd = trainCommand();
  for (const a of args) {
    if (SWEEP_OWNED.has(a.split("=")[0]!)) throw new ConfigError(`train flags: ${a} is set by the sweep for each trial`);
  }
  let parsed: { operands: string[]; unknown: string[] };
  try {
    // Commander runs the value parsers while parsing; a bad value surfaces here as a CommanderError.
    parsed = cmd.parseOptions([...args]);
  } catch (e) {
    throw new ConfigError(`train flags: ${(e as Error).message.replace(/^error: /, "")}`);
  }
  const unknown = parsed.unknown[0];
  if (unknown)
    throw new ConfigError(`train flags: unknown rose train option ${unknown}${suggestion(unknown, cmd)} (see rose train --help)`);
  if (parsed.operands.length) throw new ConfigError(`train flags: unexpected argument ${parsed.operands[0]}`);
  return cmd.opts();
}

/** A trial's value as command-line words: booleans are present or absent. */
export function flagWords(flag: string, option: Option, value: unknown): string[] {
  if (option.isBoolean()) return value === true ? [flag] : [];
  return [flag, String(value)];
}
