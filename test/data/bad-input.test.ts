// Data files as users really have them: each class of broken input is refused with the file, the line and
// the problem, or skipped and counted with skipBadRows; no row is ever dropped or altered without a word.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { readExamples } from "../../src/data/readers.ts";
import { customTask, getGlueTask } from "../../src/data/tasks.ts";
import { ConfigError, DataError, FormatError, RoseError } from "../../src/errors.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { parquetBytes } from "./parquet-writer.ts";

const { dir, fixture } = fixtureDir("rose-bad-");
const sst2 = getGlueTask("sst2")!;

/** Asserts a DataError/FormatError naming `file` (and `line` when given) whose message matches `re`. */
async function refused(p: Promise<unknown>, file: string, line: number | null, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError || e instanceof FormatError, `typed error expected, got ${String(e)}`);
    assert.ok(e.message.startsWith(line === null ? `${file}:` : `${file}:${line}:`), e.message);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

test("an unterminated quote is refused, not allowed to swallow the rest of the file", async () => {
  const f = fixture("csv", 'sentence,label\ngood,1\n"never closed,0\nsecond,1\nthird,0\n');
  await refused(readExamples(f, { task: sst2 }), f, 3, /quoted field .* never closed/);
  const r = await readExamples(f, { task: sst2, skipBadRows: true });
  assert.deepEqual(
    r.examples.map((e) => [e.text, e.line]),
    [
      ["good", 2],
      ["second", 4],
      ["third", 5],
    ],
  );
  assert.equal(r.skipped, 1);
  assert.deepEqual(r.firstSkipped?.line, 3);
});

test("a quote closed later and followed by text is refused (the rows in between are not merged)", async () => {
  const f = fixture("csv", 'sentence,label\n"opens,1\nmiddle,0\n"closes" here,1\nlast,0\n');
  await refused(readExamples(f, { task: sst2 }), f, 2, /closed on line 4 and followed by "c"/);
  const r = await readExamples(f, { task: sst2, skipBadRows: true });
  // Line 4 is itself malformed once read on its own: both are counted, the good rows survive.
  assert.deepEqual(
    r.examples.map((e) => e.text),
    ["middle", "last"],
  );
  assert.equal(r.skipped, 2);
});

test("a quote inside an unquoted CSV field is reported", async () => {
  const f = fixture("csv", 'sentence,label\na 5" screen,1\nok,0\n');
  await refused(readExamples(f, { task: sst2 }), f, 2, /quote character inside an unquoted field/);
  const r = await readExamples(f, { task: sst2, skipBadRows: true });
  assert.deepEqual(
    r.examples.map((e) => e.text),
    ["ok"],
  );
});

test("rows with too many or too few fields", async () => {
  const f = fixture("csv", "sentence,label\na,1,extra\nb\nc,0\n");
  await refused(readExamples(f, { task: sst2 }), f, 2, /row has 3 fields, the header has 2/);
  const r = await readExamples(f, { task: sst2, skipBadRows: true });
  assert.deepEqual(
    r.examples.map((e) => e.text),
    ["c"],
  );
  assert.equal(r.skipped, 2);
  const t = fixture("tsv", "sentence\tlabel\nx\t1\ty\nz\t0\n");
  await refused(readExamples(t, { task: sst2 }), t, 2, /a stray delimiter/);
});

test("undecodable bytes: line and byte offset, or the file's encoding given on purpose", async () => {
  // "café" in Latin-1: 0xE9 is not valid UTF-8 on its own.
  const bytes = Buffer.concat([Buffer.from("sentence,label\nplain,1\ncaf"), Buffer.from([0xe9]), Buffer.from(",0\nlast,1\n")]);
  const f = fixture("csv", bytes);
  await refused(readExamples(f, { task: sst2 }), f, 3, /byte 0xE9 at byte offset 26 is not valid UTF-8.*latin1/);
  const skipped = await readExamples(f, { task: sst2, skipBadRows: true });
  assert.deepEqual(
    skipped.examples.map((e) => e.text),
    ["plain", "last"],
  );
  assert.equal(skipped.skipped, 1);
  const latin = await readExamples(f, { task: sst2, encoding: "latin1" });
  assert.deepEqual(
    latin.examples.map((e) => e.text),
    ["plain", "café", "last"],
  );
  // Windows-1252 curly quotes (0x93/0x94) differ from Latin-1's control characters there.
  const cp = fixture("tsv", Buffer.concat([Buffer.from("sentence\tlabel\n"), Buffer.from([0x93, 0x68, 0x69, 0x94]), Buffer.from("\t1\n")]));
  const w = await readExamples(cp, { task: sst2, encoding: "cp1252" });
  assert.equal(w.examples[0]!.text, "\u201chi\u201d");
  await assert.rejects(readExamples(cp, { task: sst2, encoding: "ebcdic" }), ConfigError);
  // The first row decides the header: it is never skipped (the next row would be taken for the header).
  const head = fixture("csv", Buffer.concat([Buffer.from("sent"), Buffer.from([0xe9]), Buffer.from("nce,label\na,1\nb,0\n")]));
  await refused(readExamples(head, { task: sst2, skipBadRows: true }), head, 1, /not valid UTF-8 .*in the first row/);
  // An encoded U+FFFD in a UTF-8 file is text, not an error.
  const ok = fixture("tsv", "sentence\tlabel\nx \uFFFD y\t1\n");
  assert.equal((await readExamples(ok, { task: sst2 })).examples[0]!.text, "x \uFFFD y");
});

