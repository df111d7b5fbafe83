// `rose export` against the golden checkpoints: the ONNX file runs in a plain onnxruntime session and
// reproduces PyTorch's logits; the Hugging Face directory round-trips bit for bit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { exportModel, type ExportResult } from "../../src/app/export.ts";
import { assertFitsProtobuf, ExportError, exportOnnx, PROTOBUF_LIMIT } from "../../src/export/onnx.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { dirFiles } from "../../src/node/files.ts";

const GOLDEN = new URL("../fixtures/golden/models/", import.meta.url).pathname;

interface Case {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function i64(rows: number[][]): ort.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
}

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

const root = mkdtempSync(join(tmpdir(), "rose-export-"));
after(() => rmSync(root, { recursive: true, force: true }));

for (const name of ["bert", "distilbert", "roberta"]) {
  describe(`export golden ${name}`, () => {
    const src = join(GOLDEN, name);
    const out = join(root, name);
    let r: ExportResult;
    let session: ort.InferenceSession;
    const c = JSON.parse(readFileSync(join(src, "case.json"), "utf8")) as Case;
    const expected = readSafetensors(join(src, "expected.safetensors")).tensors.get("logits")!;
    const numLabels = expected.shape[1]!;
    const want = expected.data as Float32Array;

    before(async () => {
      r = await exportModel({ model: src, out });
      session = await ort.InferenceSession.create(join(out, "onnx", "model.onnx"));
    });
    after(async () => session?.release());

    function feeds(rows: number[], trim: boolean): Record<string, ort.Tensor> {
      // Trimming a row to its real tokens also exercises a different sequence length.
      const len = (i: number) => (trim ? c.attention_mask[i]!.reduce((a, b) => a + b, 0) : c.input_ids[0]!.length);
      const pick = (m: number[][]) => rows.map((i) => m[i]!.slice(0, len(i)));
      const f: Record<string, ort.Tensor> = { input_ids: i64(pick(c.input_ids)), attention_mask: i64(pick(c.attention_mask)) };
      if (c.token_type_ids) f.token_type_ids = i64(pick(c.token_type_ids));
      return f;
    }

    test("HF layout with onnx/model.onnx; interface as optimum names it", () => {
      for (const f of ["config.json", "model.safetensors", "onnx/model.onnx"]) assert.ok(existsSync(join(out, f)), f);
      assert.equal(r.tokenizer, name !== "roberta");
      assert.equal(existsSync(join(out, "tokenizer.json")), name !== "roberta");
      if (name === "roberta") assert.match(r.warnings.join("\n"), /no tokenizer files/);
      const ins = name === "bert" ? ["input_ids", "attention_mask", "token_type_ids"] : ["input_ids", "attention_mask"];
      assert.deepEqual(session.inputNames, ins);
      assert.deepEqual(session.outputNames, ["logits"]);
      for (const m of session.inputMetadata) {
        assert.ok(m.isTensor);
        assert.equal(m.type, "int64");
        assert.deepEqual(m.shape, ["batch_size", "sequence_length"]);
      }
      const o = session.outputMetadata[0]!;
      assert.ok(o.isTensor);
      assert.deepEqual(o.shape, ["batch_size", numLabels]);
      // Every weight is an initializer: the file is at least as big as the parameters.
      const params = readSafetensors(join(src, "model.safetensors")).tensors;
      const paramBytes = [...params.values()].reduce((a, t) => a + t.data.byteLength, 0);
      assert.ok(r.onnxBytes >= paramBytes, `${r.onnxBytes} < ${paramBytes}`);
    });

    test("plain onnxruntime session reproduces PyTorch's logits, whole batch", async () => {
      const res = await session.run(feeds([0, 1, 2], false));
      const logits = res.logits!;
      assert.deepEqual(logits.dims, [3, numLabels]);
      const d = maxAbs(logits.data as Float32Array, want);
      assert.ok(d < 1e-5, `logits off by ${d}`);
    });

    test("dynamic batch and sequence length: each row alone, unpadded", async () => {
      for (const i of [0, 1, 2]) {
        const res = await session.run(feeds([i], true));
        assert.deepEqual(res.logits!.dims, [1, numLabels]);
        const d = maxAbs(res.logits!.data as Float32Array, want.subarray(i * numLabels, (i + 1) * numLabels));
        assert.ok(d < 1e-5, `row ${i}: logits off by ${d}`);
      }
    });

    test("the exported directory loads back bit-identical, with the checkpoint's names and shapes", async () => {
      const orig = readSafetensors(join(src, "model.safetensors")).tensors;
      const back = readSafetensors(join(out, "model.safetensors")).tensors;
      assert.deepEqual([...back.keys()].sort(), [...orig.keys()].sort());
      for (const [n, t] of orig) {
        const b = back.get(n)!;
        assert.equal(b.dtype, t.dtype, n);
        assert.deepEqual(b.shape, t.shape, n);
        assert.ok(bytesOf(b.data as Float32Array).equals(bytesOf(t.data as Float32Array)), `${n} differs`);
      }
      const noTokenizer = name === "roberta";
      const a = await PretrainedModel.load(dirFiles(src), { noTokenizer });
      const m = await PretrainedModel.load(dirFiles(out), { noTokenizer });
      assert.deepEqual(m.report, { newParams: [], unusedParams: [], resizedParams: [] });
      assert.deepEqual([...m.shapes], [...a.shapes]);
      for (const [n, d] of a.params) assert.ok(bytesOf(m.params.get(n)!).equals(bytesOf(d)), `${n} differs after reload`);
      const { raw: rawA, ...cfgA } = a.cfg;
      const { raw: rawB, ...cfgB } = m.cfg;
      assert.deepEqual(cfgB, cfgA);
      assert.equal(rawB.model_type, rawA.model_type);
      if (!noTokenizer) {
        const [ta, tb] = [await Tokenizer.load(dirFiles(src)), await Tokenizer.load(dirFiles(out))];
        const s = "the movie was good";
        assert.deepEqual(await tb.encode(s), await ta.encode(s));
      }
    });
  });
}

