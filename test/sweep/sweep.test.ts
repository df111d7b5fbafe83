// End to end: rungs pause and resume exactly; a local sweep, a killed-and-resumed local sweep and a sweep
// on a real Redis queue (BullMQ) with two workers, one SIGKILLed mid-trial, all give the same results.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Queue } from "bullmq";
import { ConfigError, QueueError } from "../../src/errors.ts";
import { fineTune } from "../../src/app/train.ts";
import type { SweepResult } from "../../src/sweep/results.ts";
import { type SweepEvent, type SweepOptions, sweep } from "../../src/sweep/sweep.ts";
import { spawnRose, type Watched } from "../helpers/child.ts";
import { freePort, type RedisServer, startRedis } from "../helpers/redis.ts";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";
import { needsProgram } from "../helpers/services.ts";

const data = writeSentimentData(96, 32);
const tmp = () => mkdtempSync(join(tmpdir(), "rose-sweep-"));
// 12 optimizer steps an epoch, 3 epochs, a checkpoint every 2 steps: room to kill a trial mid-epoch.
const trainArgs = [
  "--model",
  GOLDEN_BERT,
  "--train-file",
  data.train,
  "--validation-file",
  data.dev,
  "--method",
  "rose-ensemble",
  "--num-train-epochs",
  "3",
  "--batch-size",
  "8",
  "--save-steps",
  "2",
  "--warmup-steps",
  "2",
  "--logging-steps",
  "1",
  "--seed",
  "7",
];
const space = { "learning-rate": [3e-3, 1e-3], upper: [50, 90] };
const base: Omit<SweepOptions, "outputDir"> = { space, trainArgs, strategy: "halving", eta: 2, rungs: [1], threads: 2 };

/** What must not depend on where or how the trials ran. */
function essence(r: SweepResult) {
  return {
    best: r.best && { config: r.best.config, score: r.best.score, flags: r.best.flags, trial: r.best.trial },
    trials: r.trials.map((t) => ({
      trial: t.trial,
      params: t.params,
      state: t.state,
      rung: t.rung,
      epochs: t.epochs,
      rungScores: t.rungScores,
      metrics: t.metrics,
    })),
    epochsRun: r.epochsRun,
  };
}

const stripRate = (f: string) => readFileSync(f, "utf8").replace(/"samples_per_s":[0-9.e+-]+/g, "");

