// Refusals through the real `rose` command: one clear line on stderr naming the file and the problem, no
// stack trace, a non-zero exit; --skip-bad-rows reads on and prints how many rows it skipped.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;
const BERT = new URL("../fixtures/golden/models/bert", import.meta.url).pathname; // labels neg, neu, pos
const dir = mkdtempSync(join(tmpdir(), "rose-cli-bad-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function rose(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "bin/rose.js"), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Exactly one stderr line, "error: <file>...", without a stack trace, and a non-zero exit. */
function assertRefused(r: { code: number; stderr: string }, file: string, re: RegExp): void {
  assert.notEqual(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith(`error: ${file}`), lines[0]);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
}

const GOOD = "text,label\ngood film,pos\nbad film,neg\nfine,neu\n";

test("rose eval: malformed rows are refused with file and line; --skip-bad-rows counts them", async () => {
  const bad = join(dir, "bad.csv");
  writeFileSync(bad, 'text,label\ngood film,pos\n"never closed,neg\nfine,neu\nsecond,pos,extra\n');
  assertRefused(
    await rose("eval", "--model", BERT, "--data", bad, "--json"),
    bad,
    /:3: the quoted field that starts on this line is never closed/,
  );
  const r = await rose("eval", "--model", BERT, "--data", bad, "--json", "--skip-bad-rows");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${bad}: skipped 2 bad rows of 4 \\(the first, line 3: the quoted field`));
  assert.equal((JSON.parse(r.stdout) as { n: number }).n, 2);
});

test("rose eval: undecodable bytes are refused; --encoding reads the legacy file", async () => {
  const latin = join(dir, "latin1.csv");
  writeFileSync(latin, Buffer.concat([Buffer.from("text,label\ncaf"), Buffer.from([0xe9]), Buffer.from(" film,pos\nbad,neg\n")]));
  assertRefused(await rose("eval", "--model", BERT, "--data", latin), latin, /:2: byte 0xE9 at byte offset 14 is not valid UTF-8/);
  const r = await rose("eval", "--model", BERT, "--data", latin, "--json", "--encoding", "latin1");
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { n: number }).n, 2);
  const bogus = await rose("eval", "--model", BERT, "--data", latin, "--encoding", "ebcdic");
  assert.notEqual(bogus.code, 0);
  assert.equal(bogus.stderr.trim(), 'error: unknown text encoding "ebcdic" (supported: utf8, latin1, windows-1252, utf16le)');
  // The attack commands take the same data options.
  const attack = await rose("attack", "--model", BERT, "--recipe", "deepwordbug", "--data", latin, "--encoding", "ebcdic");
  assert.match(attack.stderr, /^error: unknown text encoding "ebcdic"/);
  const binary = join(dir, "binary.csv");
  writeFileSync(binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]));
  assertRefused(await rose("eval", "--model", BERT, "--data", binary, "--skip-bad-rows"), binary, /binary data, not a text file/);
});

test("rose eval: a corrupt model file is refused in one line naming it", async () => {
  const model = join(dir, "model");
  cpSync(BERT, model, { recursive: true });
  const weights = join(model, "model.safetensors");
  const bytes = readFileSync(weights);
  writeFileSync(weights, bytes.subarray(0, bytes.length - 100));
  const data = join(dir, "good.csv");
  writeFileSync(data, GOOD);
  assertRefused(await rose("eval", "--model", model, "--data", data), weights, /truncated/);
  writeFileSync(weights, bytes);
  writeFileSync(join(model, "config.json"), '{"model_type": "bert", "hidden_size": "big"}');
  assertRefused(await rose("eval", "--model", model, "--data", data), join(model, "config.json"), /hidden_size must be a positive integer/);
});

test("rose train --resume: a damaged checkpoint pointer is refused, the run is not restarted from zero", async () => {
  const out = join(dir, "out");
  mkdirSync(join(out, "checkpoint-4"), { recursive: true });
  const pointer = join(out, "last_checkpoint.json");
  writeFileSync(pointer, '{"dir": "../../elsewhere", "step": 4}');
  const data = join(dir, "train.csv");
  writeFileSync(data, GOOD);
  const args = ["train", "--model", BERT, "--train-file", data, "--output-dir", out, "--max-steps", "2", "--quiet", "--resume"];
  assertRefused(await rose(...args), pointer, /"dir" must name a checkpoint-<step> directory/);
  writeFileSync(pointer, '{"dir": "checkpoint-4", "st');
  assertRefused(await rose(...args), pointer, /not valid JSON/);
});
