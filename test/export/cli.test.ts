// `rose predict` and `rose export` through the real CLI entry point (bin/rose.js), as a user runs them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { dirFiles } from "../../src/node/files.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const BERT = new URL("../fixtures/golden/models/bert", import.meta.url).pathname;
const LABELS = ["neg", "neu", "pos"]; // the golden config's id2label
const TEXT = "the movie was good";

async function rose(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [join(ROOT, "bin/rose.js"), ...args], { cwd: ROOT });
}

test("rose predict prints a label from id2label and probabilities summing to 1", async () => {
  const { stdout } = await rose("predict", "--model", BERT, TEXT, "--threads", "1");
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, 1 + LABELS.length, stdout);
  assert.ok(LABELS.includes(lines[0]!), `label line: ${lines[0]}`);
  const probs = lines.slice(1).map((l) => l.trim().split(/\s+/));
  assert.deepEqual(
    probs.map((p) => p[0]),
    LABELS,
  );
  const ps = probs.map((p) => Number(p[1]));
  assert.ok(Math.abs(ps.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  assert.equal(lines[0], LABELS[ps.indexOf(Math.max(...ps))]);
});

test("rose predict --json prints one JSON line that agrees with the exported ONNX model", async () => {
  const { stdout } = await rose("predict", "--model", BERT, TEXT, "--json", "--max-seq-length", "16");
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, 1, stdout);
  const r = JSON.parse(lines[0]!) as { label: string; label_id: number; probabilities: Record<string, number> };
  assert.deepEqual(Object.keys(r.probabilities), LABELS);
  const ps = Object.values(r.probabilities);
  assert.ok(Math.abs(ps.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  assert.equal(r.label, LABELS[r.label_id]);
  assert.equal(r.label_id, ps.indexOf(Math.max(...ps)));

  // The same text through `rose export`'s ONNX file in a plain onnxruntime session.
  const out = mkdtempSync(join(tmpdir(), "rose-cli-export-"));
  try {
    const e = await rose("export", "--model", BERT, "--out", out, "--json");
    assert.equal((JSON.parse(e.stdout) as { onnx: string }).onnx, join(out, "onnx", "model.onnx"));
    assert.ok(existsSync(join(out, "tokenizer.json")));
    const ids = await (await Tokenizer.load(dirFiles(out))).encode(TEXT);
    const t = (v: number[]) => new ort.Tensor("int64", BigInt64Array.from(v.map(BigInt)), [1, v.length]);
    const s = await ort.InferenceSession.create(join(out, "onnx", "model.onnx"));
    const logits = (await s.run({ input_ids: t(ids), attention_mask: t(ids.map(() => 1)), token_type_ids: t(ids.map(() => 0)) })).logits!
      .data as Float32Array;
    await s.release();
    const m = Math.max(...logits);
    const ex = [...logits].map((x) => Math.exp(x - m));
    const z = ex.reduce((a, b) => a + b, 0);
    ex.forEach((x, i) => {
      assert.ok(Math.abs(x / z - ps[i]!) < 1e-5, `p[${i}] ${x / z} vs ${ps[i]}`);
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("rose predict with a missing model directory fails with a clear error", async () => {
  await assert.rejects(
    rose("predict", "--model", join(ROOT, "no-such-model-dir"), TEXT),
    (e: Error & { code?: number; stderr?: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr ?? "", /error: .*no-such-model-dir/);
      return true;
    },
  );
});
