import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointTensors, saveCheckpoint, type Float32Tensor } from "../../src/io/checkpoint.ts";
import { f32ToF16 } from "../../src/io/safetensors.ts";
import { readSafetensors, writeSafetensors } from "../../src/node/safetensors.ts";
import { FormatError } from "../../src/errors.ts";
import { dirSink, dirFiles } from "../../src/node/files.ts";

const BERT = new URL("../fixtures/golden/models/bert/", import.meta.url).pathname;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "rose-ckpt-"));
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function assertSameTensors(a: Map<string, Float32Tensor>, b: Map<string, Float32Tensor>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    assert.deepEqual(u.shape, t.shape, name);
    assert.deepEqual(bits(u.data), bits(t.data), name);
  }
}

/** Splits a checkpoint into `n` shards plus an index, as transformers' save_pretrained(max_shard_size) does. */
function shard(tensors: Map<string, Float32Tensor>, dir: string, n: number): void {
  const names = [...tensors.keys()];
  const per = Math.ceil(names.length / n);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let s = 0; s < n; s++) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
    const part = names.slice(s * per, (s + 1) * per);
    writeSafetensors(
      join(dir, file),
      part.map((k) => [k, tensors.get(k)!]),
      { format: "pt" },
    );
    for (const k of part) {
      weightMap[k] = file;
      total += tensors.get(k)!.data.byteLength;
    }
  }
  writeFileSync(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2),
  );
}

test("golden checkpoint loads as float32 with HF names", () => {
  const t = checkpointTensors(dirFiles(BERT));
  const q = t.get("bert.encoder.layer.0.attention.self.query.weight")!;
  assert.deepEqual(q.shape, [32, 32]);
  assert.ok(q.data instanceof Float32Array);
  assert.deepEqual(t.get("bert.embeddings.word_embeddings.weight")!.shape, [61, 32]);
});

test("sharded checkpoint loads equal to the unsharded one", () => {
  const dir = tmp();
  try {
    const whole = checkpointTensors(dirFiles(BERT));
    shard(whole, dir, 3);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith(".safetensors")).length, 3);
    assertSameTensors(checkpointTensors(dirFiles(dir)), whole);
    // A weight_map entry whose shard lacks the tensor, or a missing shard, is a FormatError naming the file.
    const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
    idx.weight_map["ghost.weight"] = "model-00001-of-00003.safetensors";
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file.endsWith("model-00001-of-00003.safetensors") && /ghost\.weight/.test(e.message),
    );
    idx.weight_map["ghost.weight"] = "model-00009-of-00003.safetensors";
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && /model-00009-of-00003/.test(e.message),
    );
    idx.weight_map["ghost.weight"] = "../elsewhere.safetensors";
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && /not a shard file name/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("save/load round trip is bit-identical; file is HF-compatible safetensors", () => {
  const dir = tmp();
  try {
    const whole = checkpointTensors(dirFiles(BERT));
    saveCheckpoint(dirSink(dir), whole);
    assert.deepEqual(readdirSync(dir), ["model.safetensors"], "written atomically, no temporary left");
    assertSameTensors(checkpointTensors(dirFiles(dir)), whole);
    const st = readSafetensors(join(dir, "model.safetensors"));
    assert.deepEqual(st.metadata, { format: "pt" });
    assert.deepEqual([...st.tensors.keys()], [...whole.keys()], "map order kept");
    // Same bytes as the golden file's tensors (the golden file is F32 too).
    const golden = readSafetensors(join(BERT, "model.safetensors"));
    for (const [name, t] of golden.tensors)
      assert.deepEqual(bits(st.tensors.get(name)!.data as Float32Array), bits(t.data as Float32Array), name);
    // Saving over an existing checkpoint replaces it.
    const one = new Map([["w", { shape: [2], data: Float32Array.from([1.5, -2]) }]]);
    saveCheckpoint(dirSink(dir), one);
    assertSameTensors(checkpointTensors(dirFiles(dir)), one);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("F16 storage halves the data and loads back rounded to half precision", () => {
  const dir = tmp();
  try {
    const whole = checkpointTensors(dirFiles(BERT));
    saveCheckpoint(dirSink(dir), whole, { dtype: "F16" });
    const st = readSafetensors(join(dir, "model.safetensors"));
    const back = checkpointTensors(dirFiles(dir));
    for (const [name, t] of whole) {
      const b = back.get(name)!.data;
      for (let i = 0; i < t.data.length; i++) {
        assert.equal(f32ToF16(b[i]!), f32ToF16(t.data[i]!), name);
        assert.ok(Math.abs(b[i]! - t.data[i]!) <= Math.abs(t.data[i]!) * 2 ** -11 + 2 ** -25, name);
      }
    }
    assert.ok(st.tensors.size === whole.size);
    const f16Size = readFileSync(join(dir, "model.safetensors")).length;
    assert.ok(f16Size < readFileSync(join(BERT, "model.safetensors")).length * 0.6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("integer tensors are converted to float32", () => {
  const dir = tmp();
  try {
    writeSafetensors(join(dir, "model.safetensors"), [
      ["bert.embeddings.position_ids", { shape: [1, 4], data: BigInt64Array.from([0n, 1n, 2n, 3n]) }],
    ]);
    const t = checkpointTensors(dirFiles(dir)).get("bert.embeddings.position_ids")!;
    assert.deepEqual([...t.data], [0, 1, 2, 3]);
    assert.ok(t.data instanceof Float32Array);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no weights: the error lists what was looked for and what the folder has", () => {
  const dir = tmp();
  try {
    copyFileSync(join(BERT, "config.json"), join(dir, "config.json"));
    writeFileSync(join(dir, "tf_model.h5"), "not read");
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) =>
        e instanceof FormatError &&
        e.file === dir &&
        /no model weights: expected model\.safetensors, .*pytorch_model\.bin/.test(e.message) &&
        /found config\.json, tf_model\.h5/.test(e.message) &&
        /tf_model\.h5 \(TensorFlow \/ Flax\) is not read/.test(e.message),
    );
    // pytorch_model.bin is read (test/io/torch-bin.test.ts); one that is not a zip checkpoint is refused.
    writeFileSync(join(dir, "pytorch_model.bin"), "not really");
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) =>
        e instanceof FormatError && e.file === join(dir, "pytorch_model.bin") && /not a PyTorch zip checkpoint/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
