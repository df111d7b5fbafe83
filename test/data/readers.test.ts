import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readExamples } from "../../src/data/readers.ts";
import { customTask, getGlueTask } from "../../src/data/tasks.ts";
import { ConfigError, DataError, FormatError } from "../../src/errors.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { needsSharedData, sharedData } from "../helpers/shared.ts";
import { parquetBytes } from "./parquet-writer.ts";

const { fixture } = fixtureDir("rose-data-");
const task = (name: string) => getGlueTask(name)!;

function dataLines(file: string): number {
  return (
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "").length - 1
  ); // minus header
}

for (const [name, files] of [
  ["sst2", ["dev.tsv", "train.tsv"]],
  ["rte", ["dev.tsv", "train.tsv"]],
  ["qnli", ["dev.tsv"]],
] as const) {
  for (const f of files) {
    const rel = `glue/${name}/${f}`;
    test(`reads shared GLUE ${name}/${f}`, { skip: needsSharedData(rel) }, async () => {
      const file = sharedData(rel);
      const t = task(name);
      const r = await readExamples(file, { task: t });
      assert.equal(r.examples.length, dataLines(file));
      assert.equal(r.skipped, 0);
      assert.deepEqual(r.labels, t.labels);
      const seen = new Set(r.examples.map((e) => e.label));
      assert.deepEqual([...seen].sort(), [0, 1]);
      for (const e of r.examples) {
        assert.ok(e.text.trim().length > 0);
        assert.equal(e.pair !== undefined, t.isPair);
      }
      assert.equal(r.examples[0]!.line, 2);
    });
  }
}

test("QNLI string labels map to HF ids (0 = entailment)", { skip: needsSharedData("glue/qnli/dev.tsv") }, async () => {
  const file = sharedData("glue/qnli/dev.tsv");
  const r = await readExamples(file, { task: task("qnli") });
  const raw = readFileSync(file, "utf8")
    .split("\n")
    .slice(1, 6)
    .map((l) => l.split("\t")[3]);
  assert.deepEqual(
    r.examples.slice(0, 5).map((e) => e.label),
    raw.map((l) => (l === "entailment" ? 0 : 1)),
  );
  assert.equal(r.examples[0]!.text, "What came into force after the new constitution was herald?");
});

test("original GLUE RTE layout with string labels", async () => {
  const f = fixture("tsv", 'index\tsentence1\tsentence2\tlabel\n0\tA man "sleeps".\tA man rests.\tentailment\n1\tB\tC\tnot_entailment\n');
  const r = await readExamples(f, { task: task("rte") });
  assert.deepEqual(r.examples, [
    { text: 'A man "sleeps".', pair: "A man rests.", label: 0, line: 2 },
    { text: "B", pair: "C", label: 1, line: 3 },
  ]);
});

test("original CoLA (no header), MRPC and MNLI layouts", async () => {
  const cola = fixture("tsv", "gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n");
  const c = await readExamples(cola, { task: task("cola") });
  assert.deepEqual(
    c.examples.map((e) => [e.text, e.label, e.line]),
    [
      ["Our friends won't buy this analysis.", 1, 1],
      ["They drank the pub.", 0, 2],
    ],
  );
  const mrpc = fixture("tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said.\tHe stated.\n0\t3\t4\tX\tY\n");
  const m = await readExamples(mrpc, { task: task("mrpc") });
  assert.deepEqual(
    m.examples.map((e) => [e.text, e.pair, e.label]),
    [
      ["He said.", "He stated.", 1],
      ["X", "Y", 0],
    ],
  );
  const mnli = fixture(
    "tsv",
    "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label\n" +
      "0\t1\t1n\tgov\tP1\tH1\tneutral\tneutral\n1\t2\t2c\tgov\tP2\tH2\tcontradiction\tcontradiction\n",
  );
  const mn = await readExamples(mnli, { task: task("mnli") });
  assert.deepEqual(
    mn.examples.map((e) => [e.text, e.pair, e.label]),
    [
      ["P1", "H1", 1],
      ["P2", "H2", 2],
    ],
  );
  const stsb = fixture("tsv", "index\tgenre\tsentence1\tsentence2\tscore\n0\tnews\tA\tB\t3.8\n1\tnews\tC\tD\t0.25\n");
  const s = await readExamples(stsb, { task: task("stsb") });
  assert.deepEqual(
    s.examples.map((e) => e.label),
    [3.8, 0.25],
  );
  assert.equal(s.labels, null);
});

test("unlabelled test files give null labels", async () => {
  const f = fixture("tsv", "index\tsentence\n0\tgood movie\n1\tbad movie\n");
  const r = await readExamples(f, { task: task("sst2") });
  assert.deepEqual(
    r.examples.map((e) => e.label),
    [null, null],
  );
  const hf = fixture("tsv", "sentence\tlabel\tidx\ngood\t-1\t0\n");
  assert.equal((await readExamples(hf, { task: task("sst2") })).examples[0]!.label, null);
});

