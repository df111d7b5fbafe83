// `sweep(options)`: hyper-parameter search over `rose train` flags. Builds the trials from the space, runs
// them rung by rung on a runner (local child processes, or a BullMQ queue), records every rung result in
// DIR/state.json as it comes, and writes the results table and the best configuration at the end.
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { ConfigError } from "../errors.ts";
import { taskByName } from "../data/task-data.ts";
import type { Task } from "../data/tasks.ts";
import { isRecipeName, RECIPE_NAMES } from "../robust/recipes.ts";
import type { ExtraEvals } from "./extra-evals.ts";
import type { FineTuneOptions } from "../train/fine-tune.ts";
import { objectiveMode, promote, rungPlan, scoreOf } from "./halving.ts";
import { LocalRunner, type Runner } from "./local.ts";
import { DEFAULT_QUEUE_NAME, QueueRunner } from "./queue.ts";
import { queueTimeoutMs } from "./reachability.ts";
import { type BestConfig, shellQuote, type SweepResult, type TrialRow, writeResults } from "./results.ts";
import { type Config, configWords, type Dimension, grid, isGridable, parseSpace, readSpace, sample, type SpaceSpec } from "./space.ts";
import { loadState, openSweep, rungKey, saveState, type SweepSpec, type SweepState, type TrialSpec } from "./state.ts";
import { spellings } from "../train/flag-spec.ts";
import { parseTrainArgs, trainOption } from "./train-flags.ts";
import { TrialError, type TrialOutcome } from "./trial.ts";

export type Strategy = "grid" | "random" | "halving";

export interface SweepOptions {
  /** The sweep's directory: sweep.json, state.json, results, and trials/NNN run directories. */
  outputDir: string;
  /** A space file (JSON) or the space itself. */
  space: string | SpaceSpec;
  /** The fixed `rose train` flags (must include --train-file and --validation-file). */
  trainArgs: string[];
  /** Default: grid when every dimension is finite, else random. */
  strategy?: Strategy;
  /** Configurations to sample (random, and halving over a continuous space). */
  trials?: number;
  /** A validation metric (default: the task's main metric), `loss` (minimised), or `robust:RECIPE`:
   * accuracy under that attack recipe on the first `robustExamples` validation examples. */
  objective?: string;
  /** Validation examples attacked per rung for a `robust:RECIPE` objective (default 50). */
  robustExamples?: number;
  /** Train every configuration once per seed (--seed of rose train); scores are averaged. */
  seeds?: number[];
  /** Seed of the random sampling. */
  seed?: number;
  /** Halving keeps the best 1/eta at each rung (default 3). */
  eta?: number;
  /** Halving rungs in epochs (default 1, eta, eta^2, ... below the trials' epochs). */
  rungs?: number[];
  /** Local worker processes (default 1). */
  workers?: number;
  /** Threads divided between the local workers (default: all cores). */
  threads?: number;
  /** redis://HOST:PORT: run the trials on `rose worker` processes through this BullMQ queue. */
  queue?: string;
  queueName?: string;
  /** Seconds Redis may stay unreachable before a queued sweep stops (default 30); what it recorded is kept. */
  queueTimeout?: number;
  onEvent?: (e: SweepEvent) => void;
}

export type SweepEvent =
  | { type: "plan"; strategy: Strategy; objective: string; rungs: number[]; trials: TrialSpec[] }
  | { type: "start"; trial: number; rung: number; host?: string; resumedFrom: number | null }
  | { type: "result"; trial: number; rung: number; score: number | null; finished: boolean; cached: boolean }
  | { type: "failed"; trial: number; rung: number; message: string }
  | { type: "pruned"; trial: number; rung: number }
  | { type: "done"; result: SweepResult }
  /** The queue's Redis went away or came back, or reported another error: one line to show. */
  | { type: "queue"; message: string };

const VALID_METRICS_CUSTOM = ["accuracy", "f1", "macro_f1", "pearson", "spearmanr"];

/** Everything decided before a trial runs; the same options always give the same plan. */
export function planSweep(o: SweepOptions): SweepSpec {
  const fixed = parseTrainArgs(o.trainArgs);
  if (!fixed.trainFile) throw new ConfigError("train flags: --train-file is required");
  if (!fixed.validationFile) throw new ConfigError("train flags: --validation-file is required: trials are scored on it");
  const where = typeof o.space === "string" ? o.space : "search space";
  const dims = parseSpace(typeof o.space === "string" ? readSpace(o.space) : o.space, where);
  checkFixedFlags(o, dims, where);
  const task = taskByName(fixed.task);
  const objective = o.objective ?? task.mainMetric;
  const extra = objectiveEvals(objective, task, o.robustExamples);
  const mode = objectiveMode(objective);
  const strategy = o.strategy ?? (isGridable(dims) ? "grid" : "random");
  const configs = chooseConfigs(strategy, dims, o, where);
  const eta = o.eta ?? 3;
  const rungs = planRungs(strategy, fixed, configs, eta, o.rungs);
  const trials = trialSpecs(o, dims, configs);
  return { strategy, objective, mode, extra, eta, rungs, trainArgs: [...o.trainArgs], flags: dims.map((d) => d.flag), configs, trials };
}