test("JSON Lines: undecodable bytes and unparsable lines are bad rows; blank lines are fine", async () => {
  const f = fixture(
    "jsonl",
    Buffer.concat([
      Buffer.from('{"sentence":"a","label":1}\r\n\r\n{"sentence":"b'),
      Buffer.from([0xff]),
      Buffer.from('","label":0}\n{"sentence": "c", "label": 1,}\n{"sentence":"d","label":0}\n[1]\n'),
    ]),
  );
  await refused(readExamples(f, { task: sst2 }), f, 3, /byte 0xFF at byte offset 44 is not valid UTF-8/);
  const r = await readExamples(f, { task: sst2, skipBadRows: true });
  assert.deepEqual(
    r.examples.map((e) => [e.text, e.line]),
    [
      ["a", 1],
      ["d", 5],
    ],
  );
  assert.equal(r.skipped, 3);
  const arr = fixture("json", Buffer.concat([Buffer.from('[{"sentence":"'), Buffer.from([0xc3]), Buffer.from('","label":1}]')]));
  await refused(readExamples(arr, { task: sst2, skipBadRows: true }), arr, 1, /not valid UTF-8/);
});

test("NUL bytes: a binary file is refused outright, a stray NUL is a bad row", async () => {
  const png = fixture("csv", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]));
  await refused(
    readExamples(png, { task: sst2, skipBadRows: true }),
    png,
    null,
    /binary data, not a text file: a NUL byte at byte offset 8/,
  );
  const utf16 = fixture("tsv", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("sentence\tlabel\nhi\t1\n", "utf16le")]));
  await refused(readExamples(utf16, { task: sst2 }), utf16, null, /UTF-16 little-endian byte-order mark: read it with encoding utf16le/);
  const r16 = await readExamples(utf16, { task: sst2, encoding: "utf16le" });
  assert.deepEqual(
    r16.examples.map((e) => [e.text, e.label]),
    [["hi", 1]],
  );
  const late = `sentence\tlabel\n${"fine text\t1\n".repeat(800)}bad\0text\t0\nend\t1\n`;
  const f = fixture("tsv", late);
  await refused(readExamples(f, { task: sst2 }), f, 802, /a NUL character at column 4/);
  const r = await readExamples(f, { task: sst2, skipBadRows: true });
  assert.equal(r.examples.length, 801);
  assert.equal(r.skipped, 1);
});

test("valid awkward files still load: BOM, CRLF, lone CR, mixed line ends", async () => {
  const bom = "\uFEFF";
  for (const [ext, content] of [
    ["csv", `${bom}sentence,label\r\n"a, ""b""",1\r\n\r\nc,0\r\n`],
    ["csv", "sentence,label\ra,1\rc,0\r"],
    ["tsv", `${bom}sentence\tlabel\r\na\t1\nc\t0\r\n`],
    ["jsonl", `${bom}{"sentence":"a","label":1}\r\n\r\n{"sentence":"c","label":"0"}\r\n`],
  ] as const) {
    const f = fixture(ext, content);
    const r = await readExamples(f, { task: sst2 });
    assert.deepEqual(
      r.examples.map((e) => e.label),
      [1, 0],
      `${ext}: ${JSON.stringify(content)}`,
    );
    assert.equal(r.examples[1]!.text, "c");
  }
});

test("Parquet that is not Parquet, or cut short, is a FormatError naming the file", async () => {
  const good = parquetBytes([
    { name: "sentence", type: "string", values: ["a", "b"] },
    { name: "label", type: "int64", values: [1, 0] },
  ]);
  assert.equal((await readExamples(fixture("parquet", good), { task: sst2 })).examples.length, 2);
  for (const cut of [0, 4, 8, good.length - 9, good.length - 1]) {
    const f = fixture("parquet", good.subarray(0, cut));
    await assert.rejects(readExamples(f, { task: sst2 }), (e: unknown) => e instanceof RoseError && e.message.startsWith(f));
  }
  await refused(readExamples(path.join(dir, "missing.parquet"), { task: sst2 }), path.join(dir, "missing.parquet"), null, /no such file/);
  await refused(readExamples(path.join(dir, "missing.csv"), { task: sst2 }), path.join(dir, "missing.csv"), null, /no such file/);
});

test("a custom label set is not polluted by malformed rows", async () => {
  const f = fixture("csv", 'sentence,label\na,ham\n"b,spam\nc,spam\n');
  const r = await readExamples(f, { task: customTask(), skipBadRows: true });
  assert.deepEqual(r.labels, ["ham", "spam"]);
  assert.deepEqual(
    r.examples.map((e) => e.label),
    [0, 1],
  );
});
