// The run folder's records: each written in the exact bytes earlier runs wrote (so old runs resume and
// report), read back equal, and a damaged file refused with one line naming it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "../../src/errors.ts";
import {
  type AttackResultRecord,
  type Checkpointable,
  type EvalRecord,
  type ExtraEvalRecord,
  loadModelWeights,
  type MaskRecord,
  type MetricsRecord,
  RunDir,
  readJsonLines,
  SweepDir,
  type TrainRecord,
  writeAttackResults,
  writeRobustnessFile,
} from "../../src/node/run-dir.ts";
import { writeSafetensors } from "../../src/node/safetensors.ts";

const fresh = () => new RunDir(mkdtempSync(join(tmpdir(), "rose-run-dir-")));
const text = (file: string) => readFileSync(file, "utf8");

/** A FormatError of one line that names `file`. */
function refused(fn: () => unknown, file: string, problem: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(!e.message.includes("\n"), `one line: ${JSON.stringify(e.message)}`);
    assert.match(e.message, problem);
    return true;
  });
}

const train: TrainRecord = { type: "train", step: 1, epoch: 0.25, loss: 0.69, learning_rate: 5e-5, grad_norm: 1.5 };
const evalRec: EvalRecord = { type: "eval", step: 4, epoch: 1, accuracy: 0.75, mcc: null };

test("metrics.jsonl: one JSON object a line, read back equal; evals apart", () => {
  const run = fresh();
  assert.deepEqual(run.readMetrics(), []);
  run.appendMetrics(train);
  run.appendMetrics(evalRec);
  assert.equal(text(run.path("metrics")), `${JSON.stringify(train)}\n${JSON.stringify(evalRec)}\n`);
  assert.equal(run.path("metrics"), join(run.dir, "metrics.jsonl"));
  assert.deepEqual(run.readMetrics(), [train, evalRec] satisfies MetricsRecord[]);
  assert.deepEqual(run.readEvals(), [evalRec]);
});

test("rose_masks.jsonl round trip", () => {
  const run = fresh();
  const masks: MaskRecord[] = [
    { step: 1, applied: false, mask: { "a.weight": 1, "b.weight": 0 } },
    { step: 2, applied: true, mask: { "a.weight": 0.5, "b.weight": 1 } },
  ];
  for (const m of masks) run.appendMask(m);
  assert.equal(text(join(run.dir, "rose_masks.jsonl")), masks.map((m) => `${JSON.stringify(m)}\n`).join(""));
  assert.deepEqual(run.readMasks(), masks);
});

test("a torn last line (a kill mid-append) is skipped; a bad complete line is a one-line FormatError naming file and line", () => {
  const run = fresh();
  const file = run.path("metrics");
  run.appendMetrics(train);
  appendFileSync(file, '{"type":"eval","st');
  assert.deepEqual(run.readMetrics(), [train]);
  // The same cut followed by more records is damage, not a torn write.
  appendFileSync(file, `\n${JSON.stringify(evalRec)}\n`);
  refused(() => run.readMetrics(), file, /line 2 is not valid JSON/);
  writeFileSync(file, `${JSON.stringify(train)}\n{"type":"test","step":3}\n`);
  refused(() => run.readMetrics(), file, /line 2: "type" must be "train" or "eval"/);
  writeFileSync(file, '{"type":"train","step":-1}\n');
  refused(() => run.readMetrics(), file, /line 1: "step" must be a step number/);
  writeFileSync(file, "[1,2]\n");
  refused(() => run.readMetrics(), file, /line 1: not a JSON object/);
  writeFileSync(file, Buffer.from([0x7b, 0xff, 0x7d, 0x0a]));
  refused(() => run.readMetrics(), file, /line 1: byte 0xFF at byte offset 1 is not valid UTF-8/);
  const masks = run.path("masks");
  writeFileSync(masks, '{"step":1,"applied":"yes","mask":{}}\n');
  refused(() => run.readMasks(), masks, /line 1: "applied" must be true or false/);
  writeFileSync(masks, '{"step":1,"applied":true,"mask":{"a":"1"}}\n');
  refused(() => run.readMasks(), masks, /line 1: "mask" must be an object of numbers/);
});

test("rewindRecords keeps the records up to the checkpoint's step and drops a torn line; step 0 removes the files", () => {
  const run = fresh();
  for (let step = 1; step <= 4; step++) {
    run.appendMetrics({ type: "train", step, loss: step });
    run.appendMask({ step, applied: true, mask: { a: 1 } });
  }
  appendFileSync(run.path("metrics"), '{"type":"tr');
  run.rewindRecords(2);
  assert.deepEqual(
    run.readMetrics().map((r) => r.step),
    [1, 2],
  );
  assert.match(text(run.path("metrics")), /\n$/);
  assert.deepEqual(
    run.readMasks().map((r) => r.step),
    [1, 2],
  );
  run.rewindRecords(0);
  assert.ok(!existsSync(run.path("metrics")) && !existsSync(run.path("masks")));
});

