// Progress on long work: a cli-progress bar on a terminal, plain periodic lines otherwise (CI, logs).
import cliProgress from "cli-progress";

export interface ProgressFields {
  [key: string]: string | number;
}

export interface Progress {
  update(done: number, fields?: ProgressFields): void;
  log(line: string): void;
  stop(): void;
}

function fmtFields(f: ProgressFields): string {
  return Object.entries(f).map(([k, v]) => `${k} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toPrecision(4)) : v}`).join(" | ");
}

function eta(startMs: number, done: number, total: number): string {
  if (done === 0) return "?";
  const s = ((Date.now() - startMs) / 1000 / done) * (total - done);
  return s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.round(s)}s`;
}

/**
 * A progress display for `total` units. `quiet` prints nothing; a TTY gets a bar; otherwise a line
 * every `everyMs` (default 10 s) and at the end.
 */
export function createProgress(label: string, total: number, opts: { quiet?: boolean; everyMs?: number; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const start = Date.now();
  if (opts.quiet) return { update() {}, log() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} | {fields} | ETA {eta_formatted}`, stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { fields: "" });
    return {
      update: (done, fields) => bar.update(done, { fields: fields ? fmtFields(fields) : "" }),
      log: (line) => {
        stream.clearLine?.(0);
        stream.cursorTo?.(0);
        stream.write(`${line}\n`);
        bar.render();
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  let lastDone = 0;
  let lastFields: ProgressFields | undefined;
  const every = opts.everyMs ?? 10_000;
  const line = (done: number, fields?: ProgressFields) =>
    stream.write(`${label} ${done}/${total}${fields ? ` | ${fmtFields(fields)}` : ""} | ETA ${eta(start, done, total)}\n`);
  return {
    update(done, fields) {
      lastDone = done;
      lastFields = fields;
      const now = Date.now();
      if (now - last >= every || done === total) {
        last = now;
        line(done, fields);
      }
    },
    log: (l) => stream.write(`${l}\n`),
    stop() {
      if (Date.now() - last > 0 && lastDone !== total && lastDone > 0) line(lastDone, lastFields);
    },
  };
}
