// Runs the study's steps: each step once (a step whose record exists is done and skipped on a rerun),
// up to `workers` at a time in dependency order, each timed in wall and CPU seconds (its process tree's
// user + system time), with the commit it ran at. A failed step blocks only the steps that need it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { RoseError } from "../../../src/errors.ts";
import { writeOutputFile } from "../../../src/node/outputs.ts";

export type StepKind = "data" | "baseline" | "tune" | "train" | "eval" | "attack" | "landscape";

export interface Step {
  /** Unique, path-like: "sst2/train/rose-first-seed1". */
  id: string;
  task: string;
  kind: StepKind;
  deps: string[];
  /** The step's timing record; written last, so its presence means the step finished. */
  record: string;
  /** Default: the record exists. */
  isDone?(): boolean;
  /** The child command, built when the step starts (it may read what its dependencies wrote). */
  command?(): string[];
  /** Receives the command's stdout (written whole once the command succeeds). */
  stdout?: string;
  /** An in-process step instead of a command. */
  run?(): Promise<void>;
  /** After success, before the record: compact or prune outputs. */
  finish?(): void;
}

export interface GitState {
  commit: string;
  dirty: boolean;
}

export interface StepRecord {
  step: string;
  kind: StepKind;
  task: string;
  command: string[] | null;
  wall_s: number;
  user_s: number;
  sys_s: number;
  cpu_s: number;
  commit: string;
  dirty: boolean;
  host: string;
  started: string;
  finished: string;
}

/** A step that failed; the message ends with the last lines of its log. */
export class StepError extends RoseError {}

export function gitState(cwd = process.cwd()): GitState {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, encoding: "utf8" }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

const active = new Set<ChildProcess>();
let stopping = false;

// A signal stops every running step's whole process tree (each runs in its own process group), then the
// study; finished steps keep their records, and a rerun continues from there.
function onSignal(sig: NodeJS.Signals): void {
  stopping = true;
  for (const c of active)
    if (c.pid)
      try {
        process.kill(-c.pid, sig);
      } catch {
        /* already gone */
      }
  process.stderr.write(`\nstudy: ${sig}: stopping the running steps; rerun the same command to continue\n`);
  // The study ends once its steps have; this is for a step that does not.
  setTimeout(() => process.exit(sig === "SIGINT" ? 130 : 143), 30_000).unref();
}

export interface Timed {
  code: number;
  stdout: string;
  wall: number;
  user: number;
  sys: number;
}

/**
 * Runs argv under bash, whose `times` builtin reports the user and system seconds of everything it
 * waited for (the command and every descendant the command waited for): portable CPU accounting for a
 * process tree, with no /usr/bin/time needed.
 */
