// The ROSE study ("Does ROSE deliver?") as one resumable script: for each task, prepare the data
// splits, fit the bag-of-words baseline, tune every method with `rose sweep` on a validation split (the same
// trial budget for each), train each method with its best flags per seed, evaluate on the dev set, attack
// the same dev examples with every recipe, compare loss landscapes, and write the report (RESULTS.md) from
// the raw outputs. Rerun the same command to continue: finished steps are skipped.
//
//   node --import tsx scripts/experiments/study.ts --help
//
// Paths are relative to the repository root (the script runs there).
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, RoseError } from "../../src/errors.ts";
import { flagName, parseConfig, RESULT_KEYS, type StudyConfig, usage } from "./study/config.ts";
import { collectStudy, type Invocation, type StudyRecord } from "./study/collect.ts";
import { renderReport, updateDoc } from "./study/report.ts";
import { gitState, type GitState, interrupted, runSteps, writeWhole } from "./study/runner.ts";
import { planSteps, taskPaths } from "./study/steps.ts";
import { packRuns } from "./study/archive.ts";

function modelFingerprint(dir: string): { dir: string; sha256: string } {
  const file = ["model.safetensors", "config.json"].map((f) => join(dir, f)).find(existsSync);
  if (!file) throw new ConfigError(`${dir}: not a model directory (no model.safetensors or config.json)`);
  return { dir, sha256: createHash("sha256").update(readFileSync(file)).digest("hex") };
}

function readStudy(outputDir: string): StudyRecord {
  const file = join(outputDir, "study.json");
  if (!existsSync(file)) throw new ConfigError(`${file}: missing; run the study first`);
  return JSON.parse(readFileSync(file, "utf8")) as StudyRecord;
}

/** Creates OUT/study.json, or checks that the output directory holds this study (same knobs, same model). */
function openStudy(c: StudyConfig, git: GitState): StudyRecord {
  const file = join(c.outputDir, "study.json");
  const config = Object.fromEntries(RESULT_KEYS.map((k) => [k, c[k]])) as Partial<StudyConfig>;
  const model = modelFingerprint(c.model);
  if (existsSync(file)) {
    const old = JSON.parse(readFileSync(file, "utf8")) as StudyRecord;
    const differ: string[] = RESULT_KEYS.filter((k) => JSON.stringify(old.config[k]) !== JSON.stringify(config[k])).map(flagName);
    if (old.model.sha256 !== model.sha256) differ.unshift("--model (its weights)");
    if (differ.length) {
      throw new ConfigError(
        `${file}: this output directory holds a study with other ${differ.join(", ")}; use another --output-dir and --work-dir, or the same settings`,
      );
    }
    return old;
  }
  const rec: StudyRecord = { created: new Date().toISOString(), commit: git.commit, dirty: git.dirty, model, config };
  if (!c.dryRun) writeWhole(file, `${JSON.stringify(rec, null, 1)}\n`);
  return rec;
}

async function main(): Promise<number> {
  process.chdir(resolve(fileURLToPath(new URL("../..", import.meta.url))));
  const c = parseConfig(process.argv.slice(2));
  if (c === "help") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const git = gitState();
  // A report is rewritten with the knobs its outputs were made with, and needs no model.
  if (c.reportOnly) Object.assign(c, readStudy(c.outputDir).config);
  else openStudy(c, git);
  const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  let failed = 0;
  if (c.dryRun) {
    for (const s of planSteps(c, { dryRun: true })) {
      const done = s.isDone ? s.isDone() : existsSync(s.record);
      process.stdout.write(`${done ? "done " : "todo "} ${s.id}${s.deps.length ? `  (after ${s.deps.join(", ")})` : ""}\n`);
      if (!done && s.command) process.stdout.write(`      ${s.command().join(" ")}\n`);
    }
    return 0;
  }
  if (!c.reportOnly) {
    mkdirSync(c.outputDir, { recursive: true });
    const started = new Date();
    log(
      `study: ${c.tasks.join(", ")} x ${c.methods.length} methods x ${c.seeds.length} seeds; ${c.workers} worker(s), ${c.threads} thread(s) each; commit ${git.commit.slice(0, 10)}${git.dirty ? " (uncommitted changes)" : ""}`,
    );
    const r = await runSteps(planSteps(c), { workers: c.workers, logDir: join(c.workDir, "logs"), git, log });
    const finished = new Date();
    const inv: Invocation = {
      started: started.toISOString(),
      finished: finished.toISOString(),
      elapsed_s: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
      commit: git.commit,
      dirty: git.dirty,
      ran: r.ran.length,
      skipped: r.skipped.length,
      failed: r.failed.length,
      interrupted: interrupted(),
    };
    appendFileSync(join(c.outputDir, "invocations.jsonl"), `${JSON.stringify(inv)}\n`);
    log(
      `study: ${r.ran.length} step(s) run, ${r.skipped.length} already done, ${r.failed.length} failed, ${r.blocked.length} blocked, ${r.interrupted.length} stopped`,
    );
    for (const f of r.failed) log(`failed: ${f.id}`);
    failed = r.failed.length;
    for (const task of c.tasks) {
      const packed = packRuns(join(taskPaths(c, task).out, "runs"));
      if (packed.packed > 0) log(`packed ${packed.packed} raw log(s) into ${packed.archive}`);
    }
    if (interrupted()) return 130;
  }
  const report = renderReport(collectStudy(c), { bootstrapSamples: c.bootstrapSamples, source: c.outputDir });
  const file = join(c.outputDir, "RESULTS.md");
  writeWhole(file, report);
  log(`report: ${file}`);
  if (c.updateDoc) {
    updateDoc(c.updateDoc, report);
    log(`updated the study block of ${c.updateDoc}`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof RoseError ? e.message : e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(2);
  },
);
