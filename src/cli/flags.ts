// Shared flag parsers and option groups, so every command spells the same flag the same way.
import { type Command, InvalidArgumentError } from "commander";
import { ConfigError } from "../errors.ts";
import { METHOD_NAMES, type RoseOptions } from "../optim/rose.ts";
import { TRUNCATIONS } from "../io/tokenizer.ts";

export function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`not a number: ${v}`);
  return n;
}

export function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`not an integer: ${v}`);
  return n;
}

/** --model, --offline, --cache-dir, --revision: a local directory or a Hub id. */
export function modelOptions(cmd: Command): Command {
  return cmd
    .option("--model <dir-or-id>", "model directory or Hugging Face Hub id (default: the shipped rose-mini)")
    .option("--offline", "use only the local Hugging Face cache for Hub ids")
    .option("--cache-dir <dir>", "Hugging Face hub cache directory")
    .option("--revision <rev>", "Hub branch, tag or commit", "main");
}

/** --truncation for commands that read a trained model: the model's own choice unless given. */
export function truncationOption(cmd: Command): Command {
  return cmd.option(
    "--truncation <keep>",
    "which tokens of a longer text are read: head | tail | head+tail (default: what the model was trained with)",
    choice(TRUNCATIONS),
  );
}

/** ROSE's flags, spelled alike by every command that trains. */
export function roseOptions(cmd: Command, d: Pick<RoseOptions, "method" | "upper" | "lower" | "gamma"> & { klDropout: number }): Command {
  return cmd
    .option("--method <m>", METHOD_NAMES.join(" | "), choice(METHOD_NAMES), d.method)
    .option("--upper <pct>", "ROSE: upper percentile of the kept band", num, d.upper)
    .option("--lower <pct>", "ROSE: lower percentile of the kept band", num, d.lower)
    .option("--gamma <g>", "ROSE ensemble: weight of the first-order mask", num, d.gamma)
    .option("--kl-dropout <p>", "dropout of the two passes (first order, ensemble, R-Drop)", num, d.klDropout);
}

export function dataOptions(cmd: Command): Command {
  return cmd
    .option("--text-column <name>", "text column (name or 0-based index)")
    .option("--text-pair-column <name>", "second text column for pair tasks")
    .option("--label-column <name>", "label column (name or 0-based index)")
    .option("--skip-bad-rows", "skip unusable rows (counted) instead of stopping at the first")
    .option("--encoding <name>", "text encoding of the data files: utf8, latin1, windows-1252, utf16le", "utf8");
}

export interface ModelFlags {
  model?: string;
  offline?: boolean;
  cacheDir?: string;
  revision?: string;
}

export function hubOptions(f: ModelFlags) {
  return { offline: f.offline, cacheDir: f.cacheDir, revision: f.revision };
}

/** The named fields of `o` (flags that keep the library's option names). */
export function pick<T, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

/** A flag parser that accepts one of `values` and types the result. */
export function choice<T extends string>(values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}, got ${v}`);
    return v as T;
  };
}

export interface DataFlags {
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  skipBadRows?: boolean;
  encoding?: string;
}

export function dataFlags(f: DataFlags): DataFlags {
  return {
    textColumn: f.textColumn,
    textPairColumn: f.textPairColumn,
    labelColumn: f.labelColumn,
    skipBadRows: Boolean(f.skipBadRows),
    encoding: f.encoding,
  };
}

/**
 * Runs a command's action so that the library's errors speak in the command's flags: the options a
 * ConfigError names (`batchSize`) become the flags (`--batch-size`). Flags whose attribute names equal the
 * library's options map by themselves; `renamed` gives the others (library option -> flag).
 */
export function withFlags<A extends unknown[]>(
  cmd: Command,
  renamed: Record<string, string>,
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      if (!(e instanceof ConfigError) || e.options.length === 0) throw e;
      const flags = new Map<string, string>();
      for (const o of cmd.options) if (o.long) flags.set(o.attributeName(), o.long);
      for (const [k, v] of Object.entries(renamed)) flags.set(k, v);
      let message = e.message;
      for (const name of e.options) {
        const flag = flags.get(name);
        if (flag) message = message.replace(new RegExp(`(?<![-\\w])${name}(?![\\w])`, "g"), flag);
      }
      throw new ConfigError(message, e.options);
    }
  };
}
