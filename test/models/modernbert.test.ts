// ModernBERT beyond the golden numbers: its config in both transformers spellings, the parameter names
// ROSE and layer-wise decay read, dropout sites, the first-token path through a local last layer, the
// masked-LM head and the rotary tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { grad, Graph, Program, type Tensor, ops } from "../../src/engine/index.ts";
import { ConfigError } from "../../src/errors.ts";
import { type JsonObject, loadModelConfig, parseModelConfig } from "../../src/io/config.ts";
import { checkpointTensors } from "../../src/io/checkpoint.ts";
import { Architecture, ParamScope } from "../../src/models/index.ts";
import { crossEntropy } from "../../src/models/losses.ts";
import { ropeTables } from "../../src/models/modernbert.ts";
import { initParam } from "../../src/models/pretrained.ts";
import { Rng } from "../../src/engine/index.ts";
import { defaultNoDecay } from "../../src/optim/adamw.ts";
import { defaultEligible } from "../../src/optim/rose.ts";
import { dirFiles } from "../../src/node/files.ts";

const DIR = new URL("../fixtures/golden/models/modernbert", import.meta.url).pathname;
const RAW = JSON.parse(readFileSync(`${DIR}/config.json`, "utf8")) as JsonObject;
const CASE = JSON.parse(readFileSync(`${DIR}/case.json`, "utf8")) as Record<string, number[][] | number[]>;

function withFields(changes: JsonObject, drop: string[] = []): JsonObject {
  const raw: JsonObject = { ...RAW, ...changes };
  for (const k of drop) delete raw[k];
  return raw;
}

const LEGACY = ["global_attn_every_n_layers", "global_rope_theta", "local_rope_theta"];
const V5 = ["layer_types", "rope_parameters"];

test("config: the layer pattern and thetas as transformers 4.48 and 5 write them, alone or together", () => {
  const want = {
    globalLayers: [true, false, true],
    globalRopeTheta: 160000,
    localRopeTheta: 10000,
    localAttention: 4,
    embeddingDropout: 0,
    normBias: false,
    attentionBias: false,
    mlpBias: false,
    classifierBias: false,
    decoderBias: true,
    classifierPooling: "cls",
    classifierActivation: "gelu",
  };
  for (const [label, drop] of [
    ["both", []],
    ["4.48 only", V5],
    ["5 only", LEGACY],
  ] as const) {
    const cfg = parseModelConfig(withFields({}, [...drop]));
    assert.deepEqual(cfg.modernbert, want, label);
  }
  const cfg = loadModelConfig(dirFiles(DIR));
  assert.equal(cfg.modelType, "modernbert");
  assert.deepEqual([cfg.vocabSize, cfg.hiddenSize, cfg.numLayers, cfg.numHeads, cfg.intermediateSize], [64, 32, 3, 4, 40]);
  assert.deepEqual([cfg.padTokenId, cfg.layerNormEps, cfg.typeVocabSize, cfg.numLabels], [3, 1e-5, 0, 3]);
  assert.deepEqual([cfg.hiddenDropout, cfg.attentionDropout, cfg.classifierDropout], [0, 0, 0]);
});

test("config: ModernBertConfig's defaults, and a null local_rope_theta means the global one", () => {
  const cfg = parseModelConfig({ model_type: "modernbert" });
  assert.deepEqual(
    [cfg.vocabSize, cfg.hiddenSize, cfg.numLayers, cfg.numHeads, cfg.intermediateSize, cfg.maxPositionEmbeddings, cfg.padTokenId],
    [50368, 768, 22, 12, 1152, 8192, 50283],
  );
  const o = cfg.modernbert!;
  assert.deepEqual(
    o.globalLayers.flatMap((g, i) => (g ? [i] : [])),
    [0, 3, 6, 9, 12, 15, 18, 21],
  );
  assert.deepEqual([o.globalRopeTheta, o.localRopeTheta, o.localAttention, o.classifierPooling], [160000, 10000, 128, "cls"]);
  const nullLocal = parseModelConfig({ model_type: "modernbert", global_rope_theta: 5000, local_rope_theta: null });
  assert.equal(nullLocal.modernbert!.localRopeTheta, 5000);
  const mean = parseModelConfig(withFields({ classifier_pooling: "mean", norm_bias: true, mlp_bias: true }));
  assert.deepEqual([mean.modernbert!.classifierPooling, mean.modernbert!.normBias, mean.modernbert!.mlpBias], ["mean", true, true]);
});

