// Property test: valid CSV, TSV, JSON Lines and Parquet data files, mutated (seeded) by truncation at and
// around every row boundary and by random byte flips. A mutant is refused with a typed error naming the
// file, or reads as the original's rows: after a cut, a prefix of them; after a flip, all of them with at
// most the flipped row changed. With skipBadRows, every bad row is counted. No row is ever lost silently.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Example, readExamples } from "../../src/data/readers.ts";
import { getGlueTask } from "../../src/data/tasks.ts";
import { cutsAround, flip, outcome, positions, Rng } from "../helpers/mutate.ts";
import { parquetBytes } from "./parquet-writer.ts";

const dir = mkdtempSync(path.join(tmpdir(), "rose-data-mutate-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const task = getGlueTask("rte")!; // a pair task: two text fields and a label per row

const rng0 = new Rng(16, 6);
const WORDS = ["the", "cat", "sat", "on", "a", "mat", "café", "naïve", "über", "😀", "it's", "5%", "x-ray", "#1"];
/** Rows with commas, quotes, newlines and non-ASCII text, so CSV quoting is exercised. */
const ROWS = Array.from({ length: 24 }, (_, i) => {
  const words = (n: number) => Array.from({ length: n }, () => WORDS[rng0.int(WORDS.length)]!).join(" ");
  const a = i % 5 === 1 ? `${words(3)}, "${words(2)}", ${words(2)}` : i % 7 === 3 ? `${words(2)}\n${words(3)}` : words(4);
  return { a, b: words(3), label: i % 2 === 0 ? "entailment" : "not_entailment" };
});

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const FILES: Record<string, string> = {
  csv: `sentence1,sentence2,label\r\n${ROWS.map((r) => [r.a, r.b, r.label].map(csvField).join(",")).join("\r\n")}\r\n`,
  // TSV has no quoting: its rows stay on one line.
  tsv: `index\tsentence1\tsentence2\tlabel\n${ROWS.map((r, i) => [i, r.a.replace(/\n/g, " "), r.b, r.label].join("\t")).join("\n")}\n`,
  jsonl: `${ROWS.map((r, i) => JSON.stringify({ sentence1: r.a, sentence2: r.b, label: i % 2 })).join("\n\n")}\n`,
};

/** 1-based line of each byte offset. */
function lineOfByte(bytes: Uint8Array): (pos: number) => number {
  const starts = [0];
  bytes.forEach((b, i) => {
    if (b === 0x0a) starts.push(i + 1);
  });
  return (pos) => {
    let n = 0;
    while (n + 1 < starts.length && starts[n + 1]! <= pos) n++;
    return n + 1;
  };
}

/** A row's content, without its line number. */
function content1(e: Example): string {
  return JSON.stringify([e.text, e.pair, e.label]);
}

function view(e: Example[]): unknown {
  return e.map(({ text, pair, label, line }) => [text, pair, label, line]);
}

for (const [ext, content] of Object.entries(FILES)) {
  test(`${ext}: truncated anywhere, a prefix of the rows or a refusal`, { timeout: 300_000 }, async () => {
    const bytes = new Uint8Array(Buffer.from(content));
    const file = path.join(dir, `cut.${ext}`);
    writeFileSync(file, bytes);
    const original = (await readExamples(file, { task })).examples;
    assert.equal(original.length, ROWS.length);
    let refused = 0;
    for (let cut = 0; cut < bytes.length; cut++) {
      writeFileSync(file, bytes.subarray(0, cut));
      const what = `${ext} truncated to ${cut} bytes`;
      const o = await outcome(what, file, async () => view((await readExamples(file, { task })).examples), view(original));
      if (o.kind === "error") {
        refused++;
        continue;
      }
      const got = o.kind === "same" ? original : (await readExamples(file, { task })).examples;
      // Every row that ended before the cut (the next one starts before it) is there, unchanged.
      const complete = original.filter(
        (_, i) => i + 1 < original.length && Buffer.byteLength(content.slice(0, lineStart(content, original[i + 1]!.line))) <= cut,
      );
      assert.ok(got.length >= complete.length, `${what}: ${got.length} rows, ${complete.length} complete before the cut`);
      assert.deepEqual(view(got), view(original.slice(0, got.length)), `${what}: the rows read are not the original's first ones`);
    }
    assert.ok(refused > 0);
  });

  test(`${ext}: byte flips change at most the flipped row, or are refused; skipped rows are counted`, { timeout: 300_000 }, async () => {
    const bytes = new Uint8Array(Buffer.from(content));
    const file = path.join(dir, `flip.${ext}`);
    writeFileSync(file, bytes);
    const original = (await readExamples(file, { task })).examples;
    const lineOf = lineOfByte(bytes);
    const rng = new Rng(16, 7, ext.length);
    const tally = { error: 0, same: 0, changed: 0 };
    for (const pos of positions(rng, 0, bytes.length, 400)) {
      const mutant = flip(bytes, pos, rng);
      writeFileSync(file, mutant);
      const line = lineOf(pos);
      const what = `${ext} byte ${pos} (line ${line}) flipped from ${bytes[pos]} to ${mutant[pos]}`;
      // The flipped row: the last one starting at or before the flipped line.
      let owner = -1;
      original.forEach((e, i) => {
        if (e.line <= line) owner = i;
      });
      // A flipped line break belongs as much to the row after it.
      const owners = bytes[pos] === 0x0a || bytes[pos] === 0x0d ? [owner, owner + 1] : [owner];
      const isHeader = ext !== "jsonl" && line === 1;
      const o = await outcome(what, file, async () => (await readExamples(file, { task })).examples, original);
      tally[o.kind]++;
      if (o.kind === "changed") {
        const got = o.value;
        assert.equal(got.length, original.length, `${what}: ${got.length} rows instead of ${original.length}`);
        if (!isHeader) {
          // Line numbers after the flip may move by one (a line break made or unmade inside a quoted field).
          const differ = got
            .map((_, i) => i)
            .filter((i) => content1(got[i]!) !== content1(original[i]!) || Math.abs(got[i]!.line - original[i]!.line) > 1);
          assert.ok(differ.length <= 1 && (differ.length === 0 || owners.includes(differ[0]!)), `${what}: rows ${differ} changed`);
        }
      }
      // Skipping: what is read is the original's rows in order, but for at most one row (the flipped one,
      // or the half of a split row), and every other row is counted as skipped.
      const s = await outcome(`${what}, skipping`, file, () => readExamples(file, { task, skipBadRows: true }), {
        examples: original,
        skipped: 0,
        labels: [...task.labels!],
      });
      if (s.kind === "changed" && !isHeader) {
        const { examples, skipped } = s.value;
        let next = 0;
        let foreign = 0;
        for (const e of examples) {
          const i = original.findIndex((x, k) => k >= next && content1(x) === content1(e));
          if (i < 0) foreign++;
          else next = i + 1;
        }
        assert.ok(foreign <= 1, `${what}, skipping: ${foreign} rows the original does not have`);
        // A flipped line break can merge two rows into one bad row; nothing else is lost uncounted.
        assert.ok(
          examples.length + skipped >= original.length - 1,
          `${what}, skipping: ${examples.length} read + ${skipped} skipped of ${original.length}`,
        );
      }
    }
    assert.ok(tally.error > 50 && tally.changed > 0, JSON.stringify(tally));
  });
}

/** Offset in `text` (a string index) where 1-based line `line` starts. */
function lineStart(text: string, line: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) at = text.indexOf("\n", at) + 1;
  return at;
}

test("parquet: truncations and footer flips are refused or harmless, never a crash or a hang", { timeout: 300_000 }, async () => {
  const bytes = parquetBytes([
    { name: "sentence1", type: "string", values: ROWS.map((r) => r.a) },
    { name: "sentence2", type: "string", values: ROWS.map((r) => r.b) },
    { name: "label", type: "int64", values: ROWS.map((_, i) => i % 2) },
  ]);
  const file = path.join(dir, "m.parquet");
  writeFileSync(file, bytes);
  const original = (await readExamples(file, { task })).examples;
  assert.equal(original.length, ROWS.length);
  for (const cut of cutsAround(
    [0, 4, bytes.length - 8, bytes.length - 4, ...Array.from({ length: 40 }, (_, i) => Math.floor((i * bytes.length) / 40))],
    bytes.length,
  )) {
    writeFileSync(file, bytes.subarray(0, cut));
    assert.equal(
      (await outcome(`parquet truncated to ${cut}`, file, () => readExamples(file, { task }), null)).kind,
      "error",
      `truncated to ${cut} was accepted`,
    );
  }
  const rng = new Rng(16, 8);
  for (const pos of positions(rng, Math.max(0, bytes.length - 400), bytes.length, 200)) {
    writeFileSync(file, flip(bytes, pos, rng));
    await outcome(`parquet byte ${pos} flipped`, file, () => readExamples(file, { task }), null);
  }
});