test("checkpoints: the pointer's bytes, the state file, committing a newer one removes the older, orphans are found", () => {
  const run = fresh();
  assert.equal(run.lastCheckpoint(), null);
  const name = run.createCheckpoint(3);
  assert.equal(name, "checkpoint-3");
  const state = { globalStep: 3, bestMetric: null, logHistory: [train] };
  run.writeCheckpointState(name, state);
  assert.equal(text(join(run.dir, "checkpoint-3", "trainer_state.json")), `${JSON.stringify(state)}\n`);
  assert.deepEqual(run.readCheckpointState(name), state);
  // A complete checkpoint without the pointer is an orphan.
  assert.equal(run.orphanedCheckpoint(), "checkpoint-3");
  run.commitCheckpoint(3);
  assert.equal(text(join(run.dir, "last_checkpoint.json")), '{"dir":"checkpoint-3","step":3}');
  assert.deepEqual(run.lastCheckpoint(), { dir: "checkpoint-3", step: 3 });
  run.writeCheckpointState(run.createCheckpoint(5), { ...state, globalStep: 5 });
  run.commitCheckpoint(5);
  assert.deepEqual(run.lastCheckpoint(), { dir: "checkpoint-5", step: 5 });
  assert.ok(!existsSync(join(run.dir, "checkpoint-3")), "the replaced checkpoint is removed");
  assert.equal(run.checkpointPath("checkpoint-5", "optimizer"), join(run.dir, "checkpoint-5", "optimizer.safetensors"));
});

test("a truncated or edited last_checkpoint.json is a one-line FormatError naming it (and no checkpoint for messages)", () => {
  const run = fresh();
  const file = run.path("lastCheckpoint");
  for (const [bytes, problem] of [
    ['{"dir":"checkpoint-3","st', /not valid JSON/],
    ["", /not valid JSON/],
    ["[]", /not a JSON object/],
    ['{"dir":"../elsewhere","step":3}', /"dir" must name a checkpoint-<step> directory/],
    ['{"dir":"checkpoint-3","step":4}', /"step" 4 does not match the directory checkpoint-3/],
  ] as const) {
    writeFileSync(file, bytes);
    refused(() => run.lastCheckpoint(), file, problem);
    assert.equal(run.lastCheckpointIfReadable(), null);
  }
  // A pointer that cannot be read removes nothing when the next checkpoint is committed.
  run.createCheckpoint(3);
  run.commitCheckpoint(4);
  assert.ok(existsSync(join(run.dir, "checkpoint-3")));
});

test("result files: pretty JSON, the completion mark; one that is not an object is refused", () => {
  const run = fresh();
  const rec = { global_step: 8, epoch: 2, log_history: [train, evalRec], args: { seed: 1 }, result: { trainLoss: 0.5 } };
  assert.equal(run.readResult("trainer_state.json"), null);
  assert.ok(!run.has("trainerState"));
  run.writeResult("trainer_state.json", rec);
  assert.equal(text(join(run.dir, "trainer_state.json")), `${JSON.stringify(rec, null, 2)}\n`);
  assert.ok(run.has("trainerState"));
  assert.deepEqual(run.readResult("trainer_state.json"), rec);
  run.removeResult("trainer_state.json");
  assert.ok(!run.has("trainerState"));
  writeFileSync(run.path("pretrainResult"), "[1]");
  refused(() => run.readResult("pretrain_result.json"), run.path("pretrainResult"), /expected a JSON object/);
});

test("sweep_evals.jsonl round trip; values must be numbers", () => {
  const run = fresh();
  const recs: ExtraEvalRecord[] = [
    { step: 4, epoch: 1, loss: 0.4 },
    { step: 4, epoch: 1, "robust:deepwordbug": 0.5 },
  ];
  for (const r of recs) run.appendExtraEval(r);
  assert.equal(text(join(run.dir, "sweep_evals.jsonl")), recs.map((r) => `${JSON.stringify(r)}\n`).join(""));
  assert.deepEqual(run.readExtraEvals(), recs);
  appendFileSync(run.path("sweepEvals"), '{"step":8,"epoch":2,"loss":"low"}\n');
  refused(() => run.readExtraEvals(), run.path("sweepEvals"), /line 3: "loss" must be a number/);
  run.removeExtraEvals();
  assert.deepEqual(run.readExtraEvals(), []);
});

