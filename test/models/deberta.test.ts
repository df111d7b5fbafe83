// DeBERTa-v2/v3 pieces: the log-bucketed relative positions, config parsing, ROSE eligibility and layer depth,
// dropout sites, and the attention's behaviour beyond the golden case (padding, lengths past the position
// table, separate position projections).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Graph, grad, Program } from "../../src/engine/index.ts";
import { type DebertaConfig, type JsonObject, loadModelConfig, parseModelConfig } from "../../src/io/config.ts";
import { checkpointTensors } from "../../src/io/checkpoint.ts";
import { ConfigError } from "../../src/errors.ts";
import { Architecture, ParamScope } from "../../src/models/index.ts";
import { logBucketPosition, relativeIndex, relativeIndexTable, relativeReach } from "../../src/models/deberta.ts";
import { crossEntropy } from "../../src/models/losses.ts";
import { defaultEligible } from "../../src/optim/rose.ts";
import { dirFiles } from "../../src/node/files.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";

const DIR = new URL("../fixtures/golden/models/deberta-v3", import.meta.url).pathname;
const RAW = JSON.parse(readFileSync(`${DIR}/config.json`, "utf8")) as JsonObject;
const CASE = JSON.parse(readFileSync(`${DIR}/case.json`, "utf8")) as { input_ids: number[][]; attention_mask: number[][] };
const EXPECTED = readSafetensors(`${DIR}/expected.safetensors`).tensors.get("logits")!.data as Float32Array;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test("log buckets: |r| <= 4 as is, 5,6 -> 5, 7,8,9 -> 6, 10,11 -> 7, odd in r; 42 of the 144 pairs of 12 tokens change bucket", () => {
  const want: Record<number, number> = { 0: 0, 1: 1, 3: 3, 4: 4, 5: 5, 6: 5, 7: 6, 8: 6, 9: 6, 10: 7, 11: 7 };
  for (const [r, b] of Object.entries(want)) {
    assert.equal(logBucketPosition(Number(r), 8, 16), b, `r = ${r}`);
    assert.equal(logBucketPosition(-Number(r), 8, 16), -b, `r = -${r}`);
  }
  let logBranch = 0;
  for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) if (logBucketPosition(i - j, 8, 16) !== i - j) logBranch++;
  assert.equal(logBranch, 42);
  // microsoft/deberta-v3-base: 256 buckets over 512 positions.
  assert.equal(logBucketPosition(128, 256, 512), 128);
  assert.equal(logBucketPosition(511, 256, 512), 255);
  assert.equal(logBucketPosition(-129, 256, 512), -129);
});

test("relative indices saturate within reach, so clamping i - j changes nothing at any length", () => {
  const golden = loadModelConfig(dirFiles(DIR)).deberta!;
  const base: DebertaConfig = { ...golden, positionBuckets: 256, maxRelativePositions: 512 };
  const unbucketed: DebertaConfig = { ...golden, positionBuckets: -1, maxRelativePositions: 16 };
  for (const d of [golden, base, unbucketed]) {
    const reach = relativeReach(d);
    const table = relativeIndexTable(d);
    const span = d.positionBuckets > 0 ? d.positionBuckets : d.maxRelativePositions;
    assert.equal(table[0], 0n);
    assert.equal(table[2 * reach], BigInt(2 * span - 1));
    for (let r = -3 * reach; r <= 3 * reach; r++) {
      const clamped = Math.min(Math.max(r, -reach), reach);
      assert.equal(relativeIndex(r, d), Number(table[clamped + reach]), `r = ${r}`);
    }
  }
  // The golden table: c(bucket(r) + 8) over [0, 15].
  assert.deepEqual(
    Array.from({ length: 23 }, (_, k) => relativeIndex(k - 11, golden)),
    [1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 13, 14, 14, 14, 15, 15],
  );
});