test("exportOnnx works on a model loaded without a tokenizer, and writes no stray temporaries", async () => {
  const model = await PretrainedModel.load(dirFiles(join(GOLDEN, "bert")), { noTokenizer: true });
  const dir = join(root, "bare");
  const file = join(dir, "m.onnx");
  const r = exportOnnx(model, file);
  assert.deepEqual(r.inputs, ["input_ids", "attention_mask", "token_type_ids"]);
  assert.deepEqual(r.outputs, ["logits"]);
  assert.equal(readFileSync(file).byteLength, r.bytes);
  assert.deepEqual(readdirSync(dir), ["m.onnx"]);
});

test("models beyond the 2 GiB protobuf limit are refused with a clear error", async () => {
  assert.doesNotThrow(() => assertFitsProtobuf(PROTOBUF_LIMIT, "m.onnx"));
  assert.throws(
    () => assertFitsProtobuf(PROTOBUF_LIMIT + 1, "m.onnx"),
    (e: Error) => e instanceof ExportError && /m\.onnx.*2 GiB/.test(e.message),
  );
  // A model whose parameters claim more than 2 GiB (without allocating it): refused before writing.
  const model = await PretrainedModel.load(dirFiles(join(GOLDEN, "distilbert")), { noTokenizer: true });
  const fake = new Float32Array(new ArrayBuffer(4), 0, 1);
  Object.defineProperty(fake, "byteLength", { value: PROTOBUF_LIMIT + 1 });
  model.params.set("distilbert.embeddings.word_embeddings.weight", fake);
  const file = join(root, "huge", "model.onnx");
  assert.throws(() => exportOnnx(model, file), ExportError);
  assert.equal(existsSync(file), false);
});

test("a model lacking a parameter is refused, naming it", async () => {
  const model = await PretrainedModel.load(dirFiles(join(GOLDEN, "distilbert")), { noTokenizer: true });
  model.params.delete("classifier.bias");
  assert.throws(
    () => exportOnnx(model, join(root, "partial.onnx")),
    (e: Error) => e instanceof ExportError && /classifier\.bias/.test(e.message),
  );
});