test("config: disagreeing or unsupported layer patterns and rotary settings are clear errors", () => {
  const bad: [JsonObject, string[], RegExp][] = [
    [{ global_attn_every_n_layers: 3 }, [], /layer_types and global_attn_every_n_layers 3 disagree/],
    [{ layer_types: ["full_attention", "full_attention"] }, [], /layer_types must give .* each of the 3 layers/],
    [{ layer_types: ["full_attention", "chunked_attention", "full_attention"] }, [], /layer_types/],
    [{ global_rope_theta: 10000 }, [], /rope_parameters\.full_attention\.rope_theta 160000 and global_rope_theta 10000 disagree/],
    [{ local_rope_theta: 20000 }, [], /sliding_attention\.rope_theta 10000 and local_rope_theta 20000 disagree/],
    [
      { rope_parameters: { full_attention: { rope_type: "linear", rope_theta: 160000, factor: 2 } } },
      [],
      /rope_type "linear" is not supported/,
    ],
    [{ rope_scaling: { type: "linear", factor: 2 } }, [], /rope_scaling is not supported/],
    [{ classifier_pooling: "max" }, [], /classifier_pooling must be "cls" or "mean"/],
    [{ norm_bias: "no" }, [], /norm_bias must be true or false/],
    [{ global_attn_every_n_layers: 0 }, V5, /global_attn_every_n_layers must be a positive integer/],
  ];
  for (const [changes, drop, re] of bad) {
    assert.throws(
      () => parseModelConfig(withFields(changes, drop), "m/config.json"),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && e.message.startsWith("m/config.json: "),
      `${JSON.stringify(changes)} -> ${re}`,
    );
  }
});

test("parameter names: the checkpoint's, ROSE-eligible in the layers, layer depths, no decay on norms", () => {
  const arch = new Architecture(loadModelConfig(dirFiles(DIR)));
  const shapes = arch.paramShapes(["classifier", "mlm"]);
  const stored = checkpointTensors(dirFiles(DIR));
  // The classifier's names are exactly the checkpoint's; the masked-LM head adds only the decoder bias.
  assert.deepEqual([...shapes.keys()].filter((n) => n !== "decoder.bias").sort(), [...stored.keys()].sort());
  assert.deepEqual(shapes.get("decoder.bias"), [64]);
  assert.ok(!shapes.has("model.layers.0.attn_norm.weight"), "layer 0 has no attention norm");
  assert.deepEqual(shapes.get("model.layers.1.attn.Wqkv.weight"), [96, 32]);
  assert.deepEqual(shapes.get("model.layers.1.mlp.Wi.weight"), [80, 32]);
  assert.ok(![...shapes.keys()].some((n) => n.endsWith(".bias") && n !== "classifier.bias" && n !== "decoder.bias"));

  const eligible = [...shapes.keys()].filter(defaultEligible);
  assert.equal(eligible.length, 3 * 5 + 2, "Wqkv, Wo, mlp_norm, Wi, Wo per layer and attn_norm in layers 1 and 2");
  assert.ok(eligible.every((n) => n.startsWith("model.layers.")));

  const depth = (n: string) => arch.layerDepth(n);
  assert.equal(depth("model.embeddings.tok_embeddings.weight"), 0);
  assert.equal(depth("model.embeddings.norm.weight"), 0);
  assert.equal(depth("model.layers.0.attn.Wqkv.weight"), 1);
  assert.equal(depth("model.layers.2.mlp_norm.weight"), 3);
  for (const n of ["model.final_norm.weight", "head.dense.weight", "head.norm.weight", "classifier.weight", "decoder.bias"]) {
    assert.equal(depth(n), 4, n);
  }

  for (const n of ["model.embeddings.norm.weight", "model.layers.1.attn_norm.weight", "model.final_norm.weight", "head.norm.weight"]) {
    assert.equal(defaultNoDecay(n), true, n);
    assert.ok(
      initParam(n, [4], arch.cfg, new Rng(1)).every((v) => v === 1),
      `${n} starts at 1`,
    );
  }
  for (const n of ["model.layers.1.attn.Wqkv.weight", "head.dense.weight", "classifier.weight"]) assert.equal(defaultNoDecay(n), false, n);
});

function dropoutSites(raw: JsonObject, override?: number): number {
  const arch = new Architecture(parseModelConfig(raw));
  const g = new Graph();
  arch.logits({ scope: new ParamScope(g), train: true, ...(override !== undefined ? { dropoutOverride: override } : {}) }, arch.inputs(g));
  return g.inputs.filter((i) => i.kind === "dropout-mask").length;
}

test("dropout sites: embeddings, attention probabilities, attention output and GeGLU per layer, before the classifier", () => {
  assert.equal(dropoutSites(RAW), 0, "the golden config has every dropout at 0");
  assert.equal(dropoutSites(RAW, 0.1), 1 + 3 * 3 + 1);
  assert.equal(dropoutSites(withFields({ embedding_dropout: 0.1, mlp_dropout: 0.1 })), 1 + 3);
  assert.equal(dropoutSites(withFields({ attention_dropout: 0.1, classifier_dropout: 0.1 })), 2 * 3 + 1);
});