test('config: golden DeBERTa-v3 fields, pos_att_type as a list or as "p2c|c2p", HF\'s defaults, refused variants', () => {
  const c = loadModelConfig(dirFiles(DIR));
  assert.equal(c.modelType, "deberta-v2");
  assert.deepEqual(
    [c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.intermediateSize, c.typeVocabSize, c.layerNormEps, c.classifierDropout],
    [256, 32, 2, 4, 48, 0, 1e-7, 0.1],
  );
  assert.deepEqual(c.deberta, {
    relativeAttention: true,
    posAttType: ["c2p", "p2c"],
    maxRelativePositions: 16,
    positionBuckets: 8,
    shareAttKey: true,
    normRelEmbeddings: true,
    positionBiasedInput: false,
    poolerHiddenAct: "gelu",
    poolerDropout: 0,
  });
  for (const spelling of ["p2c|c2p", "c2p|p2c", " P2C | c2p ", ["p2c", "c2p"]]) {
    assert.deepEqual(parseModelConfig({ ...RAW, pos_att_type: spelling }).deberta!.posAttType, ["c2p", "p2c"], JSON.stringify(spelling));
  }
  assert.deepEqual(parseModelConfig({ ...RAW, pos_att_type: "c2p" }).deberta!.posAttType, ["c2p"]);
  assert.deepEqual(parseModelConfig({ ...RAW, pos_att_type: null }).deberta!.posAttType, []);
  assert.equal(parseModelConfig({ ...RAW, cls_dropout: 0.3 }).classifierDropout, 0.3);
  assert.equal(parseModelConfig({ ...RAW, max_relative_positions: 64 }).deberta!.maxRelativePositions, 64);
  // DebertaV2Config's defaults: absolute positions on, relative attention off, 1e-7 LayerNorm eps.
  const bare = parseModelConfig({ model_type: "deberta-v2", hidden_size: 32, num_attention_heads: 4 });
  assert.deepEqual(
    [
      bare.vocabSize,
      bare.numLayers,
      bare.layerNormEps,
      bare.typeVocabSize,
      bare.deberta!.relativeAttention,
      bare.deberta!.positionBiasedInput,
    ],
    [128100, 24, 1e-7, 0, false, true],
  );
  assert.equal(parseModelConfig({ architectures: ["DebertaV2ForSequenceClassification"] }).modelType, "deberta-v2");
  const refused: [JsonObject, RegExp][] = [
    [{ pos_att_type: ["c2p", "p2p"] }, /pos_att_type \["p2p"\] is not supported/],
    [{ pos_att_type: 3 }, /pos_att_type must be/],
    [{ conv_kernel_size: 3 }, /conv_kernel_size/],
    [{ embedding_size: 16 }, /embedding_size/],
    [{ pooler_hidden_size: 16 }, /pooler_hidden_size/],
    [{ share_att_key: "yes" }, /share_att_key must be true or false/],
    [{ position_buckets: 8, max_position_embeddings: 5 }, /position_buckets 8 needs/],
  ];
  for (const [patch, re] of refused)
    assert.throws(
      () => parseModelConfig({ ...RAW, ...patch }, "x/config.json"),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
    );
});

test("ROSE selects the encoder layers' weights; rel_embeddings and encoder.LayerNorm sit at the embeddings' depth", () => {
  const arch = new Architecture(loadModelConfig(dirFiles(DIR)));
  const names = [...arch.paramShapes().keys()];
  assert.deepEqual(names.sort(), [...checkpointTensors(dirFiles(DIR)).keys()].sort(), "the checkpoint's names, every one");
  const eligible = names.filter(defaultEligible);
  assert.equal(eligible.length, 16);
  assert.ok(eligible.every((n) => /^deberta\.encoder\.layer\.[01]\./.test(n)));
  for (const n of ["deberta.encoder.rel_embeddings.weight", "deberta.encoder.LayerNorm.weight"]) assert.ok(!eligible.includes(n), n);
  const depths: [string, number][] = [
    ["deberta.embeddings.word_embeddings.weight", 0],
    ["deberta.embeddings.LayerNorm.bias", 0],
    ["deberta.encoder.rel_embeddings.weight", 0],
    ["deberta.encoder.LayerNorm.weight", 0],
    ["deberta.encoder.layer.0.attention.self.query_proj.weight", 1],
    ["deberta.encoder.layer.1.output.LayerNorm.bias", 2],
    ["pooler.dense.weight", 3],
    ["classifier.bias", 3],
  ];
  for (const [n, depth] of depths) assert.equal(arch.layerDepth(n), depth, n);
});

test("dropout sites: embeddings, per layer relative embeddings, probabilities, two residual branches; pooler and classifier", () => {
  const cfg = loadModelConfig(dirFiles(DIR));
  const count = (dropoutOverride?: number) => {
    const arch = new Architecture(cfg);
    const g = new Graph();
    arch.logits({ scope: new ParamScope(g), train: true, ...(dropoutOverride !== undefined ? { dropoutOverride } : {}) }, arch.inputs(g));
    return g.inputs.filter((i) => i.kind === "dropout-mask").length;
  };
  // pooler_dropout is 0 in the config: a site only when a run overrides every probability.
  assert.equal(count(), 1 + 4 * cfg.numLayers + 1);
  assert.equal(count(0.2), 1 + 4 * cfg.numLayers + 2);
});

