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

/** The widest a bar line gets, whatever the terminal's width. */
export const MAX_BAR_WIDTH = 80;

function fmtFields(f: ProgressFields): string {
  return Object.entries(f)
    .map(([k, v]) => `${k} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toPrecision(4)) : v}`)
    .join(" | ");
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  return s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.round(s)}s`;
}

function eta(startMs: number, done: number, total: number): string {
  if (done === 0) return "?";
  return fmtSeconds(((Date.now() - startMs) / 1000 / done) * (total - done));
}

/**
 * One bar line of at most `width` columns: `label [bar] done/total | fields | ETA t`. Fields are left out
 * when there are none (no empty `|  |`), the bar shrinks to make room (10 to 30 cells), then the fields
 * are cut short, so the count and the ETA stay visible.
 */
export function formatBarLine(label: string, done: number, total: number, fields: string, etaText: string, width = MAX_BAR_WIDTH): string {
  const count = ` ${done}/${total}`;
  const etaPart = ` | ETA ${etaText}`;
  let middle = fields ? ` | ${fields}` : "";
  const fixed = label.length + 3 + count.length + etaPart.length; // 3: " [" and "]"
  const cells = Math.max(10, Math.min(30, width - fixed - middle.length));
  const spare = width - fixed - cells;
  if (middle.length > spare) middle = spare >= 5 ? `${middle.slice(0, spare - 1)}…` : "";
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * cells) : 0;
  const line = `${label} [${"█".repeat(filled)}${"░".repeat(cells - filled)}]${count}${middle}${etaPart}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

// Bars on screen, so that an interrupt can stop them (restoring the cursor and line wrapping).
const active = new Set<cliProgress.SingleBar>();

/** The escape sequences that show the cursor and turn line wrapping back on. */
export const RESTORE_TERMINAL = "\x1b[?25h\x1b[?7h";

/**
 * Stops every bar on screen and restores the terminal (cursor shown, line wrapping on), e.g. on SIGINT;
 * returns whether a terminal was touched.
 */
export function stopAllProgress(stream: NodeJS.WriteStream = process.stderr): boolean {
  const any = active.size > 0;
  for (const bar of [...active]) {
    bar.stop();
    active.delete(bar);
  }
  if (stream.isTTY) stream.write(RESTORE_TERMINAL);
  return any || Boolean(stream.isTTY);
}

/**
 * A progress display for `total` units. `quiet` prints nothing; a TTY gets a bar; otherwise a line
 * every `everyMs` (default 10 s) and at the end.
 */
export function createProgress(
  label: string,
  total: number,
  opts: { quiet?: boolean; everyMs?: number; stream?: NodeJS.WriteStream } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  const start = Date.now();
  if (opts.quiet) return { update() {}, log() {}, stop() {} };
  if (stream.isTTY) {
    // A pseudo-terminal without a size reports 0 columns.
    const width = () => Math.min(MAX_BAR_WIDTH, Math.max(20, (stream.columns || MAX_BAR_WIDTH + 1) - 1));
    const bar = new cliProgress.SingleBar({
      format: (_o, params, payload: { fields?: string }) =>
        formatBarLine(label, params.value, params.total, payload.fields ?? "", params.value > 0 ? fmtSeconds(params.eta) : "?", width()),
      stream,
      hideCursor: true,
      etaBuffer: 50,
    });
    bar.start(total, 0, { fields: "" });
    active.add(bar);
    return {
      update: (done, fields) => bar.update(done, { fields: fields ? fmtFields(fields) : "" }),
      log: (line) => {
        stream.clearLine?.(0);
        stream.cursorTo?.(0);
        stream.write(`${line}\n`);
        bar.render();
      },
      stop: () => {
        active.delete(bar);
        bar.stop();
      },
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