/** A flag is in the space or among the fixed train flags, not both; --seeds excludes a fixed --seed. */
function checkFixedFlags(o: SweepOptions, dims: readonly Dimension[], where: string): void {
  for (const d of dims) {
    const spelled: string[] = spellings(trainOption(d.flag, where).spec);
    if (o.trainArgs.some((a) => spelled.includes(a.split("=")[0]!)))
      throw new ConfigError(`${where}: ${d.flag} is both in the space and among the fixed train flags`);
  }
  if (o.seeds && o.trainArgs.some((a) => a === "--seed" || a.startsWith("--seed=")))
    throw new ConfigError("--seeds and a fixed --seed train flag exclude each other");
}

/** What each rung measures besides the trainer's evaluation to score `objective`; refuses an unknown one. */
function objectiveEvals(objective: string, task: Task, robustExamples = 50): ExtraEvals {
  if (objective === "loss") return { loss: true };
  if (objective.startsWith("robust:")) {
    const recipe = objective.slice("robust:".length);
    if (!isRecipeName(recipe))
      throw new ConfigError(`--objective ${objective}: unknown attack recipe ${recipe} (${RECIPE_NAMES.join(", ")})`);
    if (!(Number.isInteger(robustExamples) && robustExamples > 0))
      throw new ConfigError(`--robust-examples must be a positive integer, got ${robustExamples}`);
    return { robust: { recipe, examples: robustExamples } };
  }
  const known: readonly string[] = task.name === "custom" ? VALID_METRICS_CUSTOM : task.metrics;
  if (!known.includes(objective)) {
    throw new ConfigError(
      `--objective ${objective}: not a validation metric of task ${task.name} (${[...known, "loss", "robust:RECIPE"].join(", ")})`,
    );
  }
  return {};
}

/** The configurations to train: the whole grid, or `trials` samples. */
function chooseConfigs(strategy: Strategy, dims: readonly Dimension[], o: SweepOptions, where: string): Config[] {
  if (!["grid", "random", "halving"].includes(strategy))
    throw new ConfigError(`--strategy must be grid, random or halving, got ${strategy}`);
  if (o.trials !== undefined && !(Number.isInteger(o.trials) && o.trials > 0))
    throw new ConfigError(`--trials must be a positive integer, got ${o.trials}`);
  if (strategy === "grid") {
    if (o.trials !== undefined) throw new ConfigError("--trials is for random and halving; a grid runs every combination");
    return grid(dims, where);
  }
  if (strategy === "halving" && isGridable(dims) && o.trials === undefined) return grid(dims, where);
  return sample(dims, o.trials ?? 16, o.seed ?? 0);
}

/** Rung stops in epochs, up to the longest trial's epochs. */
function planRungs(strategy: Strategy, fixed: FineTuneOptions, configs: readonly Config[], eta: number, given?: number[]): number[] {
  // The description's defaults are filled in: maxSteps and numTrainEpochs are set.
  const maxSteps = fixed.maxSteps!,
    numTrainEpochs = fixed.numTrainEpochs!;
  if (strategy === "halving" && !given?.length && maxSteps > 0)
    throw new ConfigError("halving with --max-steps: give the rungs in epochs with --rungs");
  const epochs = Math.ceil(Math.max(numTrainEpochs, ...configs.map((c) => Number(c["--num-train-epochs"] ?? 0))));
  return rungPlan(strategy, maxSteps > 0 ? Number.MAX_SAFE_INTEGER : epochs, eta, given);
}

/** One trial per configuration and seed, with its run directory and its `rose train` flags. */
function trialSpecs(o: SweepOptions, dims: readonly Dimension[], configs: readonly Config[]): TrialSpec[] {
  const seeds: (number | null)[] = o.seeds?.length ? o.seeds : [null];
  const trials: TrialSpec[] = [];
  configs.forEach((params, config) => {
    for (const seed of seeds) {
      const index = trials.length;
      const args = [...o.trainArgs, ...configWords(dims, params), ...(seed !== null ? ["--seed", String(seed)] : [])];
      trials.push({ index, config, params, seed, dir: join("trials", String(index).padStart(3, "0")), args });
    }
  });
  return trials;
}

