import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FormatError } from "../../src/errors.ts";
import { accuracy, advGlueOverall, f1, loadAdvGlue, scoreAdvGlue } from "../../src/robust/advglue.ts";

const fixture = fileURLToPath(new URL("fixtures/advglue_dev.json", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "rose-advglue-"));

test("loads each task with its GLUE fields as text/pair", async () => {
  const sst2 = await loadAdvGlue(fixture, "sst2");
  assert.equal(sst2.numLabels, 2);
  assert.equal(sst2.examples.length, 4);
  assert.deepEqual(sst2.examples[1], { idx: 1, label: 0, input: { text: "unflinchingly bleak and desperate " } });
  const qqp = await loadAdvGlue(fixture, "qqp");
  assert.deepEqual(qqp.examples[2]!.input, { text: "What is ML?", pair: "What is machine learning?" });
  const mnli = await loadAdvGlue(fixture, "mnli");
  assert.equal(mnli.numLabels, 3);
  assert.deepEqual(mnli.labelNames, ["entailment", "neutral", "contradiction"]);
  assert.equal(mnli.examples[1]!.input.pair, "A woman is running a marathon.");
  assert.equal((await loadAdvGlue(fixture, "mnli-mm")).examples.length, 2);
  assert.equal((await loadAdvGlue(fixture, "qnli")).examples[0]!.input.text, "When was the bridge built?");
  assert.equal((await loadAdvGlue(fixture, "rte")).examples[1]!.input.pair, "The company was bought.");
});

test("bad files and rows are FormatErrors naming file, task and index", async () => {
  const write = (name: string, obj: unknown): string => {
    const f = path.join(dir, name);
    writeFileSync(f, typeof obj === "string" ? obj : JSON.stringify(obj));
    return f;
  };
  const check = async (file: string, task: string, re: RegExp): Promise<void> => {
    await assert.rejects(
      loadAdvGlue(file, task),
      (e: unknown) => e instanceof FormatError && e.message.startsWith(file) && re.test(e.message),
    );
  };
  await check(path.join(dir, "none.json"), "sst2", /cannot read/);
  await check(write("broken.json", "{"), "sst2", /not valid JSON/);
  await check(write("array.json", []), "sst2", /JSON object keyed by AdvGLUE task/);
  await check(write("notask.json", { sst2: [] }), "rte", /no task "rte" \(tasks in file: sst2\)/);
  await check(
    write("field.json", {
      qqp: [
        { idx: 0, label: 1, question1: "a?", question2: "b?" },
        { idx: 7, label: 0, question1: "a?" },
      ],
    }),
    "qqp",
    /task "qqp", index 1 \(idx 7\): missing or empty text field "question2"/,
  );
  await check(
    write("label.json", { mnli: [{ idx: 3, label: 3, premise: "a", hypothesis: "b" }] }),
    "mnli",
    /task "mnli", index 0 \(idx 3\): bad label 3; expected an integer in 0\.\.2/,
  );
  await check(write("neg.json", { sst2: [{ idx: 0, label: -1, sentence: "a" }] }), "sst2", /bad label -1/);
  await check(write("idx.json", { sst2: [{ label: 0, sentence: "a" }] }), "sst2", /index 0: missing or non-integer "idx"/);
  await assert.rejects(loadAdvGlue(fixture, "cola"), (e: unknown) => e instanceof ConfigError && /sst2, qqp/.test(e.message));
});

test("scores follow the GLUE metrics: accuracy, and QQP's mean of accuracy and F1", () => {
  assert.equal(accuracy([1, 0, 1, 1], [1, 0, 0, 1]), 75);
  // tp = 2, fp = 1, fn = 1 -> F1 = 4 / 6
  assert.ok(Math.abs(f1([1, 1, 1, 0, 0], [1, 1, 0, 1, 0]) - 200 / 3) < 1e-9);
  assert.equal(f1([0, 0], [1, 1]), 0);
  assert.deepEqual(scoreAdvGlue("sst2", [1, 0, 1, 1], [1, 0, 0, 1]), { task: "sst2", n: 4, accuracy: 75, score: 75 });
  const qqp = scoreAdvGlue("qqp", [1, 1, 1, 0, 0], [1, 1, 0, 1, 0]);
  assert.equal(qqp.accuracy, 60);
  assert.ok(Math.abs(qqp.score - (60 + 200 / 3) / 2) < 1e-9);
  assert.throws(() => scoreAdvGlue("sst2", [1], [1, 0]), /1 predictions for 2 labels/);
  assert.throws(() => scoreAdvGlue("cola", [1], [1]), ConfigError);
});

test("overall: MNLI is the mean of matched and mismatched, the average is over tasks", () => {
  const o = advGlueOverall([
    scoreAdvGlue("sst2", [1, 1], [1, 0]), // 50
    scoreAdvGlue("mnli", [0, 1, 2, 0], [0, 1, 2, 1]), // 75
    scoreAdvGlue("mnli-mm", [0, 0], [0, 0]), // 100
    scoreAdvGlue("rte", [0], [0]), // 100
  ]);
  assert.deepEqual(o.tasks, { sst2: 50, mnli: 87.5, rte: 100 });
  assert.ok(Math.abs(o.average - (50 + 87.5 + 100) / 3) < 1e-9);
  assert.deepEqual(advGlueOverall([scoreAdvGlue("mnli-mm", [0], [0])]).tasks, { mnli: 100 });
  assert.throws(() => advGlueOverall([scoreAdvGlue("rte", [0], [0]), scoreAdvGlue("rte", [0], [0])]), ConfigError);
});
