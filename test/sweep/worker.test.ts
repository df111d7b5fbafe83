// `rose worker` when its Redis goes away (a real redis-server, stopped by the test): a signal still stops it,
// and past --queue-timeout it exits 1 by itself with one line, leaving its trial to the next worker.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import type { TrialJob } from "../../src/sweep/trial.ts";
import { spawnRose, type Watched } from "../helpers/child.ts";
import { type RedisServer, startRedis } from "../helpers/redis.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";
import { needsProgram } from "../helpers/services.ts";

const REDIS = needsProgram("redis-server", "redis-server");

const tmp = mkdtempSync(join(tmpdir(), "rose-worker-"));
const servers: RedisServer[] = [];
const children: Watched[] = [];
after(async () => {
  for (const c of children) c.kill();
  for (const s of servers) await s.stop();
});

async function redisServer(at?: { port: number; dir: string }): Promise<RedisServer> {
  const s = await startRedis(at);
  servers.push(s);
  return s;
}

function worker(url: string, ...flags: string[]): Watched {
  const w = spawnRose(["worker", "--queue", url, "--threads", "1", ...flags], { needs: [GOLDEN_BERT] });
  children.push(w);
  return w;
}

const READY = /waiting for trials on redis:\/\/\S+ \(queue rose-sweep\)/;

test("with its Redis gone, SIGTERM and SIGINT still stop a worker (exit 0), and past --queue-timeout it exits 1 with one line", {
  skip: REDIS,
}, async () => {
  const redis = await redisServer();
  const onTerm = worker(redis.url);
  const onInt = worker(redis.url);
  const quick = worker(redis.url, "--queue-timeout", "2");
  for (const w of [onTerm, onInt, quick]) await w.output(READY, 60_000);
  await redis.stop();
  const stoppedAt = Date.now();
  for (const [w, signal] of [
    [onTerm, "SIGTERM"],
    [onInt, "SIGINT"],
  ] as const) {
    // Default --queue-timeout (the --stall-seconds, 30): the signal, not the timeout, stops it.
    await w.output(/queue unreachable \([^)]+\); stopping in 30 s unless it comes back/, 20_000);
    w.child.kill(signal);
    assert.deepEqual(await w.exitWithin(10_000), { code: 0, signal: null }, `${signal}: ${w.stderr}`);
    assert.match(w.stderr, /: stopping\n$/);
  }
  const exit = await quick.exitWithin(30_000);
  assert.equal(exit.code, 1, quick.stderr);
  const lines = quick.stderr.trimEnd().split("\n");
  assert.match(lines.at(-1)!, /^error: Redis at redis:\/\/127\.0\.0\.1:\d+ unreachable for 2 s \(--queue-timeout\): worker stopped$/);
  assert.ok(Date.now() - stoppedAt < 30_000);
  // One line when Redis went, not one per reconnection attempt.
  assert.ok(lines.filter((l) => /unreachable|ECONNREFUSED/.test(l)).length <= 3, quick.stderr);
});

/** Processes whose command line names `dir` (a trial's child process trains into it). */
function processesOn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const step = (dir: string): number | null =>
  existsSync(join(dir, "last_checkpoint.json"))
    ? (JSON.parse(readFileSync(join(dir, "last_checkpoint.json"), "utf8")) as { step: number }).step
    : null;

test("Redis gone past --queue-timeout with a trial in hand: exit 1 naming the trial, its process ends, and the next worker continues it from its checkpoint", {
  skip: REDIS,
}, async () => {
  const redis = await redisServer();
  const data = join(tmp, "train.tsv");
  writeFileSync(data, "sentence\tlabel\nthe movie was very good .\t1\nthe film is very bad .\t0\n");
  const trialDir = join(tmp, "sweep", "trials", "000");
  const job: TrialJob = {
    sweepId: "worker-test",
    trial: 0,
    rung: 0,
    dir: trialDir,
    args: [
      "--model",
      GOLDEN_BERT,
      "--task",
      "sst2",
      "--train-file",
      data,
      "--max-steps",
      "100000",
      "--save-steps",
      "1",
      "--batch-size",
      "2",
    ],
    stopAfterEpoch: 0,
  };
  const q = new Queue("rose-sweep", { connection: { host: "127.0.0.1", port: redis.port } });
  await q.add("trial", job, { jobId: "worker-test.0.0", attempts: 1 });
  await q.close();

  const a = worker(redis.url, "--stall-seconds", "2", "--queue-timeout", "3");
  await a.until("trial 0's first checkpoint", () => (step(trialDir) ?? 0) >= 1, 120_000);
  assert.match(a.stderr, /trial 0 rung 0: start in /);
  await redis.save();
  await redis.stop();
  assert.equal((await a.exitWithin(30_000)).code, 1, a.stderr);
  assert.match(
    a.stderr.trimEnd().split("\n").at(-1)!,
    /^error: Redis at redis:\/\/127\.0\.0\.1:\d+ unreachable for 3 s \(--queue-timeout\): worker stopped; trial 0 rung 0 goes back to the queue for another worker when Redis is back$/,
  );
  // The trial's process went with the worker: nothing trains into its directory any more.
  const deadline = Date.now() + 10_000;
  while (processesOn(trialDir).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(processesOn(trialDir), [], "no process left training the trial");
  const reached = step(trialDir)!;

  // Redis back with its saved data: the job's lock has expired, and another worker takes the trial over.
  const back = await redisServer({ port: redis.port, dir: redis.dir });
  const b = worker(back.url, "--stall-seconds", "2");
  const m = await b.output(/trial 0 rung 0: start \(resuming from step (\d+)\)/, 60_000);
  assert.equal(Number(m[1]), reached);
  b.kill();
});
