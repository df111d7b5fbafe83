// A real redis-server on a free loopback port, started and stopped by the test (Debian's redis-server).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RedisServer {
  url: string;
  port: number;
  /** Its data directory: a server started again on it loads what save() wrote. */
  dir: string;
  /** Writes the data set to dir/dump.rdb (it is not saved otherwise). */
  save(): Promise<void>;
  /** SIGTERM, and waits for the process to end. */
  stop(): Promise<void>;
}

/** Starts redis-server; give `port` and `dir` of a stopped one to start it again with its saved data. */
export async function startRedis(at: { port?: number; dir?: string } = {}): Promise<RedisServer> {
  const port = at.port ?? (await freePort());
  const dir = at.dir ?? mkdtempSync(join(tmpdir(), "rose-redis-"));
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    proc.on("error", (e) => reject(new Error(`cannot start redis-server (apt-get install redis-server): ${e.message}`)));
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ready to accept connections")) resolve();
    });
    proc.on("exit", (c) => reject(new Error(`redis-server exited with ${c}: ${out}`)));
  });
  const exited = new Promise((r) => proc.once("exit", r));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    save: async () => {
      const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true });
      await client.connect();
      await client.save();
      client.disconnect();
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}
