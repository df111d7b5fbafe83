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
import { Reachability } from "./reachability.ts";
import { runTrial, TrialError, type TrialJob, type TrialOutcome } from "./trial.ts";

export const DEFAULT_QUEUE_NAME = "rose-sweep";

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

export class QueueRunner implements Runner {
  private readonly listeners = new Map<string, (info: { host?: string; resumedFrom: number | null }) => void>();

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly sweepId: string,
  ) {
    events.on("progress", ({ jobId, data }) => {
      const d = data as { host?: string; resumedFrom?: number | null };
      this.listeners.get(jobId)?.({ host: d.host, resumedFrom: d.resumedFrom ?? null });
    });
  }

  /** Connects, and refuses a queue that still holds unfinished jobs of another sweep. */
  static async open(url: string, name: string, sweepId: string): Promise<QueueRunner> {
    const connection = await checkRedis(url);
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection });
    try {
      await events.waitUntilReady();
      const jobs = (await queue.getJobs([...UNFINISHED])).filter((j): j is Job => Boolean(j));
      const foreign = jobs.filter((j) => (j.data as TrialJob).sweepId !== sweepId);
      if (foreign.length) {
        const other = (foreign[0]!.data as TrialJob).dir;
        throw new QueueError(
          `queue ${name} at ${url} holds ${foreign.length} unfinished trial job(s) of another sweep (${other ? join(other, "..", "..") : "unknown"}); let it finish, or give this sweep its own --queue-name`,
        );
      }
    } catch (e) {
      await Promise.allSettled([queue.close(), events.close()]);
      throw e;
    }
    return new QueueRunner(queue, events, sweepId);
  }

  async run(job: TrialJob, onStart: (info: { host?: string; resumedFrom: number | null }) => void): Promise<TrialOutcome> {
    // One id per (sweep, trial, rung): re-adding after a coordinator restart finds the job already there.
    const jobId = `${this.sweepId}.${job.trial}.${job.rung}`;
    const old = await Job.fromId(this.queue, jobId);
    if (old && (await old.getState()) === "failed") await old.remove();
    this.listeners.set(jobId, onStart);
    try {
      const added = await this.queue.add("trial", job, { jobId, attempts: 1, removeOnComplete: false, removeOnFail: false });
      return (await added.waitUntilFinished(this.events)) as TrialOutcome;
    } catch (e) {
      if (e instanceof QueueError) throw e;
      throw new TrialError((e as Error).message);
    } finally {
      this.listeners.delete(jobId);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
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
  const queueTimeout = o.queueTimeout ?? stallSeconds;
  if (!(stallSeconds > 0 && Number.isFinite(stallSeconds)))
    throw new ConfigError(`--stall-seconds must be a positive number, got ${o.stallSeconds}`);
  if (!(queueTimeout > 0 && Number.isFinite(queueTimeout)))
    throw new ConfigError(`--queue-timeout must be a positive number of seconds, got ${o.queueTimeout}`);
  const connection = await checkRedis(o.queue);
  const log = o.log ?? (() => {});
  const stallMs = Math.round(stallSeconds * 1000);
  const timeoutMs = Math.round(queueTimeout * 1000);
  const host = hostname();
  let current: string | null = null;
  const worker = new Worker(
    o.queueName ?? DEFAULT_QUEUE_NAME,
    async (job: Job) => {
      const data = job.data as TrialJob;
      const dir = o.outputDir ? join(o.outputDir, data.sweepId, basename(data.dir)) : data.dir;
      const what = `trial ${data.trial} rung ${data.rung}`;
      current = what;
      const out = await runTrial(data, {
        dir,
        threads: o.threads,
        onStart: (resumedFrom) => {
          log(`${what}: start${resumedFrom !== null ? ` (resuming from step ${resumedFrom})` : ""} in ${dir}`);
          void job.updateProgress({ host, resumedFrom });
        },
      });
      log(`${what}: done`);
      return out;
    },
    { connection, concurrency: 1, lockDuration: stallMs, stalledInterval: stallMs, maxStalledCount: 10 },
  );
  // BullMQ emits these once the result is stored in Redis.
  worker.on("completed", () => (current = null));
  worker.on("failed", (job, err) => {
    current = null;
    log(`trial ${(job?.data as TrialJob | undefined)?.trial ?? "?"}: failed: ${err.message}`);
  });

  let closing = false;
  let settled = false;
  let resolveStopped!: () => void, rejectStopped!: (e: Error) => void;
  const stopped = new Promise<void>((res, rej) => {
    resolveStopped = res;
    rejectStopped = rej;
  });
  // A library caller may never await `stopped`: its rejection must not crash the process as unhandled.
  stopped.catch(() => {});
  const settle = (error?: QueueError): void => {
    if (settled) return;
    settled = true;
    watch.close();
    if (error) {
      // Whatever BullMQ still waits on (a result to store, a quit) waits for a Redis that is gone.
      void worker.close(true).catch(() => {});
      void worker.disconnect().catch(() => {});
      rejectStopped(error);
    } else {
      resolveStopped();
    }
  };

  // One line when Redis goes and one when it is back; BullMQ's own reconnection errors would repeat forever.
  let lastError = "";
  worker.on("error", (err) => {
    if (watch.downFor() > 0 || err.message === lastError) return;
    lastError = err.message;
    log(`queue error: ${err.message}`);
  });
  // After every PING, and at close(): give up, or finish a close that has nothing left to wait for.
  const decide = (): void => {
    if (settled) return;
    const down = watch.downFor();
    if (down >= timeoutMs) {
      const left = current ? `; ${current} goes back to the queue for another worker when Redis is back` : "";
      settle(new QueueError(`Redis at ${o.queue} unreachable for ${queueTimeout} s (--queue-timeout): worker stopped${left}`));
    } else if (closing && down > 0 && current === null) {
      // Stopping, with no result to deliver and no Redis to deliver it to: nothing is left to wait for.
      void worker.disconnect().catch(() => {});
      settle();
    }
  };
  const watch = new Reachability(
    connection,
    Math.max(100, Math.min(1000, timeoutMs / 4)),
    (up, reason) => {
      lastError = "";
      if (up) log("queue reachable again");
      else log(`queue unreachable (${reason}); stopping in ${queueTimeout} s unless it comes back`);
    },
    () => decide(),
  );
  try {
    await worker.waitUntilReady();
  } catch (e) {
    watch.close();
    await worker.close(true).catch(() => {});
    throw e;
  }
  return {
    get current() {
      return current;
    },
    stopped,
    close() {
      if (!closing) {
        closing = true;
        worker.close().then(
          () => settle(),
          () => settle(),
        );
        decide();
      }
      return stopped;
    },
  };
}
