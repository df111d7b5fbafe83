// The study's raw per-example logs (each run's predictions.jsonl and attack-RECIPE.jsonl, most of its bytes)
// are kept in one zip per task, TASK/runs.zip with entries RUN/FILE, so the committed tree holds a few
// archives instead of hundreds of large files; the small per-run summaries stay plain files in TASK/runs/RUN/.
// A plain log (written by a step that just ran) is read before the archive's copy until `packRuns` moves it in.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { strFromU8, unzipSync, zipSync } from "fflate";
import { FormatError } from "../../../src/errors.ts";
import { writeWhole } from "./runner.ts";

/** The raw logs that go into the archive; everything else in a run folder stays a plain file. */
export const isRawLog = (file: string): boolean => file === "predictions.jsonl" || /^attack-[a-z0-9-]+\.jsonl$/.test(file);

/** TASK/runs -> TASK/runs.zip. */
export const archiveOf = (runsDir: string): string => `${runsDir}.zip`;

// Zip entries carry a DOS date in local time: a fixed local date keeps the archive's bytes the same everywhere.
const ENTRY_TIME = new Date(1980, 0, 1);

const opened = new Map<string, { mtimeMs: number; size: number; entries: Record<string, Uint8Array> }>();

function readArchive(file: string): Record<string, Uint8Array> {
  if (!existsSync(file)) return {};
  const st = statSync(file);
  const hit = opened.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.entries;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(file));
  } catch (e) {
    throw new FormatError(file, `not a readable zip archive (${e instanceof Error ? e.message : String(e)})`);
  }
  opened.set(file, { mtimeMs: st.mtimeMs, size: st.size, entries });
  return entries;
}

/** A run's raw log as text: the plain file in RUN_DIR if there is one, else the archive's entry RUN/FILE; null if neither. */
export function readRunLog(runDir: string, file: string): string | null {
  const plain = join(runDir, file);
  if (existsSync(plain)) return readFileSync(plain, "utf8");
  const entry = readArchive(archiveOf(dirname(runDir)))[`${basename(runDir)}/${file}`];
  return entry ? strFromU8(entry) : null;
}

export interface PackResult {
  archive: string;
  /** Entries in the archive after packing. */
  entries: number;
  /** Plain logs moved into it (and deleted). */
  packed: number;
  /** Their bytes, and the archive's. */
  rawBytes: number;
  archiveBytes: number;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.compare(a, b) === 0;
}

/**
 * Moves the plain raw logs under RUNS_DIR/RUN/ into RUNS_DIR.zip (merged with what it already holds; a plain
 * file replaces its entry). A log is deleted only after the archive written to disk gave back its exact bytes.
 */
export function packRuns(runsDir: string): PackResult {
  const archive = archiveOf(runsDir);
  const entries = { ...readArchive(archive) };
  const plain: { path: string; name: string }[] = [];
  if (existsSync(runsDir)) {
    for (const run of readdirSync(runsDir).sort()) {
      const dir = join(runsDir, run);
      if (!statSync(dir).isDirectory()) continue;
      for (const file of readdirSync(dir).sort()) if (isRawLog(file)) plain.push({ path: join(dir, file), name: `${run}/${file}` });
    }
  }
  let rawBytes = 0;
  for (const p of plain) {
    entries[p.name] = readFileSync(p.path);
    rawBytes += entries[p.name]!.length;
  }
  if (plain.length > 0) {
    const sorted = Object.fromEntries(
      Object.keys(entries)
        .sort()
        .map((k) => [k, entries[k]!]),
    );
    writeWhole(archive, zipSync(sorted, { level: 9, mtime: ENTRY_TIME }));
    const back = unzipSync(readFileSync(archive));
    for (const p of plain) {
      if (!sameBytes(back[p.name], readFileSync(p.path)))
        throw new FormatError(archive, `entry ${p.name} does not give back ${p.path}'s bytes`);
    }
    for (const p of plain) rmSync(p.path);
  }
  return {
    archive,
    entries: Object.keys(entries).length,
    packed: plain.length,
    rawBytes,
    archiveBytes: existsSync(archive) ? statSync(archive).size : 0,
  };
}