test("robustness.json and attack results: the bytes rose robustness / rose attack --output write", () => {
  const run = fresh();
  const rob = {
    task: "sst2",
    rows: [
      {
        recipe: "deepwordbug",
        n: 4,
        succeeded: 1,
        failed: 2,
        skipped: 1,
        original_accuracy: 75,
        accuracy_under_attack: 50,
        attack_success_rate: 33.33,
        avg_perturbed_word_pct: 12.5,
        avg_queries: 20.25,
        seconds: 0.125,
      },
    ],
  };
  writeRobustnessFile(run.path("robustness"), rob);
  assert.equal(text(join(run.dir, "robustness.json")), `${JSON.stringify(rob)}\n`);
  assert.deepEqual(run.readRobustness(), rob);
  const rec: AttackResultRecord = {
    index: 0,
    status: "succeeded",
    original_text: "a fine film",
    perturbed_text: "a fnie film",
    attacked_field: "text",
    label: 1,
    label_name: "positive",
    original_prediction: 1,
    perturbed_prediction: 0,
    queries: 7,
    num_words: 3,
    perturbed_word_pct: 33.33,
    changes: [{ index: 1, original: "fine", perturbed: "fnie" }],
  };
  const out = join(run.dir, "attack.jsonl");
  writeAttackResults(out, [rec, { ...rec, index: 1 }]);
  assert.deepEqual(
    readJsonLines(out, () => null),
    [rec, { ...rec, index: 1 }],
  );
  assert.equal(text(out).split("\n")[0], JSON.stringify(rec));
});

test("landscapes: landscape.json and its plots, here and one folder below", () => {
  const run = fresh();
  assert.deepEqual(run.readLandscapes(), []);
  const sub = join(run.dir, "landscape");
  mkdirSync(sub);
  writeFileSync(join(sub, "landscape.json"), '{"dims":1}\n');
  writeFileSync(join(sub, "b.svg"), "<svg/>");
  writeFileSync(join(sub, "a.svg"), "<svg></svg>");
  assert.deepEqual(run.readLandscapes(), [
    {
      dir: sub,
      json: { dims: 1 },
      svgs: [
        { name: "a", svg: "<svg></svg>" },
        { name: "b", svg: "<svg/>" },
      ],
    },
  ]);
});

test("sweep folder: sweep.json, state.json and the results in their formats", () => {
  const dir = new SweepDir(mkdtempSync(join(tmpdir(), "rose-sweep-dir-")));
  assert.equal(dir.readSpec(), null);
  assert.equal(dir.readState(), null);
  const spec = { id: "x", strategy: "grid", trials: [{ index: 0 }] };
  dir.writeSpec(spec);
  assert.equal(text(join(dir.dir, "sweep.json")), `${JSON.stringify(spec, null, 2)}\n`);
  assert.deepEqual(dir.readSpec(), spec);
  const state = { "0/0": { score: 0.5 } };
  dir.writeState(state);
  assert.equal(text(join(dir.dir, "state.json")), `${JSON.stringify(state, null, 1)}\n`);
  assert.deepEqual(dir.readState(), state);
  const files = dir.writeResults("trial,score\n0,0.5\n", { best: null });
  assert.deepEqual(files, { csv: join(dir.dir, "results.csv"), json: join(dir.dir, "results.json") });
  assert.equal(text(files.json), `${JSON.stringify({ best: null }, null, 2)}\n`);
  writeFileSync(dir.path("state"), '{"0/0": {"sc');
  refused(() => dir.readState(), dir.path("state"), /not valid JSON/);
});

test("loadModelWeights: a folder's model.safetensors into the model, checked whole first", () => {
  const run = fresh();
  const model: Checkpointable = {
    params: new Map([
      ["w", Float32Array.from([1, 2, 3, 4, 5, 6])],
      ["b", Float32Array.from([0, 0])],
    ]),
    shapes: new Map([
      ["w", [2, 3]],
      ["b", [2]],
    ]),
  };
  const best = run.path("best");
  mkdirSync(best);
  writeSafetensors(join(best, "model.safetensors"), [
    ["w", { shape: [2, 3], data: Float32Array.from([6, 5, 4, 3, 2, 1]) }],
    ["b", { shape: [2], data: Float32Array.from([1, -1]) }],
  ]);
  loadModelWeights(model, best);
  assert.deepEqual([...model.params.get("w")!], [6, 5, 4, 3, 2, 1]);
  assert.deepEqual([...model.params.get("b")!], [1, -1]);
  const other = join(run.dir, "checkpoint-2");
  mkdirSync(other);
  writeSafetensors(join(other, "model.safetensors"), [
    ["w", { shape: [3, 2], data: new Float32Array(6) }],
    ["b", { shape: [2], data: new Float32Array(2) }],
  ]);
  refused(() => loadModelWeights(model, other), join(other, "model.safetensors"), /w has shape \[3,2\], expected \[2,3\]/);
  assert.deepEqual([...model.params.get("b")!], [1, -1], "a refused file leaves the model untouched");
});
