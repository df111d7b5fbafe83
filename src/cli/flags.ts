// Shared flag parsers and option groups, so every command spells the same flag the same way.
import { type Command, InvalidArgumentError } from "commander";

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
