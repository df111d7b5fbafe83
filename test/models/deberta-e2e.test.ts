// DeBERTa-v3 end to end through the CLI, as a user runs it: `rose train --method rose-ensemble` on the golden
// DeBERTa-v3 (its SentencePiece spm.model as the tokenizer), then `rose eval`, `rose attack` and `rose export`,
// whose ONNX file runs in a plain onnxruntime session with rose's own logits; and the golden DeBERTa-v3
// exported reproduces PyTorch's logits.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { Predictor } from "../../src/infer/predictor.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";
import { sentimentRows, writeSentimentData } from "../helpers/synthetic.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DEBERTA = new URL("../fixtures/golden/models/deberta-v3", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "rose-deberta-e2e-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function rose(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, "bin/rose.js"), ...args], { cwd: ROOT });
  return stdout;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const i64 = (rows: ArrayLike<number>[]) =>
  new ort.Tensor("int64", BigInt64Array.from(rows.flatMap((r) => Array.from(r, BigInt))), [rows.length, rows[0]!.length]);

test("rose train (rose-ensemble, layer-wise decay), eval, attack and export on the golden DeBERTa-v3", async () => {
  const data = writeSentimentData(32, 8);
  const run = join(root, "run");
  await rose(
    "train",
    "--model",
    DEBERTA,
    "--train-file",
    data.train,
    "--validation-file",
    data.dev,
    "--method",
    "rose-ensemble",
    "--layerwise-lr-decay",
    "0.8",
    "--max-steps",
    "4",
    "--warmup-steps",
    "1",
    "--batch-size",
    "8",
    "--learning-rate",
    "1e-3",
    "--threads",
    "1",
    "--output-dir",
    run,
    "--quiet",
  );
  const cfg = JSON.parse(readFileSync(join(run, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(cfg.model_type, "deberta-v2");
  assert.deepEqual(cfg.pos_att_type, ["p2c", "c2p"]);
  assert.deepEqual(cfg.architectures, ["DebertaV2ForSequenceClassification"]);
  assert.deepEqual(cfg.id2label, { 0: "neg", 1: "pos" });
  // ROSE's masks cover the encoder layers' weights, one soft value (0, 0.5 or 1) each.
  const masks = readFileSync(join(run, "rose_masks.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { mask: Record<string, number> });
  assert.equal(masks.length, 4);
  for (const m of masks) {
    const names = Object.keys(m.mask);
    assert.equal(names.length, 16);
    assert.ok(names.every((n) => /^deberta\.encoder\.layer\.[01]\..*weight$/.test(n)));
    assert.ok(Object.values(m.mask).every((v) => v === 0 || v === 0.5 || v === 1));
  }
  // The relative embeddings and their LayerNorm train (through the relative-position gathers), as do the
  // word embeddings and the new head.
  const initial = readSafetensors(join(DEBERTA, "model.safetensors")).tensors;
  const trained = readSafetensors(join(run, "model.safetensors")).tensors;
  for (const n of [
    "deberta.encoder.rel_embeddings.weight",
    "deberta.encoder.LayerNorm.weight",
    "deberta.embeddings.word_embeddings.weight",
  ]) {
    assert.ok(maxAbs(initial.get(n)!.data as Float32Array, trained.get(n)!.data as Float32Array) > 0, `${n} trained`);
  }
  assert.deepEqual(trained.get("classifier.weight")!.shape, [2, 32]);

  const ev = JSON.parse(await rose("eval", "--model", run, "--data", data.dev, "--json")) as { n: number; accuracy: number };
  assert.equal(ev.n, 8);
  assert.ok(ev.accuracy >= 0 && ev.accuracy <= 1);

  const at = JSON.parse(
    await rose("attack", "--model", run, "--recipe", "deepwordbug", "--data", data.dev, "--num-examples", "2", "--json", "--quiet"),
  ) as Record<string, number>;
  assert.equal(at.n, 2);
  assert.equal(at.succeeded! + at.failed! + at.skipped!, 2);

  const exp = join(root, "export");
  const ex = JSON.parse(await rose("export", "--model", run, "--out", exp, "--json")) as { onnx: string; tokenizer: boolean };
  assert.equal(ex.tokenizer, true);
  assert.ok(existsSync(join(exp, "config.json")) && existsSync(join(exp, "model.safetensors")));
  const session = await ort.InferenceSession.create(ex.onnx);
  try {
    assert.deepEqual(session.inputNames, ["input_ids", "attention_mask"]);
    const model = await PretrainedModel.load(dirFiles(run));
    const predictor = new Predictor(model, { threads: 1 });
    const encoded = await predictor.encode(sentimentRows(6, 3).map(([text]) => ({ text })));
    const want = await predictor.logitsEncoded(encoded);
    await predictor.release();
    // Each row alone, unpadded, and all rows padded into one batch.
    for (const [i, e] of encoded.entries()) {
      const res = await session.run({ input_ids: i64([e.ids]), attention_mask: i64([e.ids.map(() => 1)]) });
      const d = maxAbs(res.logits!.data as Float32Array, want[i]!);
      assert.ok(d < 1e-5, `row ${i}: logits off by ${d}`);
    }
    const T = Math.max(...encoded.map((e) => e.ids.length));
    const pad = (row: ArrayLike<number>, v: number) => [...Array.from(row), ...new Array<number>(T - row.length).fill(v)];
    const batch = await session.run({
      input_ids: i64(encoded.map((e) => pad(e.ids, model.cfg.padTokenId))),
      attention_mask: i64(encoded.map((e) => pad(new Array<number>(e.ids.length).fill(1), 0))),
    });
    const d = maxAbs(
      batch.logits!.data as Float32Array,
      want.flatMap((w) => Array.from(w)),
    );
    assert.ok(d < 1e-5, `padded batch: logits off by ${d}`);
  } finally {
    await session.release();
  }
});

test("rose export of the golden DeBERTa-v3: onnxruntime reproduces PyTorch's logits, padded batch and rows alone", async () => {
  const out = join(root, "golden-export");
  await rose("export", "--model", DEBERTA, "--out", out);
  const c = JSON.parse(readFileSync(join(DEBERTA, "case.json"), "utf8")) as Record<string, number[][]>;
  const want = readSafetensors(join(DEBERTA, "expected.safetensors")).tensors.get("logits")!.data as Float32Array;
  const session = await ort.InferenceSession.create(join(out, "onnx", "model.onnx"));
  try {
    const feeds = (rows: number[], trim: boolean) => {
      const len = (i: number) => (trim ? c.attention_mask![i]!.reduce((a, b) => a + b, 0) : c.input_ids![0]!.length);
      const pick = (m: number[][]) => rows.map((i) => m[i]!.slice(0, len(i)));
      return { input_ids: i64(pick(c.input_ids!)), attention_mask: i64(pick(c.attention_mask!)) };
    };
    const all = (await session.run(feeds([0, 1, 2], false))).logits!;
    assert.deepEqual(all.dims, [3, 3]);
    const d = maxAbs(all.data as Float32Array, want);
    assert.ok(d < 1e-5, `logits off by ${d}`);
    for (const i of [0, 1, 2]) {
      const r = (await session.run(feeds([i], true))).logits!.data as Float32Array;
      const di = maxAbs(r, want.subarray(i * 3, i * 3 + 3));
      assert.ok(di < 1e-5, `row ${i}: logits off by ${di}`);
    }
  } finally {
    await session.release();
  }
});
