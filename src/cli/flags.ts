// Shared flag parsers and option groups, so every command spells the same flag the same way.
import { type Command, InvalidArgumentError } from "commander";
import { TRUNCATIONS } from "../io/tokenizer.ts";
import {
  type FlagSpec,
  type FlagValues,
  flagsText,
  inFlagTerms,
  parseChoice,
  parseFlagValue,
  parseInteger,
  parseNumber,
} from "../train/flag-spec.ts";
import { DATA_FLAGS, MODEL_FLAGS } from "../train/flags.ts";

/** A value parser as commander wants it: a bad value throws InvalidArgumentError. */
function commanderParser<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

export const num = commanderParser(parseNumber);
export const int = commanderParser(parseInteger);

/** Registers described flags (train/flag-spec.ts): spelling, parser, default, help and required as described. */
export function addFlags(cmd: Command, specs: readonly FlagSpec[]): Command {
  for (const s of specs) {
    const o = cmd.createOption(flagsText(s), s.help);
    if (s.type !== "boolean") {
      o.default(s.default).argParser(commanderParser((v) => parseFlagValue(s, v)));
      o.makeOptionMandatory(Boolean(s.required));
    }
    cmd.addOption(o);
  }
  return cmd;
}

/** The values commander parsed for described flags, by option key (absent flags without a default: none). */
export function flagValues(cmd: Command, specs: readonly FlagSpec[]): FlagValues {
  const out: FlagValues = {};
  for (const s of specs) {
    const o = cmd.options.find((x) => x.flags === flagsText(s));
    const v = o && (cmd.getOptionValue(o.attributeName()) as FlagValues[string] | undefined);
    if (v !== undefined) out[s.key] = v;
  }
  return out;
}

/** --model, --offline, --cache-dir, --revision: a local directory or a Hub id. */
export function modelOptions(cmd: Command): Command {
  return addFlags(cmd, MODEL_FLAGS);
}

/** --truncation for commands that read a trained model: the model's own choice unless given. */
export function truncationOption(cmd: Command): Command {
  return cmd.option(
    "--truncation <keep>",
    "which tokens of a longer text are read: head | tail | head+tail (default: what the model was trained with)",
    choice(TRUNCATIONS),
  );
}

export function dataOptions(cmd: Command): Command {
  return addFlags(cmd, DATA_FLAGS);
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
  return commanderParser((v) => parseChoice(values, v));
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
      const flags: Record<string, string> = {};
      for (const o of cmd.options) if (o.long) flags[o.attributeName()] = o.long;
      throw inFlagTerms(e, { ...flags, ...renamed });
    }
  };
}
