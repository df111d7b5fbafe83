// Scale-out on a BullMQ queue in Redis: the coordinator puts each (trial, rung) on the queue and waits for
// its result; `rose worker` processes on any machine take jobs and run them like the local runner does.
// A worker that dies mid-trial stops renewing its job's lock; BullMQ's stalled-job check moves the job
// back to the queue, and the next worker continues it from the trial's last checkpoint when the output
// directory is shared (runTrial resumes whenever a checkpoint is there).
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { Job, Queue, QueueEvents, type RedisOptions as Connection, Worker } from "bullmq";
import { Redis } from "ioredis";
import { ConfigError, QueueError } from "../errors.ts";
import type { Runner } from "./local.ts";
import { QueueWatch, queueTimeoutMs } from "./reachability.ts";
import { runTrial, TrialError, type TrialJob, type TrialOutcome } from "./trial.ts";

export const DEFAULT_QUEUE_NAME = "rose-sweep";
/** Seconds the coordinator waits for an unreachable Redis before it stops (`rose sweep --queue-timeout`). */
export const DEFAULT_QUEUE_TIMEOUT = 30;

/** Connection options from redis://[user:password@]host[:port][/db]. */
export function redisOptions(url: string): Connection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(`--queue ${url}: not a URL; expected redis://HOST:PORT`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new QueueError(`--queue ${url}: expected a redis:// URL`);
  const db = u.pathname.replace(/^\//, "");
  if (db && !/^\d+$/.test(db)) throw new QueueError(`--queue ${url}: the path must be a database number`);
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/** Fails fast with one line when Redis cannot be reached (BullMQ itself would retry forever). */
export async function checkRedis(url: string): Promise<Connection> {
  const opts = redisOptions(url);
  const probe = new Redis({
    ...opts,
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new QueueError(`cannot reach Redis at ${url}: ${(e as Error).message || "connection failed"}`);
  } finally {
    probe.disconnect();
  }
  return opts;
}

const UNFINISHED = ["waiting", "active", "delayed", "prioritized", "waiting-children"] as const;

type StartListener = (info: { host?: string; resumedFrom: number | null }) => void;

export interface QueueRunnerOptions {
  /** redis://HOST:PORT */
  url: string;
  /** The queue's name in Redis (default DEFAULT_QUEUE_NAME). */
  name?: string;
  sweepId: string;
  /** The sweep's directory, named in the line that stops the sweep. */
  outputDir: string;
  /** Seconds Redis may stay unreachable before every run() rejects with a QueueError (default DEFAULT_QUEUE_TIMEOUT). */
  queueTimeout?: number;
  /** A line when Redis goes away, when it is back, and for any other queue error. */
  log?: (line: string) => void;
}

export class QueueRunner implements Runner {
  private readonly listeners = new Map<string, StartListener>();
  private readonly watch: QueueWatch;
  /** Rejects with a QueueError once Redis has been unreachable for the timeout. */
  private readonly lost: Promise<never>;

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    connection: Connection,
    private readonly o: QueueRunnerOptions & { queueTimeout: number },
  ) {
    let giveUp!: (e: QueueError) => void;
    this.lost = new Promise<never>((_, reject) => (giveUp = reject));
    this.lost.catch(() => {});
    this.watch = new QueueWatch(connection, {
      timeoutSeconds: o.queueTimeout,
      log: o.log ?? (() => {}),
      onCheck: (expired) => {
        if (expired)
          giveUp(
            new QueueError(
              `Redis at ${o.url} unreachable for ${o.queueTimeout} s (--queue-timeout): sweep stopped; the rung results recorded in ${o.outputDir} are kept, and the same command resumes it`,
            ),
          );
      },
    });
    // Without listeners BullMQ prints each reconnection error with its stack; the watch says it once.
    queue.on("error", this.watch.onError);
    events.on("error", this.watch.onError);
    events.on("progress", ({ jobId, data }) => {
      const d = data as { host?: string; resumedFrom?: number | null };
      this.listeners.get(jobId)?.({ host: d.host, resumedFrom: d.resumedFrom ?? null });
    });
  }

  /** Connects, and refuses a queue that still holds unfinished jobs of another sweep. */
  static async open(o: QueueRunnerOptions): Promise<QueueRunner> {
    const queueTimeout = o.queueTimeout ?? DEFAULT_QUEUE_TIMEOUT;
    queueTimeoutMs(queueTimeout);
    const name = o.name ?? DEFAULT_QUEUE_NAME;
    const connection = await checkRedis(o.url);
    const runner = new QueueRunner(new Queue(name, { connection }), new QueueEvents(name, { connection }), connection, {
      ...o,
      name,
      queueTimeout,
    });
    try {
      await Promise.race([runner.refuseForeignJobs(), runner.lost]);
    } catch (e) {
      await runner.close();
      throw e;
    }
    return runner;
  }

  private async refuseForeignJobs(): Promise<void> {
    await this.events.waitUntilReady();
    const jobs = (await this.queue.getJobs([...UNFINISHED])).filter((j): j is Job => Boolean(j));
    const foreign = jobs.filter((j) => (j.data as TrialJob).sweepId !== this.o.sweepId);
    if (foreign.length) {
      const other = (foreign[0]!.data as TrialJob).dir;
      throw new QueueError(
        `queue ${this.o.name} at ${this.o.url} holds ${foreign.length} unfinished trial job(s) of another sweep (${other ? join(other, "..", "..") : "unknown"}); let it finish, or give this sweep its own --queue-name`,
      );
    }
  }

  async run(job: TrialJob, onStart: StartListener): Promise<TrialOutcome> {
    // One id per (sweep, trial, rung): re-adding after a coordinator restart finds the job already there.
    const jobId = `${this.o.sweepId}.${job.trial}.${job.rung}`;
    try {
      return await Promise.race([this.runJob(jobId, job, onStart), this.lost]);
    } finally {
      this.listeners.delete(jobId);
    }
  }

  private async runJob(jobId: string, job: TrialJob, onStart: StartListener): Promise<TrialOutcome> {
    const old = await Job.fromId(this.queue, jobId);
    if (old && (await old.getState()) === "failed") await old.remove();
    this.listeners.set(jobId, onStart);
    try {
      const added = await this.queue.add("trial", job, { jobId, attempts: 1, removeOnComplete: false, removeOnFail: false });
      return (await added.waitUntilFinished(this.events)) as TrialOutcome;
    } catch (e) {
      if (e instanceof QueueError) throw e;
      throw new TrialError((e as Error).message);
    }
  }

  async close(): Promise<void> {
    const down = this.watch.downFor() > 0;
    this.watch.close();
    const closing = Promise.allSettled([this.events.close(), this.queue.close()]);
    // BullMQ's close waits for an unreachable Redis to come back: it is left to end on its own.
    if (!down) await closing;
  }
}

export interface WorkerOptions {
  /** redis://HOST:PORT */
  queue: string;
  queueName?: string;
  threads?: number;
  /** Train here instead of in the coordinator's directory (no shared file system). */
  outputDir?: string;
  /** Seconds without a lock renewal before a job counts as stalled and goes back to the queue (default 30). */
  stallSeconds?: number;
  /** Seconds Redis may stay unreachable before the worker gives up (default: stallSeconds, after which the
   * trial in hand may be handed to another worker anyway). */
  queueTimeout?: number;
  log?: (line: string) => void;
}

export interface SweepWorker {
  /** The trial in hand ("trial 3 rung 0") from when it is taken until its result is in the queue; else null. */
  readonly current: string | null;
  /**
   * Stops taking trials; the trial in hand finishes and its result goes to the queue, then the connections
   * close. While Redis is unreachable with no result to deliver it returns at once. Settles as `stopped`.
   */
  close(): Promise<void>;
  /**
   * Resolves when close() is done. Rejects with a QueueError once Redis has been unreachable for
   * queueTimeout seconds: the worker has then stopped, and the trial in hand is abandoned. Its child
   * process ends with this process (as `rose worker` exits), and when Redis is back the job returns to the
   * queue after its lock expires; the next worker continues it from its last checkpoint.
   */
  readonly stopped: Promise<void>;
}

/** Takes trial jobs one at a time until closed, or until Redis stays unreachable for too long. */
export async function startWorker(o: WorkerOptions): Promise<SweepWorker> {
  const stallSeconds = o.stallSeconds ?? 30;
  if (!(stallSeconds > 0 && Number.isFinite(stallSeconds)))
    throw new ConfigError(`--stall-seconds must be a positive number, got ${o.stallSeconds}`);
  const queueTimeout = o.queueTimeout ?? stallSeconds;
  queueTimeoutMs(queueTimeout);
  const connection = await checkRedis(o.queue);
  const worker = new TrialWorker(o, connection, stallSeconds, queueTimeout);
  await worker.ready();
  return worker;
}

/** A BullMQ worker running trials, and how it stops: closed, or given up on an unreachable Redis. */
class TrialWorker implements SweepWorker {
  current: string | null = null;
  readonly stopped: Promise<void>;
  private readonly worker: Worker;
  private readonly watch: QueueWatch;
  private readonly log: (line: string) => void;
  private closing = false;
  private settled = false;
  private resolveStopped!: () => void;
  private rejectStopped!: (e: Error) => void;

  constructor(
    private readonly o: WorkerOptions,
    connection: Connection,
    stallSeconds: number,
    private readonly queueTimeout: number,
  ) {
    this.log = o.log ?? (() => {});
    const stallMs = Math.round(stallSeconds * 1000);
    const host = hostname();
    this.worker = new Worker(o.queueName ?? DEFAULT_QUEUE_NAME, (job: Job) => this.process(job, host), {
      connection,
      concurrency: 1,
      lockDuration: stallMs,
      stalledInterval: stallMs,
      maxStalledCount: 10,
    });
    // BullMQ emits these once the result is stored in Redis.
    this.worker.on("completed", () => (this.current = null));
    this.worker.on("failed", (job, err) => {
      this.current = null;
      this.log(`trial ${(job?.data as TrialJob | undefined)?.trial ?? "?"}: failed: ${err.message}`);
    });
    this.stopped = new Promise<void>((res, rej) => {
      this.resolveStopped = res;
      this.rejectStopped = rej;
    });
    // A library caller may never await `stopped`: its rejection must not crash the process as unhandled.
    this.stopped.catch(() => {});
    this.watch = new QueueWatch(connection, { timeoutSeconds: queueTimeout, log: this.log, onCheck: () => this.decide() });
    this.worker.on("error", this.watch.onError);
  }

  async ready(): Promise<void> {
    try {
      await this.worker.waitUntilReady();
    } catch (e) {
      this.watch.close();
      await this.worker.close(true).catch(() => {});
      throw e;
    }
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.worker.close().then(
        () => this.settle(),
        () => this.settle(),
      );
      this.decide();
    }
    return this.stopped;
  }

  private async process(job: Job, host: string): Promise<TrialOutcome> {
    const data = job.data as TrialJob;
    const dir = this.o.outputDir ? join(this.o.outputDir, data.sweepId, basename(data.dir)) : data.dir;
    const what = `trial ${data.trial} rung ${data.rung}`;
    this.current = what;
    const out = await runTrial(data, {
      dir,
      threads: this.o.threads,
      onStart: (resumedFrom) => {
        this.log(`${what}: start${resumedFrom !== null ? ` (resuming from step ${resumedFrom})` : ""} in ${dir}`);
        void job.updateProgress({ host, resumedFrom });
      },
    });
    this.log(`${what}: done`);
    return out;
  }

  /** After every PING, and at close(): give up, or finish a close that has nothing left to wait for. */
  private decide(): void {
    if (this.settled) return;
    if (this.watch.expired()) {
      const left = this.current ? `; ${this.current} goes back to the queue for another worker when Redis is back` : "";
      this.settle(
        new QueueError(`Redis at ${this.o.queue} unreachable for ${this.queueTimeout} s (--queue-timeout): worker stopped${left}`),
      );
    } else if (this.closing && this.watch.downFor() > 0 && this.current === null) {
      // Stopping, with no result to deliver and no Redis to deliver it to: nothing is left to wait for.
      void this.worker.disconnect().catch(() => {});
      this.settle();
    }
  }

  private settle(error?: QueueError): void {
    if (this.settled) return;
    this.settled = true;
    this.watch.close();
    if (error) {
      // Whatever BullMQ still waits on (a result to store, a quit) waits for a Redis that is gone.
      void this.worker.close(true).catch(() => {});
      void this.worker.disconnect().catch(() => {});
      this.rejectStopped(error);
    } else {
      this.resolveStopped();
    }
  }
}