/** Logits of `raw` (a config) with `weights` on rows of ids / masks, through the production path. */
async function logitsOf(raw: JsonObject, weights: Map<string, Float32Array>, ids: number[][], mask: number[][]): Promise<Float32Array> {
  const arch = new Architecture(parseModelConfig(raw));
  const g = new Graph();
  const scope = new ParamScope(g);
  const logits = arch.logits({ scope, train: false }, arch.inputs(g));
  const prog = await Program.compile(g, { logits }, { threads: 1 });
  const i64 = (rows: number[][]) => ({ data: BigInt64Array.from(rows.flat().map(BigInt)), dims: [rows.length, rows[0]!.length] });
  const feeds: Record<string, Float32Array | { data: BigInt64Array; dims: number[] }> = { input_ids: i64(ids), attention_mask: i64(mask) };
  for (const n of scope.tensors.keys()) feeds[n] = weights.get(n)!;
  const out = (await prog.run(feeds)).logits!.data as Float32Array;
  await prog.release();
  return out;
}

const WEIGHTS = new Map([...checkpointTensors(dirFiles(DIR))].map(([n, t]) => [n, t.data]));

test("padding past the 16 positions (relative distances up to 23) and each row alone give PyTorch's logits", async () => {
  const pad = (rows: number[][], to: number) => rows.map((r) => [...r, ...new Array<number>(to - r.length).fill(0)]);
  const padded = await logitsOf(RAW, WEIGHTS, pad(CASE.input_ids, 24), pad(CASE.attention_mask, 24));
  assert.ok(maxAbs(padded, EXPECTED) < 1e-5, `padded to 24: off by ${maxAbs(padded, EXPECTED)}`);
  for (const i of [0, 1, 2]) {
    const len = CASE.attention_mask[i]!.reduce((a, b) => a + b, 0);
    const alone = await logitsOf(RAW, WEIGHTS, [CASE.input_ids[i]!.slice(0, len)], [new Array<number>(len).fill(1)]);
    const d = maxAbs(alone, EXPECTED.subarray(i * 3, i * 3 + 3));
    assert.ok(d < 1e-5, `row ${i} alone: off by ${d}`);
  }
});

test("share_att_key false reads pos_key_proj / pos_query_proj: copies of key_proj / query_proj give the shared logits", async () => {
  const raw = { ...RAW, share_att_key: false };
  const names = [...new Architecture(parseModelConfig(raw)).paramShapes().keys()];
  assert.ok(names.includes("deberta.encoder.layer.0.attention.self.pos_key_proj.weight"));
  assert.ok(names.includes("deberta.encoder.layer.1.attention.self.pos_query_proj.bias"));
  const weights = new Map(WEIGHTS);
  for (const n of names) {
    const m = /^(.*)\.pos_(key|query)_proj\.(weight|bias)$/.exec(n);
    if (m) weights.set(n, WEIGHTS.get(`${m[1]}.${m[2]}_proj.${m[3]}`)!);
  }
  const got = await logitsOf(raw, weights, CASE.input_ids, CASE.attention_mask);
  assert.ok(maxAbs(got, EXPECTED) < 1e-5, `off by ${maxAbs(got, EXPECTED)}`);
  // Other position projections change the scores (a bias would not: it shifts a query's scores by one constant).
  const w = "deberta.encoder.layer.0.attention.self.pos_key_proj.weight";
  weights.set(
    w,
    weights.get(w)!.map((v) => 4 * v),
  );
  const moved = await logitsOf(raw, weights, CASE.input_ids, CASE.attention_mask);
  assert.ok(maxAbs(moved, EXPECTED) > 1e-4);
});

test("the relative-position gathers' gradients are the same bits run to run on 2 threads", async () => {
  const arch = new Architecture(loadModelConfig(dirFiles(DIR)));
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const labels = g.input("labels", "int64", ["batch"]);
  const loss = crossEntropy(arch.logits({ scope, train: false }, inputs), labels);
  const wrt = ["deberta.encoder.rel_embeddings.weight", "deberta.encoder.layer.0.attention.self.key_proj.weight"];
  const grads = grad(
    loss,
    wrt.map((n) => scope.tensors.get(n)!),
  );
  const prog = await Program.compile(g, { rel: grads[0]!, key: grads[1]! }, { threads: 2 });
  const B = CASE.input_ids.length;
  const i64 = (rows: number[][]) => ({ data: BigInt64Array.from(rows.flat().map(BigInt)), dims: [rows.length, rows[0]!.length] });
  const feeds: Record<string, Float32Array | { data: BigInt64Array; dims: number[] }> = {
    input_ids: i64(CASE.input_ids),
    attention_mask: i64(CASE.attention_mask),
    labels: { data: BigInt64Array.from([0n, 2n, 1n]), dims: [B] },
  };
  for (const n of scope.tensors.keys()) feeds[n] = WEIGHTS.get(n)!;
  const first = await prog.run(feeds);
  for (let r = 0; r < 3; r++) {
    const again = await prog.run(feeds);
    for (const k of ["rel", "key"]) assert.deepEqual(again[k]!.data, first[k]!.data, k);
  }
  await prog.release();
});
