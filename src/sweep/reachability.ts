// Whether Redis answers, from a PING every interval on a connection of its own. BullMQ's connections
// retry forever and hold their commands meanwhile, so they cannot tell how long the queue has been gone.
import { isNotConnectionError } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import { ConfigError } from "../errors.ts";

export class Reachability {
  private readonly client: Redis;
  private readonly timer: NodeJS.Timeout;
  private since: number | null = null;
  private busy = false;
  private lastError = "";

  /** `onCheck` runs after every PING; `onChange` when Redis stops or starts answering (with the reason it stopped). */
  constructor(
    opts: RedisOptions,
    intervalMs: number,
    private readonly onChange: (up: boolean, reason: string) => void,
    private readonly onCheck: () => void,
  ) {
    this.client = new Redis({
      ...opts,
      connectTimeout: Math.max(1000, intervalMs),
      // A connection that stops answering without closing (a network partition) fails the PING too.
      commandTimeout: Math.max(1000, intervalMs),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => intervalMs,
    });
    this.client.on("error", (e: Error) => {
      this.lastError = e.message;
    });
    this.timer = setInterval(() => void this.check(), intervalMs);
  }

  /** Milliseconds since Redis stopped answering; 0 while it answers. */
  downFor(): number {
    return this.since === null ? 0 : Date.now() - this.since;
  }

  close(): void {
    clearInterval(this.timer);
    this.client.disconnect();
  }

  private async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.client.ping();
      this.lastError = "";
      if (this.since !== null) {
        this.since = null;
        this.onChange(true, "");
      }
    } catch (e) {
      if (this.since === null) {
        this.since = Date.now();
        // A PING on a closed connection fails with ioredis's offline-queue message; the socket's error says why.
        const own = (e as Error).message;
        this.onChange(false, this.lastError || (/offline/i.test(own) ? "connection closed" : own));
      }
    } finally {
      this.busy = false;
    }
    this.onCheck();
  }
}

/** Checks a --queue-timeout value (seconds); returns it in milliseconds. */
export function queueTimeoutMs(seconds: number): number {
  if (!(seconds > 0 && Number.isFinite(seconds)))
    throw new ConfigError(`--queue-timeout must be a positive number of seconds, got ${seconds}`);
  return Math.round(seconds * 1000);
}

export interface QueueWatchOptions {
  /** Seconds Redis may stay unreachable (--queue-timeout); only named in the log line. */
  timeoutSeconds: number;
  log: (line: string) => void;
  /** Runs after every PING, with whether Redis has now been unreachable for `timeoutSeconds`. */
  onCheck: (expired: boolean) => void;
}

/**
 * A Reachability that speaks for a BullMQ client: one line when Redis goes and one when it is back, while
 * `onError` (every BullMQ object's "error" listener) drops the reconnection errors that would repeat
 * meanwhile and prints any other error once.
 */
export class QueueWatch {
  private readonly reach: Reachability;
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;
  private lastError = "";

  constructor(connection: RedisOptions, o: QueueWatchOptions) {
    this.timeoutMs = queueTimeoutMs(o.timeoutSeconds);
    this.log = o.log;
    this.reach = new Reachability(
      connection,
      Math.max(100, Math.min(1000, this.timeoutMs / 4)),
      (up, reason) => {
        this.lastError = "";
        if (up) o.log("queue reachable again");
        else o.log(`queue unreachable (${reason}); stopping in ${o.timeoutSeconds} s unless it comes back`);
      },
      () => o.onCheck(this.expired()),
    );
  }

  /** The "error" listener of every BullMQ object on this connection. */
  readonly onError = (err: Error): void => {
    if (this.reach.downFor() > 0 || !isNotConnectionError(err) || err.message === this.lastError) return;
    this.lastError = err.message;
    this.log(`queue error: ${err.message}`);
  };

  /** Milliseconds since Redis stopped answering; 0 while it answers. */
  downFor(): number {
    return this.reach.downFor();
  }

  /** Whether Redis has been unreachable for the whole timeout. */
  expired(): boolean {
    return this.reach.downFor() >= this.timeoutMs;
  }

  close(): void {
    this.reach.close();
  }
}
