// A command's flags as data: spellings, value type, default, help, and where each value goes in the library's
// options. The CLI registers its commander options from such a list (cli/flags.ts); a sweep reads and checks
// `rose train` flags with it without the CLI (sweep/train-flags.ts). Values parse alike in both.
import { ConfigError } from "../errors.ts";

export type LongFlag = `--${string}`;

interface FlagBase<K extends string> {
  /** The flag as help shows it first, e.g. --learning-rate. */
  flag: LongFlag;
  /** Other spellings of the same flag. */
  aliases?: readonly LongFlag[];
  help: string;
  /** Where the value goes in the library's options: a field (learningRate) or group.field (rose.upper). */
  key: K;
}

/** A switch: present (true) or absent (undefined). */
export interface BooleanFlag<K extends string = string> extends FlagBase<K> {
  type: "boolean";
}

/** A flag with a value: `arg` names it in help (`--learning-rate <lr>`); `default` is what help shows and parsing fills in. */
interface ValueFlag<K extends string, T> extends FlagBase<K> {
  arg: string;
  default?: T;
  required?: boolean;
}

export interface NumberFlag<K extends string = string> extends ValueFlag<K, number> {
  type: "number" | "integer";
}

export interface StringFlag<K extends string = string> extends ValueFlag<K, string> {
  type: "string";
}

export interface ChoiceFlag<K extends string = string> extends ValueFlag<K, string> {
  type: "choice";
  choices: readonly string[];
}

export type FlagSpec<K extends string = string> = BooleanFlag<K> | NumberFlag<K> | StringFlag<K> | ChoiceFlag<K>;

export type FlagValue = number | string | boolean;

/** Values by option key (flags not given and without a default are absent). */
export type FlagValues = Record<string, FlagValue>;

/** Every spelling of a flag, the first one first. */
export function spellings(s: FlagSpec): LongFlag[] {
  return [s.flag, ...(s.aliases ?? [])];
}

/** The flag as help and commander write it: `--batch-size, --per-device-train-batch-size <n>`. */
export function flagsText(s: FlagSpec): string {
  const names = spellings(s).join(", ");
  return s.type === "boolean" ? names : `${names} <${s.arg}>`;
}

export function parseNumber(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(`not a number: ${raw}`);
  return n;
}

export function parseInteger(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ConfigError(`not an integer: ${raw}`);
  return n;
}

export function parseChoice<T extends string>(choices: readonly T[], raw: string): T {
  if (!(choices as readonly string[]).includes(raw)) throw new ConfigError(`expected one of ${choices.join(", ")}, got ${raw}`);
  return raw as T;
}

/** A value as the flag reads it; a ConfigError says what is wrong with it (`not an integer: x`). */
export function parseFlagValue(s: FlagSpec, raw: string): FlagValue {
  switch (s.type) {
    case "boolean":
      throw new ConfigError(`${s.flag} is a switch and takes no value, got ${raw}`);
    case "number":
      return parseNumber(raw);
    case "integer":
      return parseInteger(raw);
    case "choice":
      return parseChoice(s.choices, raw);
    case "string":
      return raw;
  }
}

/** The flag a spelling names, if any. */
export function findFlag<S extends FlagSpec>(specs: readonly S[], name: string): S | undefined {
  return specs.find((s) => spellings(s).includes(name as LongFlag));
}

/**
 * A command line read with the flags, as commander reads it: `--flag value` or `--flag=value`, switches
 * bare, the last of repeated flags wins, defaults filled in. Unknown options (the first one and all after it)
 * and operands come back for the caller to word; a bad or missing value throws a ConfigError in commander's
 * words.
 */
export function parseFlagArgs(
  specs: readonly FlagSpec[],
  args: readonly string[],
): { values: FlagValues; unknown: string[]; operands: string[] } {
  const values: FlagValues = {};
  for (const s of specs) if (s.type !== "boolean" && s.default !== undefined) values[s.key] = s.default;
  const operands: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (unknown.length) {
      unknown.push(arg);
      continue;
    }
    if (arg === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const s = findFlag(specs, name);
    if (s && !(eq > 0 && s.type === "boolean")) {
      if (s.type === "boolean") {
        values[s.key] = true;
        continue;
      }
      const raw = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (raw === undefined) throw new ConfigError(`option '${flagsText(s)}' argument missing`);
      try {
        values[s.key] = parseFlagValue(s, raw);
      } catch (e) {
        throw new ConfigError(`option '${flagsText(s)}' argument '${raw}' is invalid. ${(e as Error).message}`);
      }
    } else if (arg.length > 1 && arg.startsWith("-") && !/^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg)) unknown.push(arg);
    else operands.push(arg);
  }
  return { values, unknown, operands };
}

/** Values by key as the library's options object: `group.field` keys fill nested groups. */
export function optionsFrom(values: FlagValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(values)) {
    const dot = key.indexOf(".");
    if (dot < 0) {
      out[key] = v;
      continue;
    }
    const group = key.slice(0, dot);
    out[group] = { ...(out[group] as Record<string, unknown> | undefined), [key.slice(dot + 1)]: v };
  }
  return out;
}

/** Option key -> flag, to word errors that name the library's options in the flags a user typed. */
export function flagNames(specs: readonly FlagSpec[]): Record<string, LongFlag> {
  return Object.fromEntries(specs.map((s) => [s.key, s.flag]));
}

/**
 * A ConfigError that names library options (`batchSize`, `rose.upper`) reworded with the flags `names` maps
 * them to (`--batch-size`, `--upper`); other errors come back as they are.
 */
export function inFlagTerms(e: unknown, names: Readonly<Record<string, string>>): unknown {
  if (!(e instanceof ConfigError) || e.options.length === 0) return e;
  let message = e.message;
  for (const name of e.options) {
    const flag = names[name];
    if (!flag) continue;
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    message = message.replace(new RegExp(`(?<![-\\w.])${escaped}(?![\\w])`, "g"), flag);
  }
  return new ConfigError(message, e.options);
}