test("a trial paused at a rung and resumed ends exactly as an uninterrupted run", async () => {
  const opts = {
    model: GOLDEN_BERT,
    trainFile: data.train,
    validationFile: data.dev,
    quiet: true,
    rose: { method: "rose-ensemble" as const },
    learningRate: 1e-3,
    numTrainEpochs: 3,
    batchSize: 8,
    loggingSteps: 1,
    warmupSteps: 2,
    saveSteps: 0,
  };
  const full = tmp(),
    paused = tmp();
  await fineTune({ ...opts, outputDir: full });
  const r1 = await fineTune({ ...opts, outputDir: paused, stopAfterEpoch: 1 });
  assert.equal(r1.stopped, true);
  assert.equal(r1.globalStep, 12);
  assert.ok(!existsSync(join(paused, "model.safetensors")), "no final model at a pause");
  // Resuming with the same pause returns at once: nothing is trained twice.
  const again = await fineTune({ ...opts, outputDir: paused, stopAfterEpoch: 1, resume: true });
  assert.equal(again.globalStep, 12);
  await fineTune({ ...opts, outputDir: paused, resume: true });
  assert.deepEqual(readFileSync(join(paused, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
  assert.equal(stripRate(join(paused, "metrics.jsonl")), stripRate(join(full, "metrics.jsonl")));
});

let reference: SweepResult;
const localDir = tmp();

test("a local halving sweep with two workers: prunes half after epoch 1, writes results and the best configuration", async () => {
  const events: SweepEvent[] = [];
  reference = await sweep({ ...base, outputDir: localDir, workers: 2, onEvent: (e) => events.push(e) });
  assert.deepEqual(reference.trials.map((t) => t.state).sort(), ["finished", "finished", "pruned", "pruned"]);
  assert.equal(reference.epochsRun, 2 * 1 + 2 * 3, "pruned trials stop after one epoch");
  assert.equal(reference.fullGridEpochs, 12);
  for (const t of reference.trials) assert.equal(t.rungScores[0], t.state === "pruned" ? t.score : t.rungScores[0]);
  assert.equal(events.filter((e) => e.type === "pruned").length, 2);
  const best = reference.best!;
  assert.ok(best, "a best configuration");
  assert.match(best.flags, /^--learning-rate [0-9.e-]+ --upper (50|90)$/);
  assert.ok(existsSync(join(best.modelDir, "model.safetensors")), "the best model directory holds a model");
  const finished = reference.trials.filter((t) => t.state === "finished").map((t) => t.score!);
  assert.equal(best.score, Math.max(...finished));
  const csv = readFileSync(reference.files.csv, "utf8").trim().split("\n");
  assert.equal(csv.length, 5);
  assert.match(csv[0]!, /^trial,seed,learning-rate,upper,state,rung,epochs,score,score_rung0,score_rung1,accuracy,f1,dir,error$/);
  // Re-running the finished sweep trains nothing and reports the same.
  const events2: SweepEvent[] = [];
  const rerun = await sweep({ ...base, outputDir: localDir, workers: 2, onEvent: (e) => events2.push(e) });
  assert.equal(events2.filter((e) => e.type === "start").length, 0);
  assert.deepEqual(essence(rerun), essence(reference));
});

test("objectives beyond the trainer's metrics: validation loss (minimised) and accuracy under attack, measured at each rung", async () => {
  const args = trainArgs.map((a) => (a === "3" ? "2" : a));
  const lossRun = await sweep({
    ...base,
    trainArgs: args,
    space: { "learning-rate": [3e-3, 1e-5] },
    outputDir: tmp(),
    objective: "loss",
    workers: 2,
  });
  assert.equal(lossRun.mode, "min");
  const [hi, lo] = lossRun.trials;
  assert.ok(hi!.rungScores[0]! > 0 && lo!.rungScores[0]! > 0);
  // The promoted trial had the lower loss at the rung.
  const promoted = lossRun.trials.find((t) => t.state === "finished")!,
    pruned = lossRun.trials.find((t) => t.state === "pruned")!;
  assert.ok(promoted.rungScores[0]! < pruned.rungScores[0]!, `${promoted.rungScores[0]} < ${pruned.rungScores[0]}`);
  assert.ok(promoted.metrics.loss! > 0, "the loss is in the last evaluation's metrics");
  const robust = await sweep({
    ...base,
    trainArgs: args,
    strategy: "grid",
    space: { upper: [70] },
    outputDir: tmp(),
    objective: "robust:deepwordbug",
    robustExamples: 6,
  });
  const t = robust.trials[0]!;
  assert.equal(t.state, "finished");
  assert.ok(t.score! >= 0 && t.score! <= 1 && Number.isInteger(t.score! * 6), `accuracy under attack on 6 examples: ${t.score}`);
  assert.equal(robust.best!.score, t.score);
});

function cli(args: string[]): { child: ChildProcess; done: Promise<number>; err: () => string } {
  const child = spawn(process.execPath, ["bin/rose.js", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig ? 137 : 1))));
  return { child, done, err: () => err };
}

function step(dir: string): number | null {
  const p = join(dir, "last_checkpoint.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as { step: number }).step : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a local sweep killed mid-trial resumes: recorded rungs are not rerun, running trials continue from their checkpoints", async () => {
  const dir = tmp();
  writeFileSync(join(dir, "..", `${dir.split("/").at(-1)}.space.json`), JSON.stringify(space));
  const spaceFile = join(dir, "..", `${dir.split("/").at(-1)}.space.json`);
  const args = [
    "sweep",
    "--output-dir",
    dir,
    "--space",
    spaceFile,
    "--strategy",
    "halving",
    "--eta",
    "2",
    "--rungs",
    "1",
    "--workers",
    "2",
    "--threads",
    "2",
    "--plain",
    "--",
    ...trainArgs,
  ];
  const run = cli(args);
  // Kill once the first rung is recorded and a promoted trial is past its epoch-1 checkpoint (step 12).
  let killed = false;
  while (!killed) {
    const state = existsSync(join(dir, "state.json"))
      ? (JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Record<string, unknown>)
      : {};
    const running = existsSync(join(dir, "trials"))
      ? readdirSync(join(dir, "trials")).filter((t) => (step(join(dir, "trials", t)) ?? 0) > 12)
      : [];
    if (Object.keys(state).length >= 4 && running.length > 0 && running.every((t) => step(join(dir, "trials", t))! < 36)) {
      run.child.kill("SIGKILL");
      killed = true;
    }
    if (await Promise.race([run.done.then(() => true), sleep(20).then(() => false)])) break;
  }
  assert.ok(killed, `the sweep was killed mid-trial (it ended first: ${run.err()})`);
  await run.done;
  assert.ok(!existsSync(join(dir, "results.json")));
  const events: SweepEvent[] = [];
  const resumed = await sweep({ ...base, space: spaceFile, outputDir: dir, workers: 2, onEvent: (e) => events.push(e) });
  const starts = events.filter((e): e is Extract<SweepEvent, { type: "start" }> => e.type === "start");
  assert.ok(
    starts.every((s) => s.rung === 1),
    "no first-rung trial ran again",
  );
  assert.ok(
    starts.some((s) => (s.resumedFrom ?? 0) > 12),
    "a trial continued from a mid-run checkpoint",
  );
  assert.deepEqual(essence(resumed), essence(reference));
});

// ---- Redis: a real redis-server on loopback, started and stopped here.

let redis: RedisServer | undefined;
const workers: Watched[] = [];
const servers: RedisServer[] = [];
after(async () => {
  for (const w of workers) w.kill();
  await redis?.stop();
  for (const s of servers) await s.stop();
});

test("a sweep on a Redis queue with two workers, one SIGKILLed mid-trial: every trial finishes once, results equal the local sweep", {
  skip: needsProgram("redis-server", "redis-server"),
}, async () => {
  redis = await startRedis();
  const dir = tmp();
  const startWorker = () => {
    const w = spawnRose(["worker", "--queue", redis!.url, "--threads", "1", "--stall-seconds", "2"], { needs: [GOLDEN_BERT] });
    workers.push(w);
    return w;
  };
  const a = startWorker(),
    b = startWorker();
  const sweeping = sweep({ ...base, outputDir: dir, queue: redis.url });
  // Kill worker A while it trains past a checkpoint and before the trial's rung ends.
  let killedTrial: { trial: number; rung: number; step: number } | null = null;
  let finished = false;
  void sweeping.then(
    () => (finished = true),
    () => (finished = true),
  );
  while (!killedTrial && !finished) {
    // A worker that died on its own would leave the sweep waiting for ever.
    for (const w of [a, b]) if (w.exit) assert.fail(`a worker ${w.exit.code ?? w.exit.signal} early:\n${w.stderr}`);
    const starts = [...a.stderr.matchAll(/trial (\d+) rung (\d+): start/g)];
    const dones = [...a.stderr.matchAll(/trial (\d+) rung (\d+): done/g)].length;
    const cur = starts.length > dones ? starts.at(-1)! : null;
    if (cur) {
      const trial = Number(cur[1]),
        rung = Number(cur[2]);
      const s = step(join(dir, "trials", String(trial).padStart(3, "0")));
      const end = rung === 0 ? 12 : 36,
        begin = rung === 0 ? 0 : 12;
      if (s !== null && s > begin && s < end) {
        a.child.kill("SIGKILL");
        killedTrial = { trial, rung, step: s };
      }
    }
    await sleep(20);
  }
  assert.ok(killedTrial, `worker A was killed mid-trial (A's log: ${a.stderr})`);
  const result = await sweeping;
  const { trial, rung } = killedTrial;
  // Worker B took the stalled job over and continued from the killed trial's checkpoint.
  assert.match(b.stderr, new RegExp(`trial ${trial} rung ${rung}: start \\(resuming from step \\d+\\)`));
  assert.deepEqual(essence(result), essence(reference));
  for (const t of result.trials.filter((t) => t.state === "finished")) {
    assert.deepEqual(
      readFileSync(join(t.dir, "model.safetensors")),
      readFileSync(join(reference.trials[t.trial]!.dir, "model.safetensors")),
      `trial ${t.trial}: the same model`,
    );
  }
  // Exactly once: one completed job per (trial, rung), and no evaluation logged twice.
  const q = new Queue("rose-sweep", { connection: { host: "127.0.0.1", port: Number(new URL(redis.url).port) } });
  const counts = await q.getJobCounts("completed", "failed", "active", "waiting", "delayed");
  await q.close();
  assert.deepEqual(counts, { completed: 6, failed: 0, active: 0, waiting: 0, delayed: 0 });
  for (const t of result.trials) {
    const epochs = readFileSync(join(t.dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; epoch: number })
      .filter((r) => r.type === "eval")
      .map((r) => r.epoch);
    assert.deepEqual(
      epochs,
      Array.from({ length: t.epochs }, (_, i) => i + 1),
      `trial ${t.trial} evaluations`,
    );
  }
  b.child.kill("SIGTERM");
  assert.deepEqual(await b.exitWithin(30_000), { code: 0, signal: null }, b.stderr);
});

test("bad queues: unreachable Redis and a queue left by another sweep fail with one line, losing nothing", {
  skip: needsProgram("redis-server", "redis-server"),
}, async () => {
  const dir = tmp();
  cpSync(localDir, dir, { recursive: true });
  const before = readFileSync(join(dir, "state.json"), "utf8");
  const port = await freePort();
  await assert.rejects(
    sweep({ ...base, outputDir: dir, queue: `redis://127.0.0.1:${port}` }),
    (e: Error) =>
      e instanceof QueueError && e.message.startsWith(`cannot reach Redis at redis://127.0.0.1:${port}`) && !e.message.includes("\n"),
  );
  await assert.rejects(sweep({ ...base, outputDir: dir, queue: "http://x" }), /expected a redis:\/\/ URL/);
  await assert.rejects(
    sweep({ ...base, outputDir: dir, queue: redis!.url, queueTimeout: 0 }),
    (e: Error) => e instanceof ConfigError && e.message === "--queue-timeout must be a positive number of seconds, got 0",
  );
  // Another sweep's job waiting in the queue.
  const q = new Queue("rose-sweep", { connection: { host: "127.0.0.1", port: Number(new URL(redis!.url).port) } });
  await q.add(
    "trial",
    { sweepId: "another", trial: 0, rung: 0, dir: "/elsewhere/sweep/trials/000", args: [], stopAfterEpoch: 0 },
    { jobId: "another.0.0" },
  );
  await assert.rejects(
    sweep({ ...base, outputDir: dir, queue: redis!.url }),
    (e: Error) =>
      e instanceof QueueError &&
      /queue rose-sweep at redis:\/\/127\.0\.0\.1:\d+ holds 1 unfinished trial job\(s\) of another sweep \(\/elsewhere\/sweep\)/.test(
        e.message,
      ),
  );
  await q.obliterate({ force: true });
  await q.close();
  assert.equal(readFileSync(join(dir, "state.json"), "utf8"), before, "the finished results are untouched");
});

test("Redis gone while a queued sweep waits: one line when it goes, one when it is back; past --queue-timeout it stops with one line, keeping its results", {
  skip: needsProgram("redis-server", "redis-server"),
}, async () => {
  const server = await startRedis();
  servers.push(server);
  // The finished local sweep less one recorded rung: that rung waits in the queue, where no worker takes it.
  const dir = tmp();
  cpSync(localDir, dir, { recursive: true });
  const redo = reference.trials.find((t) => t.state === "finished")!.trial;
  const recorded = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Record<string, unknown>;
  delete recorded[`${redo}/1`];
  writeFileSync(join(dir, "state.json"), JSON.stringify(recorded));
  const before = readFileSync(join(dir, "state.json"), "utf8");
  const spaceFile = join(dir, "..", `${basename(dir)}.space.json`);
  writeFileSync(spaceFile, JSON.stringify(space));
  const flags = ["--output-dir", dir, "--space", spaceFile, "--strategy", "halving", "--eta", "2", "--rungs", "1", "--threads", "2"];
  const s = spawnRose(["sweep", ...flags, "--plain", "--queue", server.url, "--queue-timeout", "4", "--", ...trainArgs], {
    needs: [GOLDEN_BERT],
  });
  workers.push(s);
  const q = new Queue("rose-sweep", { connection: { host: "127.0.0.1", port: server.port } });
  while ((await q.getJobCounts("waiting")).waiting === 0) {
    if (s.exit) assert.fail(`the sweep ended before queueing its rung:\n${s.stderr}`);
    await sleep(50);
  }
  await q.close();

  // Gone, and back within --queue-timeout: the sweep goes on waiting.
  await server.save();
  await server.stop();
  await s.output(/queue unreachable \([^)]+\); stopping in 4 s unless it comes back/, 20_000);
  const back = await startRedis({ port: server.port, dir: server.dir });
  servers.push(back);
  await s.output(/queue reachable again/, 20_000);
  // Gone for good: it stops by itself, with one line.
  await back.stop();
  const stoppedAt = Date.now();
  assert.equal((await s.exitWithin(30_000)).code, 1, s.stderr);
  assert.ok(Date.now() - stoppedAt < 20_000, `stopped ${Date.now() - stoppedAt} ms after Redis`);
  const lines = s.stderr.trimEnd().split("\n");
  assert.match(
    lines.at(-1)!,
    /^error: Redis at redis:\/\/127\.0\.0\.1:\d+ unreachable for 4 s \(--queue-timeout\): sweep stopped; the rung results recorded in \S+ are kept, and the same command resumes it$/,
  );
  // One line per outage and one for the return: no reconnection errors, no stack traces.
  assert.equal(lines.filter((l) => l.includes("queue unreachable")).length, 2, s.stderr);
  assert.equal(lines.filter((l) => l.includes("queue reachable again")).length, 1, s.stderr);
  assert.doesNotMatch(s.stderr, /ECONNREFUSED|^\s+at /m);
  assert.equal(readFileSync(join(dir, "state.json"), "utf8"), before, "the recorded results are untouched");

  // The same sweep run again trains only the missing rung, and ends as the uninterrupted one.
  const events: SweepEvent[] = [];
  const resumed = await sweep({ ...base, space: spaceFile, outputDir: dir, onEvent: (e) => events.push(e) });
  assert.deepEqual(
    events.flatMap((e) => (e.type === "start" ? [[e.trial, e.rung]] : [])),
    [[redo, 1]],
  );
  assert.deepEqual(essence(resumed), essence(reference));
});
