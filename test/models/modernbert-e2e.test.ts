// ModernBERT end to end through the CLI, as a user runs it: `rose train --method rose-ensemble` on the golden
// ModernBERT (mean pooling, so the whole last layer trains), then `rose eval`, `rose attack` and `rose
// export`, whose ONNX file runs in a plain onnxruntime session with rose's own logits; and the golden
// ModernBERTs ("cls" and "mean") exported reproduce PyTorch's logits. The golden folders are ids-only: the
// test gives them a WordPiece vocabulary of the model's 64 ids with ModernBERT's special-token ids.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { Predictor } from "../../src/infer/predictor.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";
import { GOLDEN_BERT, sentimentRows, writeSentimentData } from "../helpers/synthetic.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GOLDEN = new URL("../fixtures/golden/models/", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "rose-modernbert-e2e-"));
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

/** The golden `name` with a 64-token WordPiece vocabulary: [UNK] 0, [CLS] 1, [SEP] 2, [PAD] 3 (the config's pad id), [MASK] 4. */
function withTokenizer(name: string): string {
  const dir = join(root, `${name}-model`);
  mkdirSync(dir);
  for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(GOLDEN, name, f), join(dir, f));
  const words = readFileSync(join(GOLDEN_BERT, "vocab.txt"), "utf8").trim().split("\n").slice(5);
  const vocab = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", ...words];
  while (vocab.length < 64) vocab.push(`[unused${vocab.length}]`);
  writeFileSync(join(dir, "vocab.txt"), `${vocab.join("\n")}\n`);
  const special = { unk_token: "[UNK]", cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", mask_token: "[MASK]" };
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "BertTokenizer", do_lower_case: true, ...special }));
  return dir;
}

test("rose train (rose-ensemble, layer-wise decay), eval, attack and export on the golden ModernBERT with mean pooling", async () => {
  const model = withTokenizer("modernbert-mean");
  const data = writeSentimentData(32, 8);
  const run = join(root, "run");
  await rose(
    "train",
    "--model",
    model,
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
  assert.equal(cfg.model_type, "modernbert");
  assert.equal(cfg.classifier_pooling, "mean");
  assert.deepEqual(cfg.layer_types, ["full_attention", "sliding_attention", "full_attention"]);
  assert.deepEqual(cfg.architectures, ["ModernBertForSequenceClassification"]);
  assert.deepEqual(cfg.id2label, { 0: "neg", 1: "pos" });
  // ROSE's masks cover the encoder layers' weights (17: layer 0 has no attention norm), one soft value each.
  const masks = readFileSync(join(run, "rose_masks.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { mask: Record<string, number> });
  assert.equal(masks.length, 4);
  for (const m of masks) {
    const names = Object.keys(m.mask);
    assert.equal(names.length, 17);
    assert.ok(names.every((n) => /^model\.layers\.[0-2]\..*weight$/.test(n)));
    assert.ok(Object.values(m.mask).every((v) => v === 0 || v === 0.5 || v === 1));
  }
  // Every depth moved: the embeddings, the last layer (all of it trains under mean pooling), the new head.
  const initial = readSafetensors(join(model, "model.safetensors")).tensors;
  const trained = readSafetensors(join(run, "model.safetensors")).tensors;
  for (const n of [
    "model.embeddings.tok_embeddings.weight",
    "model.layers.2.mlp.Wo.weight",
    "model.final_norm.weight",
    "head.dense.weight",
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
    const loaded = await PretrainedModel.load(dirFiles(run));
    const predictor = new Predictor(loaded, { threads: 1 });
    const encoded = await predictor.encode(sentimentRows(6, 3).map(([text]) => ({ text })));
    const want = await predictor.logitsEncoded(encoded);
    await predictor.release();
    for (const [i, e] of encoded.entries()) {
      assert.equal(e.ids[0], 1, "[CLS] is id 1");
      const res = await session.run({ input_ids: i64([e.ids]), attention_mask: i64([e.ids.map(() => 1)]) });
      const d = maxAbs(res.logits!.data as Float32Array, want[i]!);
      assert.ok(d < 1e-5, `row ${i}: logits off by ${d}`);
    }
  } finally {
    await session.release();
  }
});

for (const name of ["modernbert", "modernbert-mean"]) {
  test(`rose export of the golden ${name}: onnxruntime reproduces PyTorch's logits, padded batch and rows alone`, async () => {
    const src = join(GOLDEN, name);
    const out = join(root, `${name}-golden-export`);
    await rose("export", "--model", src, "--out", out);
    const c = JSON.parse(readFileSync(join(src, "case.json"), "utf8")) as Record<string, number[][]>;
    const want = readSafetensors(join(src, "expected.safetensors")).tensors.get("logits")!.data as Float32Array;
    const session = await ort.InferenceSession.create(join(out, "onnx", "model.onnx"));
    try {
      assert.deepEqual(session.inputNames, ["input_ids", "attention_mask"]);
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
}
