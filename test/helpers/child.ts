// Child processes a test waits on. Every wait ends at once when the child exits first, with the child's
// stderr in the failure, and a child is not started when a path the test needs is missing: a missing
// model or a crash fails the test with its reason, not at the test's timeout.
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROSE_BIN = fileURLToPath(new URL("../../bin/rose.js", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Throws, naming each missing path, unless they all exist. */
export function requirePaths(...paths: string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: the test needs it`);
}

const tail = (s: string) => (s.length > 4000 ? `...${s.slice(-4000)}` : s).trimEnd() || "(empty)";
const describe = (e: Exit) => (e.signal ? `was killed by ${e.signal}` : `exited with ${e.code}`);

export class Watched {
  stdout = "";
  stderr = "";
  /** Set once the child has exited and its output is complete. */
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.stdout?.on("data", (d: Buffer) => {
      this.stdout += d.toString("utf8");
      this.wake();
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString("utf8");
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.on("error", (e) => {
        this.stderr += `${e.message}\n`;
        this.exit = { code: null, signal: null };
        this.wake();
        resolve(this.exit);
      });
      child.on("close", (code, signal) => {
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  /**
   * Resolves once `ready()` holds (checked on every output chunk and every 50 ms, for files); rejects at
   * once when the child exits first, and after `timeoutMs`.
   */
  until(what: string, ready: () => boolean, timeoutMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const end = (f: () => void) => {
        clearInterval(poll);
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      const check = () => {
        if (ready()) end(resolve);
        else if (this.exit)
          end(() => reject(new Error(`${this.name} ${describe(this.exit!)} before ${what}; its stderr:\n${tail(this.stderr)}`)));
      };
      const poll = setInterval(check, 50);
      const timer = setTimeout(
        () => end(() => reject(new Error(`${this.name}: no ${what} after ${timeoutMs / 1000} s; its stderr:\n${tail(this.stderr)}`))),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for stdout or stderr to match `re`, as `until` does; returns the match. */
  async output(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray> {
    const match = () => re.exec(this.stdout + this.stderr);
    await this.until(`output matching ${re}`, () => match() !== null, timeoutMs);
    return match()!;
  }

  /** The exit status; rejects when the child is still running after `timeoutMs`. */
  async exitWithin(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} still running after ${timeoutMs / 1000} s; its stderr:\n${tail(this.stderr)}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL if still running (for clean-up). */
  kill(): void {
    if (this.exit === null && this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

export function watch(child: ChildProcess, name: string): Watched {
  return new Watched(child, name);
}

/** `rose ARGS` from this checkout, stdout and stderr piped; `needs` are paths checked before it starts. */
export function spawnRose(args: readonly string[], opts: SpawnOptions & { needs?: readonly string[] } = {}): Watched {
  const { needs = [], ...spawnOpts } = opts;
  requirePaths(...needs);
  return watch(spawn(process.execPath, [ROSE_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], ...spawnOpts }), `rose ${args[0] ?? ""}`);
}