const B = (CASE.input_ids as number[][]).length;
const T = (CASE.input_ids as number[][])[0]!.length;
const i64 = (rows: number[][]) => ({ data: BigInt64Array.from(rows.flat().map(BigInt)), dims: [rows.length, rows[0]!.length] });

async function run(build: (g: Graph, ctx: { scope: ParamScope; train: false }) => Record<string, Tensor>) {
  const g = new Graph();
  const ctx = { scope: new ParamScope(g), train: false as const };
  const outs = build(g, ctx);
  const prog = await Program.compile(g, outs, { threads: 1 });
  const weights = checkpointTensors(dirFiles(DIR));
  const feeds: Record<string, Float32Array | { data: BigInt64Array; dims: number[] }> = {
    input_ids: i64(CASE.input_ids as number[][]),
    attention_mask: i64(CASE.attention_mask as number[][]),
    labels: { data: BigInt64Array.from((CASE.labels as number[]).map(BigInt)), dims: [B] },
  };
  // The golden checkpoint has no decoder bias: zeros, as a new one starts.
  for (const [n, t] of ctx.scope.tensors)
    feeds[n] = weights.get(n)?.data ?? new Float32Array((t.shape as number[]).reduce((a, d) => a * d, 1));
  const r = await prog.run(feeds);
  await prog.release();
  return r;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test("a local last layer: the first-token path gives the full path's logits and gradients", async () => {
  const cfg = parseModelConfig(withFields({ layer_types: ["full_attention", "full_attention", "sliding_attention"] }, LEGACY));
  assert.deepEqual(cfg.modernbert!.globalLayers, [true, true, false]);
  const arch = new Architecture(cfg);
  assert.equal(arch.firstTokenOnly, true);
  const r = await run((g, ctx) => {
    const x = arch.inputs(g);
    const labels = g.input("labels", "int64", ["batch"]);
    const fast = arch.logits(ctx, x);
    const full = arch.classify(ctx, arch.encode(ctx, x), x.attentionMask);
    const w = ctx.scope.tensors.get("model.layers.2.attn.Wqkv.weight")!;
    const [gFast] = grad(crossEntropy(fast, labels), [w]);
    const [gFull] = grad(crossEntropy(full, labels), [w]);
    return { fast, full, gFast: gFast!, gFull: gFull! };
  });
  assert.ok(maxAbs(r.fast!.data as Float32Array, r.full!.data as Float32Array) < 1e-6);
  assert.ok(maxAbs(r.gFast!.data as Float32Array, r.gFull!.data as Float32Array) < 1e-6);
});

test("masked LM: logits [rows, vocab]; the last layer's query rows are the full hidden state's rows", async () => {
  const arch = new Architecture(loadModelConfig(dirFiles(DIR)));
  assert.equal(arch.supportsMlm, true);
  assert.equal(arch.wordEmbeddingName, "model.embeddings.tok_embeddings.weight");
  const rows = [
    [1, 3],
    [T + 2, T + 6],
    [2 * T + 4, 2 * T + 4],
  ];
  const r = await run((g, ctx) => {
    const x = arch.inputs(g);
    const q = g.constant(BigInt64Array.from(rows.flat().map(BigInt)), [B, 2], "int64");
    const picked = arch.encode(ctx, x, { queries: q });
    const full = ops.gather(ops.reshape(arch.encode(ctx, x), [-1, 32]), q);
    return { picked, full, mlm: arch.mlmLogits(ctx, picked) };
  });
  assert.deepEqual(r.picked!.dims, [B, 2, 32]);
  assert.ok(maxAbs(r.picked!.data as Float32Array, r.full!.data as Float32Array) < 1e-6);
  assert.deepEqual(r.mlm!.dims, [B, 2, 64]);
  assert.ok((r.mlm!.data as Float32Array).every(Number.isFinite));
});

test("rotary tables: cos and sin of position * theta^(-2i/d) in float32", () => {
  const { cos, sin } = ropeTables(10000, 8, 5);
  assert.equal(cos.length, 5 * 4);
  for (let p = 0; p < 5; p++) {
    for (let i = 0; i < 4; i++) {
      const angle = p / 10000 ** ((2 * i) / 8);
      assert.ok(Math.abs(cos[p * 4 + i]! - Math.cos(angle)) < 1e-6);
      assert.ok(Math.abs(sin[p * 4 + i]! - Math.sin(angle)) < 1e-6);
    }
  }
  assert.deepEqual([...cos.subarray(0, 4)], [1, 1, 1, 1]);
  assert.deepEqual([...sin.subarray(0, 4)], [0, 0, 0, 0]);
});
