// Moves the study's raw per-example logs into one archive per task (TASK/runs.zip), checking that the archive
// gives back every file's exact bytes before deleting it. `scripts/experiments/study.ts` does this itself after
// its steps; run this on an output folder filled some other way.
//
//   node --import tsx scripts/experiments/study/pack.ts [OUTPUT_DIR]   (default docs/study)
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, RoseError } from "../../../src/errors.ts";
import { packRuns } from "./archive.ts";

const out = process.argv[2] ?? "docs/study";
try {
  const tasks = existsSync(out) ? readdirSync(out).filter((t) => existsSync(join(out, t, "runs"))) : [];
  if (tasks.length === 0) throw new ConfigError(`${out}: no TASK/runs folder to pack`);
  for (const t of tasks.sort()) {
    const r = packRuns(join(out, t, "runs"));
    process.stdout.write(
      `${r.archive}: ${r.packed} log(s) packed (${r.rawBytes} bytes), ${r.entries} entries, archive ${r.archiveBytes} bytes\n`,
    );
  }
} catch (e) {
  process.stderr.write(`error: ${e instanceof RoseError ? e.message : e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(2);
}
