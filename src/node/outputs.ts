// Output paths, checked before any work starts (a long run must not fail at its end on a path it could
// have refused at once), and results written atomically (a reader never sees half a file).
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { writeFileAtomic } from "./files.ts";

function problem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOTDIR" || err.code === "EEXIST") return "a part of the path is a file, not a folder";
  if (err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS") return "no permission to write there";
  return err.message;
}

/** Creates `dir` (and its parents) or throws a ConfigError naming the option and the problem. */
function makeDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new ConfigError(`${what} ${dir}: cannot create or write the folder (${problem(e)})`);
  }
}

/**
 * Checks that `file` can be written as an output file and creates its parent folders. `what` names it
 * for the error (e.g. "--output").
 */
export function prepareOutputFile(file: string, what: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new ConfigError(`${what} ${file} is a folder; give a file name (e.g. ${join(file, "results.jsonl")})`);
  }
  makeDir(dirname(resolve(file)), what);
}

/** Checks that `dir` is (or can be created as) a writable folder, and creates it. */
export function prepareOutputDir(dir: string, what: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ConfigError(`${what} ${dir} is a file, not a folder`);
  makeDir(dir, what);
}

/** Writes an output file whole: complete or not at all (temporary file + rename). */
export function writeOutputFile(file: string, data: string | Uint8Array): void {
  writeFileAtomic(file, data);
}

/** Writes records as JSON Lines, atomically. */
export function writeJsonLines(file: string, records: readonly unknown[]): void {
  writeFileAtomic(file, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

export interface RunDirOptions {
  /** Clear a non-empty folder first (Hugging Face Trainer's --overwrite_output_dir). */
  overwrite?: boolean;
  /** Continue the run in it: its contents are the run's. */
  resume?: boolean;
  /** The flag that names the folder, for messages (default --output-dir). */
  flag?: string;
}

/**
 * The output folder of a training run: refuses a non-empty one (a second run would silently replace the
 * model and leave the old run's best/ and checkpoints beside it) unless resuming or told to overwrite, in
 * which case its contents are removed first. Creates it. Call before loading models or data.
 */
export function prepareRunDir(dir: string, o: RunDirOptions = {}): void {
  const flag = o.flag ?? "--output-dir";
  if (o.overwrite && o.resume)
    throw new ConfigError("--resume continues the run in the output folder and --overwrite-output-dir clears it: give one of them");
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ConfigError(`${flag} ${dir} is a file, not a folder`);
  const entries = existsSync(dir) ? readdirSync(dir) : [];
  if (entries.length > 0 && !o.resume) {
    if (!o.overwrite) {
      throw new ConfigError(
        `${flag} ${dir} is not empty (${entries.length} entr${entries.length === 1 ? "y" : "ies"}, e.g. ${entries.slice(0, 3).join(", ")}): ` +
          `pass --overwrite-output-dir to replace it, --resume to continue the run in it, or choose another folder`,
      );
    }
    // Removing the current folder, one above it or the home folder would take unrelated files with it.
    const abs = resolve(dir);
    const containsCwd = !relative(abs, process.cwd()).startsWith("..");
    if (containsCwd || abs === resolve(homedir())) {
      throw new ConfigError(
        `--overwrite-output-dir will not clear ${abs}: it holds the current folder or is the home folder; choose a folder of its own`,
      );
    }
    for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
  }
  makeDir(dir, flag);
}

/**
 * Keeps the JSON Lines records of `file` that `keep` accepts and drops a torn (unparsable) line, e.g.
 * the last one of a killed run, so that a resumed run appends to whole lines. Rewrites atomically.
 */
export function truncateJsonLines(file: string, keep: (record: Record<string, unknown>) => boolean): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => {
      if (!l.trim()) return false;
      try {
        return keep(JSON.parse(l) as Record<string, unknown>);
      } catch {
        return false;
      }
    });
  writeFileAtomic(file, lines.map((l) => `${l}\n`).join(""));
}
