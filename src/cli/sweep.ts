import type { Command } from "commander";
import { ConfigError } from "../errors.ts";
import { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_TIMEOUT, startWorker, type WorkerOptions } from "../sweep/queue.ts";
import { SweepReporter } from "../sweep/report.ts";
import { sweep, type SweepOptions } from "../sweep/sweep.ts";
import { choice, int, num, pick } from "./flags.ts";

/** Sweep flags whose attribute names are the library's option names: a renamed option fails to compile here. */
const SWEEP_SAME_NAMED = [
  "outputDir",
  "space",
  "strategy",
  "trials",
  "objective",
  "robustExamples",
  "seeds",
  "seed",
  "eta",
  "rungs",
  "workers",
  "threads",
  "queue",
  "queueName",
  "queueTimeout",
] as const satisfies readonly (keyof SweepOptions)[];
type SweepFlags = Pick<SweepOptions, (typeof SWEEP_SAME_NAMED)[number]> & { plain?: boolean };

const WORKER_SAME_NAMED = [
  "queue",
  "queueName",
  "threads",
  "outputDir",
  "stallSeconds",
  "queueTimeout",
] as const satisfies readonly (keyof WorkerOptions)[];
type WorkerFlags = Pick<WorkerOptions, (typeof WORKER_SAME_NAMED)[number]>;

function intList(v: string): number[] {
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x))) throw new ConfigError(`not a list of integers: ${v}`);
  return xs;
}

export function registerSweep(program: Command): void {
  sweepOptions(program.command("sweep")).action(runSweep);
  workerOptions(program.command("worker")).action(runWorker);
}

function sweepOptions(cmd: Command): Command {
  return cmd
    .description("hyper-parameter search over rose train flags (grid, random or successive halving), locally or on a Redis queue")
    .usage("--output-dir DIR --space FILE.json [options] -- <rose train flags>")
    .requiredOption("--output-dir <dir>", "the sweep's directory (re-run with the same one to resume)")
    .requiredOption(
      "--space <file>",
      'JSON: {"upper": [60, 70, 80], "gamma": {"choice": [0.3, 0.5]}, "learning-rate": {"range": [1e-5, 1e-4], "log": true}}',
    )
    .option(
      "--strategy <s>",
      "grid | random | halving (default: grid, or random for a continuous space)",
      choice(["grid", "random", "halving"] as const),
    )
    .option("--trials <n>", "configurations to sample (random; halving over a continuous space)", int)
    .option(
      "--objective <metric>",
      "validation metric to optimise (default: the task's main metric), loss, or robust:RECIPE (accuracy under attack)",
    )
    .option("--robust-examples <n>", "validation examples attacked at each rung for robust:RECIPE", int, 50)
    .option("--seeds <list>", "train each configuration with these seeds (e.g. 1,2,3) and average", intList)
    .option("--seed <n>", "seed of the random sampling", int, 0)
    .option("--eta <n>", "halving: keep the best 1/eta at each rung", int, 3)
    .option("--rungs <epochs>", "halving: rung epochs, e.g. 1,3 (default 1, eta, eta^2, ...)", intList)
    .option("--workers <k>", "local worker processes", int, 1)
    .option("--threads <n>", "threads divided between the local workers (default: all cores)", int)
    .option("--queue <url>", "redis://HOST:PORT: run the trials on `rose worker` processes through a BullMQ queue")
    .option("--queue-name <name>", "the queue's name in Redis", DEFAULT_QUEUE_NAME)
    .option(
      "--queue-timeout <s>",
      "seconds Redis may stay unreachable before the sweep exits with status 1 (recorded results are kept: run it again to resume)",
      num,
      DEFAULT_QUEUE_TIMEOUT,
    )
    .option("--plain", "plain progress lines even on a terminal")
    .argument("[train-flags...]", "rose train flags shared by every trial (after --)");
}

async function runSweep(trainArgs: string[], f: SweepFlags): Promise<void> {
  const reporter = new SweepReporter(process.stderr, Boolean(process.stderr.isTTY) && !f.plain);
  const r = await sweep({ ...pick(f, SWEEP_SAME_NAMED), trainArgs, onEvent: (e) => reporter.handle(e) });
  process.stdout.write(
    `${JSON.stringify({ best: r.best, epochs_run: r.epochsRun, full_grid_epochs: r.fullGridEpochs, wall_seconds: +r.wallSeconds.toFixed(1), results: r.files })}\n`,
  );
}

function workerOptions(cmd: Command): Command {
  return cmd
    .description("take sweep trials from a Redis queue and run them (start on any number of machines)")
    .requiredOption("--queue <url>", "redis://HOST:PORT of the sweep's queue")
    .option("--queue-name <name>", "the queue's name in Redis", DEFAULT_QUEUE_NAME)
    .option("--threads <n>", "compute threads per trial (default: all cores)", int)
    .option("--output-dir <dir>", "train here, not in the sweep's directory (when it is not shared)")
    .option("--stall-seconds <s>", "seconds before a dead worker's trial is handed to another worker", num, 30)
    .option(
      "--queue-timeout <s>",
      "seconds Redis may stay unreachable before the worker exits with status 1, leaving its trial to another worker (default: --stall-seconds)",
      num,
    );
}

async function runWorker(f: WorkerFlags): Promise<void> {
  const log = (s: string) => process.stderr.write(`worker ${process.pid}: ${s}\n`);
  const w = await startWorker({ ...pick(f, WORKER_SAME_NAMED), log });
  // Listening before the line that says the worker is ready: a signal sent on seeing it is handled.
  const signalled = nextSignal();
  log(`waiting for trials on ${f.queue} (queue ${f.queueName})`);
  // Redis gone for --queue-timeout rejects `stopped`: main prints the one line and exits 1.
  await Promise.race([signalled, w.stopped]);
  // A second signal stops at once: the trial's child process ends with this one and the trial goes
  // back to the queue after --stall-seconds, to continue from its last checkpoint.
  const now = (signal: NodeJS.Signals) => {
    log(`stopping now (${signal})${w.current ? `; ${w.current} goes back to the queue` : ""}`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", now);
  process.once("SIGTERM", now);
  log(w.current ? `stopping after ${w.current} (signal again to stop now)` : "stopping");
  await w.close();
  process.exit(0);
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