/** What the rungs of a running sweep share. */
interface SweepRun {
  plan: SweepSpec;
  sweepId: string;
  outputDir: string;
  state: SweepState;
  runner: Runner;
  /** Threads per local trial; undefined: the trial's own. */
  threads: number | undefined;
  emit: (e: SweepEvent) => void;
}

export async function sweep(o: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  const workers = o.workers ?? 1;
  if (!(Number.isInteger(workers) && workers > 0)) throw new ConfigError(`--workers must be a positive integer, got ${o.workers}`);
  if (o.queueTimeout !== undefined) queueTimeoutMs(o.queueTimeout);
  const plan = planSweep(o);
  const outputDir = resolve(o.outputDir);
  const emit = o.onEvent ?? (() => {});
  const file = openSweep(outputDir, plan);
  const state = loadState(outputDir);
  // Local trials share the machine: each gets its part of the threads, unless the train flags fix them.
  const threads =
    o.queue || o.trainArgs.some((a) => a.split("=")[0] === "--threads")
      ? undefined
      : Math.max(1, Math.floor((o.threads ?? availableParallelism()) / workers));
  const runner: Runner = o.queue
    ? await QueueRunner.open({
        url: o.queue,
        name: o.queueName ?? DEFAULT_QUEUE_NAME,
        sweepId: file.id,
        outputDir,
        queueTimeout: o.queueTimeout,
        log: (message) => emit({ type: "queue", message }),
      })
    : new LocalRunner(workers);
  emit({ type: "plan", strategy: plan.strategy, objective: plan.objective, rungs: plan.rungs, trials: plan.trials });
  let pruned: Map<number, number>;
  try {
    pruned = await runRungs({ plan, sweepId: file.id, outputDir, state, runner, threads, emit });
  } finally {
    await runner.close();
  }
  const result = summarize(plan, state, outputDir, pruned, (performance.now() - t0) / 1000);
  const files = writeResults(outputDir, result, plan.flags, plan.rungs.length);
  const done = { ...result, files };
  emit({ type: "done", result: done });
  return done;
}

/** Runs the rungs in turn, each configuration's trials at once; returns the rung after which each pruned trial stopped. */
async function runRungs(s: SweepRun): Promise<Map<number, number>> {
  const { plan, emit } = s;
  const byConfig = plan.configs.map((_, c) => plan.trials.filter((t) => t.config === c));
  const pruned = new Map<number, number>();
  let active = plan.configs.map((_, c) => c);
  for (let rung = 0; rung < plan.rungs.length; rung++) {
    const scores = await Promise.all(
      active.map(async (c) => {
        const v = (await Promise.all(byConfig[c]!.map((t) => runRung(s, t, rung)))).filter((x): x is number => x !== null);
        return [c, v.length ? v.reduce((a, b) => a + b, 0) / v.length : null] as const;
      }),
    );
    if (rung === plan.rungs.length - 1) break;
    const keep = new Set(promote(new Map(scores), plan.eta, plan.mode));
    for (const c of active) {
      if (keep.has(c)) continue;
      for (const t of byConfig[c]!) {
        pruned.set(t.index, rung);
        emit({ type: "pruned", trial: t.index, rung });
      }
    }
    active = active.filter((c) => keep.has(c));
  }
  return pruned;
}

/** One trial's rung: its recorded score, or trained now and recorded; null when it failed. */
async function runRung(s: SweepRun, t: TrialSpec, rung: number): Promise<number | null> {
  const { plan, state, emit } = s;
  const key = rungKey(t.index, rung);
  const rec = state[key];
  if (rec?.outcome) {
    emit({ type: "result", trial: t.index, rung, score: rec.score ?? null, finished: rec.outcome.finished, cached: true });
    return rec.score ?? null;
  }
  // A trial that already trained to its end (fewer epochs than this rung) has nothing left to run.
  const before = rung > 0 ? state[rungKey(t.index, rung - 1)]?.outcome : undefined;
  const outcome = before?.finished ? before : await trainRung(s, t, rung);
  if (outcome === null) return null;
  const score = scoreOf(outcome.evals, plan.objective, plan.mode);
  if (score === null) {
    // Trained, but without the objective: record why, so the trial shows as failed and is retried on a re-run.
    const keys = [...new Set(outcome.evals.flatMap((e) => Object.keys(e)))].filter((k) => k !== "step" && k !== "epoch");
    recordFailure(s, t, rung, `trial ${t.index} (${outcome.dir}): no ${plan.objective} in its evaluations (${keys.join(", ") || "none"})`);
    return null;
  }
  state[key] = { outcome, score };
  saveState(s.outputDir, state);
  emit({ type: "result", trial: t.index, rung, score, finished: outcome.finished, cached: false });
  return score;
}

