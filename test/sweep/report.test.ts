import { test } from "node:test";
import assert from "node:assert/strict";
import { SweepReporter } from "../../src/sweep/report.ts";
import type { SweepEvent } from "../../src/sweep/sweep.ts";

function sink(): NodeJS.WriteStream & { text: string } {
  const s = {
    text: "",
    isTTY: false,
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

const trials = [0, 1].map((index) => ({
  index,
  config: index,
  params: { "--upper": 50 + 40 * index },
  seed: null,
  dir: `trials/00${index}`,
  args: [],
}));
const events: SweepEvent[] = [
  { type: "plan", strategy: "halving", objective: "accuracy", rungs: [1, 0], trials },
  { type: "start", trial: 0, rung: 0, resumedFrom: null },
  { type: "result", trial: 0, rung: 0, score: 0.75, finished: false, cached: false },
  { type: "result", trial: 1, rung: 0, score: 0.5, finished: false, cached: true },
  { type: "pruned", trial: 1, rung: 0 },
  { type: "start", trial: 0, rung: 1, host: "box", resumedFrom: 12 },
];

test("plain progress: one line per event", () => {
  const out = sink();
  const r = new SweepReporter(out, false);
  for (const e of events) r.handle(e);
  assert.deepEqual(out.text.trim().split("\n"), [
    "sweep: 2 trials, halving, rungs epoch 1 > end, objective accuracy",
    "trial 0 upper=50: epoch 1 started",
    "trial 0 upper=50: epoch 1 accuracy 0.7500",
    "trial 1 upper=90: epoch 1 accuracy 0.5000 (recorded earlier)",
    "trial 1 upper=90: pruned after epoch 1",
    "trial 0 upper=50: end started on box, from step 12",
  ]);
});

test("on a terminal: one table, redrawn in place", () => {
  const out = sink();
  const r = new SweepReporter(out, true);
  for (const e of events) r.handle(e);
  const last = out.text.split("\x1b[0J").at(-1)!.trim().split("\n");
  assert.equal(last.length, 3);
  assert.match(last[0]!, /^trial\s+parameters\s+rung\s+accuracy\s+state$/);
  assert.match(last[1]!, /^\s*0\s+upper=50\s+end\s+0\.7500\s+running \(from step 12\)$/);
  assert.match(last[2]!, /^\s*1\s+upper=90\s+epoch 1\s+0\.5000\s+pruned$/);
});

test("a line about the queue: on its own when plain, above the redrawn table on a terminal", () => {
  const queue: SweepEvent = { type: "queue", message: "queue unreachable (connection closed); stopping in 30 s unless it comes back" };
  const plain = sink();
  const p = new SweepReporter(plain, false);
  for (const e of [...events.slice(0, 2), queue]) p.handle(e);
  assert.equal(plain.text.trim().split("\n").at(-1), queue.message);
  const live = sink();
  const r = new SweepReporter(live, true);
  for (const e of [...events.slice(0, 2), queue]) r.handle(e);
  // The table is erased, the line printed, and the table drawn again below it.
  const last = live.text.split("\x1b[0J").at(-1)!.trim().split("\n");
  assert.equal(last[0], queue.message);
  assert.match(last[1]!, /^trial\s+parameters\s+rung\s+accuracy\s+state$/);
  assert.match(last[2]!, /^\s*0\s+upper=50\s+epoch 1\s+-\s+running$/);
  assert.equal(last.length, 4);
});
