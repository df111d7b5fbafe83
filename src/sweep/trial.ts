// One unit of sweep work: train a trial up to a rung (or to its end) in a child `rose train` process, then
// read what it measured from its run directory. The local runner and the queue worker both run this.
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { RoseError } from "../errors.ts";
import { RunDir } from "../node/run-dir.ts";
import { type ExtraEvals, readExtras } from "./extra-evals.ts";

/** A trial's work order up to one rung; plain JSON, so it can travel through the queue. */
export interface TrialJob {
  /** The sweep's id (from DIR/sweep.json): jobs of another sweep are told apart by it. */
  sweepId: string;
  trial: number;
  rung: number;
  /** The trial's run directory as the coordinator sees it. */
  dir: string;
  /** `rose train` flags: the fixed ones, then the trial's configuration and seed. */
  args: string[];
  /** Pause after this epoch (0: train to the end). */
  stopAfterEpoch: number;
  /** Compute threads the coordinator suggests (a worker's own --threads wins). */
  threads?: number;
  /** Objectives measured at each rung besides the trainer's evaluation (validation loss, robustness). */
  extra?: ExtraEvals;
}

/** What a trial measured, read back from its metrics.jsonl. */
export interface TrialOutcome {
  /** The eval records so far, in order: step, epoch and the task's metrics. */
  evals: Record<string, number>[];
  /** True once the trial trained to its end (not paused at a rung). */
  finished: boolean;
  /** The checkpoint step it continued from, or null when it started afresh. */
  resumedFrom: number | null;
  host: string;
  dir: string;
}

/** A trial process that failed; the message is its last error line. */
export class TrialError extends RoseError {}

// From the TypeScript source (a checkout) the child runs through tsx; the installed package runs compiled
// JavaScript with plain node (tsx is a devDependency, absent there).
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const CHILD = fileURLToPath(new URL(FROM_SOURCE ? "./trial-child.ts" : "./trial-child.js", import.meta.url));
const LOADER: string[] = FROM_SOURCE ? ["--import", import.meta.resolve("tsx")] : [];

/** The step of the checkpoint a trial would continue from, or null (none, or an unreadable pointer). */
export function checkpointStep(dir: string): number | null {
  return new RunDir(dir).lastCheckpointIfReadable()?.step ?? null;
}

/** The trainer's eval records (without their type), with the rung measurements of the same step merged in. */
export function readEvals(dir: string): Record<string, number>[] {
  const extras = readExtras(dir);
  return new RunDir(dir).readEvals().map(({ type: _, ...rec }) => ({ ...(rec as Record<string, number>), ...extras.get(rec.step) }));
}

export interface RunTrialOptions {
  /** Where to train instead of job.dir (a worker without the coordinator's file system). */
  dir?: string;
  /** Threads to use; else the job's suggestion; else `rose train`'s default. */
  threads?: number;
  /** Told the checkpoint step before the child starts (null: from scratch). */
  onStart?: (resumedFrom: number | null) => void;
}

/**
 * Runs the job in a child process that dies with its parent (its IPC channel closes), so a killed worker
 * or sweep leaves no orphan writing into the run directory.
 */
export async function runTrial(job: TrialJob, opts: RunTrialOptions = {}): Promise<TrialOutcome> {
  const dir = opts.dir ?? job.dir;
  const resumedFrom = checkpointStep(dir);
  const threads = opts.threads ?? job.threads;
  const argv = [
    ...job.args,
    "--output-dir",
    dir,
    "--quiet",
    ...(job.stopAfterEpoch > 0 ? ["--stop-after-epoch", String(job.stopAfterEpoch)] : []),
    ...(resumedFrom !== null ? ["--resume"] : []),
    ...(threads ? ["--threads", String(threads)] : []),
  ];
  // A fresh start: rung measurements of an earlier, killed attempt belong to no checkpoint.
  if (resumedFrom === null) new RunDir(dir).removeExtraEvals();
  opts.onStart?.(resumedFrom);
  const child = spawn(process.execPath, [...LOADER, CHILD, `--sweep-extra=${JSON.stringify(job.extra ?? {})}`, ...argv], {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    // Its own process group: Ctrl-C at a worker's terminal lets the current trial finish.
    detached: true,
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  const code = await new Promise<number>((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig === "SIGKILL" ? 137 : 1))));
  if (code !== 0) {
    // The error line: `error: ...` from rose, or an uncaught exception's message line above its stack.
    const lines = err
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !/^at |^Node\.js v/.test(l));
    const last = lines.filter((l) => /^error: |^\w*Error\b/.test(l)).at(-1) ?? lines.at(-1) ?? `exit code ${code}`;
    throw new TrialError(`trial ${job.trial} (${dir}): ${last.replace(/^error: /, "")}`);
  }
  return { evals: readEvals(dir), finished: new RunDir(dir).has("trainerState"), resumedFrom, host: hostname(), dir };
}
