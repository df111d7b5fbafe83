// Whether Redis answers, from a PING every interval on a connection of its own. BullMQ's connections
// retry forever and hold their commands meanwhile, so they cannot tell how long the queue has been gone.
import { Redis, type RedisOptions } from "ioredis";

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