export async function runTimed(argv: readonly string[], logFile: string): Promise<Timed> {
  const timesFile = join(tmpdir(), `study-times-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const script = 'f=$1; shift; "$@"; rc=$?; times > "$f"; exit $rc';
  mkdirSync(dirname(logFile), { recursive: true });
  appendFileSync(logFile, `\n$ ${argv.join(" ")}\n`);
  const t0 = performance.now();
  const child = spawn("bash", ["-c", script, "study-step", timesFile, ...argv], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, LC_ALL: "C" },
  });
  active.add(child);
  let stdout = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => appendFileSync(logFile, d));
  const code = await new Promise<number>((resolve) => child.on("close", (c, sig) => resolve(c ?? (sig ? 128 : 1))));
  active.delete(child);
  const wall = (performance.now() - t0) / 1000;
  let user = 0,
    sys = 0;
  if (existsSync(timesFile)) {
    // Second line: the children's "XmY.YYYs XmY.YYYs".
    const line = readFileSync(timesFile, "utf8").trim().split("\n")[1] ?? "";
    const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    [user = 0, sys = 0] = secs;
    rmSync(timesFile, { force: true });
  }
  return { code, stdout, wall, user, sys };
}

function tail(file: string, lines = 8): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

export interface RunOptions {
  workers: number;
  logDir: string;
  git: GitState;
  log: (line: string) => void;
}

export interface RunSummary {
  ran: string[];
  skipped: string[];
  failed: { id: string; message: string }[];
  /** Not run because a step they need failed. */
  blocked: string[];
  /** Stopped by a signal (not failed: a rerun continues them). */
  interrupted: string[];
}

async function runOne(s: Step, o: RunOptions): Promise<void> {
  const started = new Date().toISOString();
  const logFile = join(o.logDir, `${s.id.replace(/\//g, "__")}.log`);
  let command: string[] | null = null;
  let wall: number, user: number, sys: number;
  if (s.run) {
    const t0 = performance.now(),
      c0 = process.cpuUsage();
    await s.run();
    const c = process.cpuUsage(c0);
    [wall, user, sys] = [(performance.now() - t0) / 1000, c.user / 1e6, c.system / 1e6];
  } else {
    command = s.command!();
    const r = await runTimed(command, logFile);
    if (r.code !== 0) throw new StepError(`${s.id} failed (exit ${r.code}); log ${logFile}:\n${tail(logFile)}`);
    if (s.stdout) writeWhole(s.stdout, r.stdout);
    [wall, user, sys] = [r.wall, r.user, r.sys];
  }
  s.finish?.();
  const rec: StepRecord = {
    step: s.id,
    kind: s.kind,
    task: s.task,
    command,
    wall_s: round(wall),
    user_s: round(user),
    sys_s: round(sys),
    cpu_s: round(user + sys),
    commit: o.git.commit,
    dirty: o.git.dirty,
    host: hostname(),
    started,
    finished: new Date().toISOString(),
  };
  writeWhole(s.record, `${JSON.stringify(rec, null, 1)}\n`);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Writes a file whole (temporary file + rename), creating its folder. */
export function writeWhole(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeOutputFile(file, data);
}

/** Whether a signal stopped the run. */
export const interrupted = () => stopping;

/** Runs the steps not yet done, dependencies first, `workers` at a time. */
export async function runSteps(steps: readonly Step[], o: RunOptions): Promise<RunSummary> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const s of steps) for (const d of s.deps) if (!byId.has(d)) throw new RoseError(`step ${s.id} needs ${d}, which is not in the plan`);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const out: RunSummary = { ran: [], skipped: [], failed: [], blocked: [], interrupted: [] };
  const state = new Map<string, "done" | "failed" | "blocked" | "running" | "waiting">();
  for (const s of steps) {
    const done = s.isDone ? s.isDone() : existsSync(s.record);
    state.set(s.id, done ? "done" : "waiting");
    if (done) out.skipped.push(s.id);
  }
  o.log(`${out.skipped.length} of ${steps.length} steps already done; ${steps.length - out.skipped.length} to run`);
  const running = new Map<string, Promise<void>>();
  for (;;) {
    // Block what can no longer run; start what can.
    let changed = true;
    while (changed) {
      changed = false;
      for (const s of steps) {
        if (state.get(s.id) !== "waiting") continue;
        if (s.deps.some((d) => ["failed", "blocked"].includes(state.get(d)!))) {
          state.set(s.id, "blocked");
          out.blocked.push(s.id);
          changed = true;
        }
      }
    }
    for (const s of steps) {
      if (stopping || running.size >= o.workers) break;
      if (state.get(s.id) !== "waiting" || !s.deps.every((d) => state.get(d) === "done")) continue;
      state.set(s.id, "running");
      o.log(`start  ${s.id}`);
      const t0 = performance.now();
      running.set(
        s.id,
        runOne(s, o)
          .then(
            () => {
              state.set(s.id, "done");
              out.ran.push(s.id);
              o.log(`done   ${s.id} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
            },
            (e: unknown) => {
              state.set(s.id, "failed");
              if (stopping) {
                out.interrupted.push(s.id);
                o.log(`stopped ${s.id}`);
                return;
              }
              const message = e instanceof Error ? e.message : String(e);
              out.failed.push({ id: s.id, message });
              o.log(`FAILED ${s.id}: ${message}`);
            },
          )
          .finally(() => running.delete(s.id)),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return out;
}
