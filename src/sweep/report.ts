// What a sweep shows while it runs: a table redrawn in place on a terminal, one line per event otherwise.
import { clearScreenDown, moveCursor } from "node:readline";
import type { SweepEvent } from "./sweep.ts";

interface Row {
  params: string;
  rung: string;
  score: string;
  state: string;
}

export class SweepReporter {
  private readonly rows = new Map<number, Row>();
  private drawn = 0;
  private objective = "score";
  private rungs: number[] = [];

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly live = Boolean(out.isTTY),
  ) {}

  private rungName(r: number): string {
    const stop = this.rungs[r];
    return stop === undefined ? String(r) : stop === 0 ? "end" : `epoch ${stop}`;
  }

  handle(e: SweepEvent): void {
    const row = "trial" in e ? this.rows.get(e.trial) : undefined;
    let line: string | null = null;
    switch (e.type) {
      case "plan":
        this.objective = e.objective;
        this.rungs = e.rungs;
        for (const t of e.trials) {
          const params =
            Object.entries(t.params)
              .map(([k, v]) => `${k.replace(/^--/, "")}=${v}`)
              .join(" ") + (t.seed !== null ? ` seed=${t.seed}` : "");
          this.rows.set(t.index, { params, rung: "-", score: "-", state: "pending" });
        }
        line = `sweep: ${e.trials.length} trials, ${e.strategy}, rungs ${e.rungs.map((_, i) => this.rungName(i)).join(" > ")}, objective ${e.objective}`;
        break;
      case "start":
        if (row)
          Object.assign(row, {
            rung: this.rungName(e.rung),
            state: e.resumedFrom !== null ? `running (from step ${e.resumedFrom})` : "running",
          });
        line = `trial ${e.trial} ${row?.params ?? ""}: ${this.rungName(e.rung)} started${e.host ? ` on ${e.host}` : ""}${e.resumedFrom !== null ? `, from step ${e.resumedFrom}` : ""}`;
        break;
      case "result": {
        const s = e.score === null ? "-" : e.score.toFixed(4);
        if (row) Object.assign(row, { rung: this.rungName(e.rung), score: s, state: e.finished ? "finished" : "paused" });
        line = `trial ${e.trial} ${row?.params ?? ""}: ${this.rungName(e.rung)} ${this.objective} ${s}${e.cached ? " (recorded earlier)" : ""}`;
        break;
      }
      case "failed":
        if (row) Object.assign(row, { state: "failed" });
        line = `trial ${e.trial}: failed: ${e.message}`;
        break;
      case "pruned":
        if (row) row.state = "pruned";
        line = `trial ${e.trial} ${row?.params ?? ""}: pruned after ${this.rungName(e.rung)}`;
        break;
      case "queue":
        this.note(e.message);
        return;
      case "done":
        this.draw(true);
        this.summary(e);
        return;
    }
    if (this.live) this.draw(false);
    else if (line) this.out.write(`${line}\n`);
  }

  /** A line about the sweep, not a trial: printed above the live table, which is drawn again below it. */
  private note(line: string): void {
    if (this.live && this.drawn) {
      moveCursor(this.out, 0, -this.drawn);
      clearScreenDown(this.out);
      this.drawn = 0;
      this.out.write(`${line}\n`);
      this.draw(false);
    } else {
      this.out.write(`${line}\n`);
    }
  }

  private draw(final: boolean): void {
    if (!this.live) return;
    const head: Row & { trial: string } = { trial: "trial", params: "parameters", rung: "rung", score: this.objective, state: "state" };
    const all = [head, ...[...this.rows].map(([i, r]) => ({ trial: String(i), ...r }))];
    const w = (k: keyof typeof head) => Math.max(...all.map((r) => r[k].length));
    const text = all
      .map((r) =>
        [r.trial.padStart(w("trial")), r.params.padEnd(w("params")), r.rung.padEnd(w("rung")), r.score.padStart(w("score")), r.state].join(
          "  ",
        ),
      )
      .join("\n");
    if (this.drawn) {
      moveCursor(this.out, 0, -this.drawn);
      clearScreenDown(this.out);
    }
    this.out.write(`${text}\n`);
    this.drawn = final ? 0 : all.length;
  }

  private summary(e: Extract<SweepEvent, { type: "done" }>): void {
    const r = e.result;
    const saved =
      r.fullGridEpochs > 0 ? ` (${(100 * (1 - r.epochsRun / r.fullGridEpochs)).toFixed(0)}% less than the full ${r.fullGridEpochs})` : "";
    this.out.write(`trained ${r.epochsRun} epochs${saved} in ${r.wallSeconds.toFixed(0)} s; results: ${r.files.csv}, ${r.files.json}\n`);
    if (!r.best) {
      this.out.write("no configuration finished\n");
      return;
    }
    this.out.write(`best ${r.objective} ${r.best.score.toFixed(4)}: ${r.best.flags}\n`);
    this.out.write(`best model: ${r.best.modelDir}\n`);
    this.out.write(`${r.best.command}\n`);
  }
}