/** Trains a trial to the end of a rung on the runner; null (recorded) when the trial failed. */
async function trainRung(s: SweepRun, t: TrialSpec, rung: number): Promise<TrialOutcome | null> {
  try {
    return await s.runner.run(
      {
        sweepId: s.sweepId,
        trial: t.index,
        rung,
        dir: join(s.outputDir, t.dir),
        args: t.args,
        stopAfterEpoch: s.plan.rungs[rung]!,
        threads: s.threads,
        extra: s.plan.extra,
      },
      (info) => s.emit({ type: "start", trial: t.index, rung, ...info }),
    );
  } catch (e) {
    if (!(e instanceof TrialError)) throw e;
    recordFailure(s, t, rung, e.message);
    return null;
  }
}

function recordFailure(s: SweepRun, t: TrialSpec, rung: number, message: string): void {
  s.state[rungKey(t.index, rung)] = { error: message };
  saveState(s.outputDir, s.state);
  s.emit({ type: "failed", trial: t.index, rung, message });
}

function summarize(
  plan: SweepSpec,
  state: SweepState,
  outputDir: string,
  pruned: Map<number, number>,
  wallSeconds: number,
): Omit<SweepResult, "files"> {
  const rows = plan.trials.map((t) => trialRow(plan, state, outputDir, pruned, t));
  const fullEpochs = Math.max(0, ...rows.filter((r) => r.state === "finished").map((r) => r.epochs));
  return {
    outputDir,
    strategy: plan.strategy,
    objective: plan.objective,
    mode: plan.mode,
    trials: rows,
    best: bestConfig(plan, rows),
    epochsRun: rows.reduce((a, r) => a + r.epochs, 0),
    fullGridEpochs: fullEpochs * plan.trials.length,
    wallSeconds,
  };
}

/** A trial's row of the results: the last rung it reached, its scores, its state. */
function trialRow(plan: SweepSpec, state: SweepState, outputDir: string, pruned: Map<number, number>, t: TrialSpec): TrialRow {
  const last = plan.rungs.length - 1;
  const recs = plan.rungs.map((_, r) => state[rungKey(t.index, r)]);
  let reached = recs.length - 1;
  while (reached >= 0 && !recs[reached]?.outcome) reached--;
  const outcome = reached >= 0 ? recs[reached]!.outcome! : undefined;
  const error = recs.find((r) => r?.error)?.error;
  const evals = outcome?.evals ?? [];
  const stateName: TrialRow["state"] = error ? "failed" : reached === last ? "finished" : pruned.has(t.index) ? "pruned" : "pending";
  return {
    trial: t.index,
    config: t.config,
    seed: t.seed,
    params: t.params,
    state: stateName,
    rung: reached,
    epochs: Math.ceil(evals.at(-1)?.epoch ?? 0),
    score: reached >= 0 ? (recs[reached]!.score ?? null) : null,
    rungScores: recs.map((r) => r?.score ?? null),
    metrics: evals.at(-1) ?? {},
    dir: outcome?.dir ?? join(outputDir, t.dir),
    ...(outcome ? { host: outcome.host } : {}),
    ...(error ? { error } : {}),
  };
}

/** The configuration with the best mean score over its seeds, among those whose every trial finished. */
function bestConfig(plan: SweepSpec, rows: readonly TrialRow[]): BestConfig | null {
  let best: BestConfig | null = null;
  const better = (a: number, b: number) => (plan.mode === "max" ? a > b : a < b);
  plan.configs.forEach((params, c) => {
    const ts = rows.filter((r) => r.config === c && r.state === "finished" && r.score !== null);
    if (ts.length === 0 || ts.length < rows.filter((r) => r.config === c).length) return;
    const score = ts.reduce((a, r) => a + r.score!, 0) / ts.length;
    if (best && !better(score, best.score)) return;
    const top = ts.reduce((a, r) => (better(r.score!, a.score!) ? r : a));
    const flags = plan.flags
      .flatMap((f) => (typeof params[f] === "boolean" ? (params[f] ? [f] : []) : [f, String(params[f])]))
      .map(shellQuote)
      .join(" ");
    best = {
      config: c,
      params,
      score,
      flags,
      command: `rose train ${[...plan.trainArgs.map(shellQuote), flags].join(" ")}`,
      trial: top.trial,
      modelDir: top.dir,
    };
  });
  return best;
}