test("SMS spam TSV by column index, header auto-detected", { skip: needsSharedData("spam/SMSSpamCollection.tsv") }, async () => {
  const file = sharedData("spam/SMSSpamCollection.tsv");
  const r = await readExamples(file, { task: customTask(), labelColumn: 0, textColumn: 1 });
  assert.equal(r.examples.length, dataLines(file));
  assert.deepEqual(r.labels, ["ham", "spam"]);
  const first = readFileSync(file, "utf8").split("\n")[1]!.split("\t");
  assert.deepEqual([r.examples[0]!.text, r.examples[0]!.label], [first[1], first[0] === "spam" ? 1 : 0]);
  const spam = r.examples.filter((e) => e.label === 1).length;
  assert.ok(spam > 0 && spam < r.examples.length / 2);
  // Same with names, with digit strings as the CLI passes them, and with known labels.
  const byName = await readExamples(file, { task: customTask(), labelColumn: "Label", textColumn: "SMS" });
  assert.equal(byName.examples.length, r.examples.length);
  const byString = await readExamples(file, { task: customTask({ labels: ["ham", "spam"] }), labelColumn: "0", textColumn: "1" });
  assert.deepEqual(
    byString.examples.map((e) => e.label),
    r.examples.map((e) => e.label),
  );
});

test("header-less file with column indices", async () => {
  const f = fixture("tsv", "ham\thello there\nspam\tWIN NOW\nham\tsee you\n");
  const r = await readExamples(f, { task: customTask(), labelColumn: 0, textColumn: 1 });
  assert.deepEqual(
    r.examples.map((e) => [e.label, e.line]),
    [
      [0, 1],
      [1, 2],
      [0, 3],
    ],
  );
  const forced = await readExamples(f, { task: customTask(), labelColumn: 0, textColumn: 1, hasHeader: true });
  assert.equal(forced.examples.length, 2);
});

test("custom labels: sorted strings, or numeric order when all integers", async () => {
  const s = fixture("csv", "text,label\na,zebra\nb,apple\nc,mango\nd,apple\n");
  const r = await readExamples(s, { task: customTask() });
  assert.deepEqual(r.labels, ["apple", "mango", "zebra"]);
  assert.deepEqual(
    r.examples.map((e) => e.label),
    [2, 0, 1, 0],
  );
  const ints = fixture("csv", "text,label\na,10\nb,2\nc,-1\n");
  const ri = await readExamples(ints, { task: customTask() });
  assert.deepEqual(ri.labels, ["-1", "2", "10"]);
  assert.deepEqual(
    ri.examples.map((e) => e.label),
    [2, 1, 0],
  );
  // A later split read with the training labels keeps the ids.
  const dev = fixture("csv", "text,label\nx,mango\n");
  const rd = await readExamples(dev, { task: customTask({ labels: r.labels! }) });
  assert.equal(rd.examples[0]!.label, 1);
});

test("CSV with quoted commas, newlines and escaped quotes", async () => {
  const f = fixture("csv", 'text,label\r\n"Hello, world",1\r\n"two\r\nlines ""quoted""",0\r\nplain text,1\r\n"",0\r\n');
  await assert.rejects(readExamples(f, { task: task("sst2"), textColumn: "text" }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.line, 6);
    assert.match(e.message, /:6: empty text/);
    return true;
  });
  const r = await readExamples(f, { task: task("sst2"), textColumn: "text", skipBadRows: true });
  assert.deepEqual(r.examples, [
    { text: "Hello, world", label: 1, line: 2 },
    { text: 'two\r\nlines "quoted"', label: 0, line: 3 }, // quoted content kept verbatim, as Python's csv does
    { text: "plain text", label: 1, line: 5 },
  ]);
  assert.equal(r.skipped, 1);
  const bad = fixture("csv", 'text,label\n"never closed,1\n');
  await assert.rejects(
    readExamples(bad, { task: customTask() }),
    (e: unknown) => e instanceof DataError && /:2: .*never closed/.test(e.message),
  );
});

test("TSV quotes are literal (QUOTE_NONE)", async () => {
  const f = fixture("tsv", 'sentence\tlabel\n"a\t1\nb "c" \t0\n');
  const r = await readExamples(f, { task: task("sst2") });
  assert.deepEqual(
    r.examples.map((e) => e.text),
    ['"a', 'b "c" '],
  );
});

test("JSON Lines and JSON arrays", async () => {
  const jl = fixture("jsonl", '{"premise":"P","hypothesis":"H","label":2}\n\n{"premise":"Q","hypothesis":"I","label":"entailment"}\n');
  const r = await readExamples(jl, { task: task("mnli") });
  assert.deepEqual(r.examples, [
    { text: "P", pair: "H", label: 2, line: 1 },
    { text: "Q", pair: "I", label: 0, line: 3 },
  ]);
  const arr = fixture(
    "json",
    JSON.stringify([
      { text: "a", label: 0 },
      { text: "b", label: 1 },
    ]),
  );
  const ra = await readExamples(arr, { task: customTask({ labels: ["neg", "pos"] }) });
  assert.deepEqual(
    ra.examples.map((e) => [e.text, e.label, e.line]),
    [
      ["a", 0, 1],
      ["b", 1, 2],
    ],
  );
  const broken = fixture("jsonl", '{"sentence":"ok","label":1}\n{"sentence":\n');
  await assert.rejects(readExamples(broken, { task: task("sst2") }), /:2: invalid JSON/);
});

test("Parquet (HF layout, int64 labels, nulls)", async () => {
  const f = fixture(
    "parquet",
    parquetBytes([
      { name: "sentence1", type: "string", values: ["A man sleeps.", "Dogs bark.", "x"] },
      { name: "sentence2", type: "string", values: ["A man rests.", "Cats meow.", "y"] },
      { name: "label", type: "int64", values: [0, 1, null] },
      { name: "idx", type: "int64", values: [0, 1, 2] },
    ]),
  );
  await assert.rejects(readExamples(f, { task: task("rte") }), /:3: missing label field "label"/);
  const r = await readExamples(f, { task: task("rte"), skipBadRows: true });
  assert.deepEqual(r.examples, [
    { text: "A man sleeps.", pair: "A man rests.", label: 0, line: 1 },
    { text: "Dogs bark.", pair: "Cats meow.", label: 1, line: 2 },
  ]);
  assert.equal(r.skipped, 1);
  const stsb = fixture(
    "parquet",
    parquetBytes([
      { name: "sentence1", type: "string", values: ["a"] },
      { name: "sentence2", type: "string", values: ["b"] },
      { name: "label", type: "double", values: [4.25] },
    ]),
  );
  assert.equal((await readExamples(stsb, { task: task("stsb") })).examples[0]!.label, 4.25);
  const junk = fixture("parquet", "not a parquet file at all");
  await assert.rejects(readExamples(junk, { task: task("rte") }), FormatError);
});

test("bad rows name file and line; skipBadRows counts them", async () => {
  const f = fixture("tsv", "sentence\tlabel\ngood\t1\nmissing label\nweird\tmaybe\n   \t0\nfine\t0\nrange\t7\n");
  await assert.rejects(readExamples(f, { task: task("sst2") }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.file, f);
    assert.equal(e.line, 3);
    assert.match(e.message, /missing fields/);
    return true;
  });
  const r = await readExamples(f, { task: task("sst2"), skipBadRows: true });
  assert.deepEqual(
    r.examples.map((e) => e.line),
    [2, 6],
  );
  assert.equal(r.skipped, 4);
  const unknown = fixture("tsv", "sentence\tlabel\nx\tmaybe\n");
  await assert.rejects(readExamples(unknown, { task: task("sst2") }), /:2: unknown label "maybe"/);
  const range = fixture("tsv", "sentence\tlabel\nx\t7\n");
  await assert.rejects(readExamples(range, { task: task("sst2") }), /:2: label 7 is out of range/);
});

test("empty data set is an error even with skipBadRows", async () => {
  const allBad = fixture("tsv", "sentence\tlabel\nx\tnope\n");
  await assert.rejects(readExamples(allBad, { task: task("sst2"), skipBadRows: true }), /no usable examples \(1 bad rows skipped\)/);
  const headerOnly = fixture("tsv", "sentence\tlabel\n");
  await assert.rejects(readExamples(headerOnly, { task: task("sst2") }), DataError);
  const empty = fixture("csv", "");
  await assert.rejects(readExamples(empty, { task: task("sst2") }), /empty/);
});

test("missing columns and unknown formats are reported clearly", async () => {
  const f = fixture("tsv", "foo\tbar\nx\t1\n");
  await assert.rejects(readExamples(f, { task: task("sst2") }), /cannot find the sst2 columns.*"foo", "bar"/);
  await assert.rejects(readExamples(f, { task: task("sst2"), textColumn: "nope" }), /no column "nope" for the text/);
  await assert.rejects(readExamples(fixture("xlsx", "x"), { task: task("sst2") }), ConfigError);
  const r = await readExamples(f, { task: task("sst2"), textColumn: "foo", labelColumn: "bar" });
  assert.deepEqual(r.examples, [{ text: "x", label: 1, line: 2 }]);
});
