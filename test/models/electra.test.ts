// ELECTRA's discriminator beyond the golden numbers (test/models/golden.test.ts): its config fields and
// defaults, parameter names, what a discriminator checkpoint loads as, ROSE's selection and layer depth.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { Graph } from "../../src/engine/index.ts";
import { loadModelConfig, parseModelConfig } from "../../src/io/config.ts";
import { checkpointTensors } from "../../src/io/checkpoint.ts";
import { Architecture, ParamScope } from "../../src/models/index.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { defaultEligible } from "../../src/optim/rose.ts";
import { dirFiles, dirSink } from "../../src/node/files.ts";
import { writeSafetensors } from "../../src/node/safetensors.ts";

const ELECTRA = new URL("../fixtures/golden/models/electra", import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), "rose-electra-"));

test("electra config: embedding_size, ElectraConfig's defaults, and old configs known by their architectures name", () => {
  const cfg = loadModelConfig(dirFiles(ELECTRA));
  assert.equal(cfg.modelType, "electra");
  assert.deepEqual(cfg.electra, { embeddingSize: 16 });
  assert.equal(cfg.hiddenSize, 32);
  assert.deepEqual(cfg.id2label, ["neg", "neu", "pos"]);
  // classifier_dropout null: hidden_dropout_prob, as ElectraClassificationHead does.
  assert.equal(cfg.classifierDropout, 0.1);

  const d = parseModelConfig({ model_type: "electra" });
  assert.deepEqual(
    [d.vocabSize, d.hiddenSize, d.numHeads, d.intermediateSize, d.numLayers, d.padTokenId, d.typeVocabSize, d.electra?.embeddingSize],
    [30522, 256, 4, 1024, 12, 0, 2, 128],
  );
  assert.equal(parseModelConfig({ architectures: ["ElectraForPreTraining"] }).modelType, "electra");
  assert.throws(() => parseModelConfig({ model_type: "electra", embedding_size: 0 }), /embedding_size must be a positive integer/);
});

test("electra parameters: the checkpoint's names, embeddings of embedding_size, embeddings_project only when sizes differ, no pooler", () => {
  const cfg = loadModelConfig(dirFiles(ELECTRA));
  const shapes = new Architecture(cfg).paramShapes();
  assert.deepEqual(shapes.get("electra.embeddings.word_embeddings.weight"), [61, 16]);
  assert.deepEqual(shapes.get("electra.embeddings.LayerNorm.weight"), [16]);
  assert.deepEqual(shapes.get("electra.embeddings_project.weight"), [32, 16]);
  assert.deepEqual(shapes.get("electra.embeddings_project.bias"), [32]);
  assert.deepEqual(shapes.get("classifier.dense.weight"), [32, 32]);
  assert.deepEqual(shapes.get("classifier.out_proj.weight"), [3, 32]);
  assert.ok(![...shapes.keys()].some((n) => n.includes("pooler")));
  // Exactly the checkpoint's tensors.
  assert.deepEqual([...shapes.keys()].sort(), [...checkpointTensors(dirFiles(ELECTRA)).keys()].sort());

  // ELECTRA-base and -large: embedding_size equals hidden_size and there is no projection.
  const same = new Architecture(parseModelConfig({ ...cfg.raw, embedding_size: 32 })).paramShapes();
  assert.ok(![...same.keys()].some((n) => n.includes("embeddings_project")));
  assert.deepEqual(same.get("electra.embeddings.word_embeddings.weight"), [61, 32]);
});

test("electra reads token_type_ids and has no masked-LM head (the generator is a separate checkpoint)", () => {
  const arch = new Architecture(loadModelConfig(dirFiles(ELECTRA)));
  assert.equal(arch.usesTokenTypes, true);
  assert.ok(arch.inputs(new Graph()).tokenTypeIds);
  assert.equal(arch.supportsMlm, false);
  assert.deepEqual([...arch.paramShapes(["classifier", "mlm"]).keys()], [...arch.paramShapes().keys()]);
  const g = new Graph();
  const ctx = { scope: new ParamScope(g), train: false };
  const h = arch.encode(ctx, arch.inputs(g));
  assert.throws(
    () => arch.mlmLogits(ctx, h),
    (e: Error) => e instanceof ConfigError && /electra: masked-LM head not supported/.test(e.message),
  );
});

test("electra: ROSE selects the encoder layers' weights; layer-wise decay puts embeddings_project with the embeddings", () => {
  const cfg = loadModelConfig(dirFiles(ELECTRA));
  const arch = new Architecture(cfg);
  const names = [...arch.paramShapes().keys()];
  const eligible = names.filter(defaultEligible);
  assert.deepEqual(
    eligible,
    names.filter((n) => /^electra\.encoder\.layer\.\d+\..*weight$/.test(n)),
  );
  assert.equal(eligible.length, 16, "8 weight tensors in each of the 2 layers");
  const depths: [string, number][] = [
    ["electra.embeddings.word_embeddings.weight", 0],
    ["electra.embeddings.LayerNorm.bias", 0],
    ["electra.embeddings_project.weight", 0],
    ["electra.embeddings_project.bias", 0],
    ["electra.encoder.layer.0.attention.self.query.weight", 1],
    ["electra.encoder.layer.1.output.LayerNorm.weight", 2],
    ["classifier.dense.weight", 3],
    ["classifier.out_proj.bias", 3],
  ];
  for (const [n, depth] of depths) assert.equal(arch.layerDepth(n), depth, n);
  // Every parameter: the embeddings (and their projection) at 0, layer i at i + 1, the head on top.
  for (const n of names) {
    const layer = /\.layer\.(\d+)\./.exec(n);
    const want = n.startsWith("electra.embeddings") ? 0 : layer ? Number(layer[1]) + 1 : cfg.numLayers + 1;
    assert.equal(arch.layerDepth(n), want, n);
  }
});

test("electra: the golden checkpoint loads whole; saving keeps model_type and embedding_size and names ElectraForSequenceClassification", async () => {
  const m = await PretrainedModel.load(dirFiles(ELECTRA));
  assert.deepEqual(m.report, { newParams: [], unusedParams: [], resizedParams: [] });
  const out = tmp();
  m.save(dirSink(out));
  const saved = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(saved.model_type, "electra");
  assert.equal(saved.embedding_size, 16);
  assert.deepEqual(saved.architectures, ["ElectraForSequenceClassification"]);
  const back = await PretrainedModel.load(dirFiles(out));
  assert.deepEqual(back.report, { newParams: [], unusedParams: [], resizedParams: [] });
  assert.deepEqual(back.cfg.electra, { embeddingSize: 16 });
});

test("an ELECTRA discriminator checkpoint: its replaced-token head is unused, the classification head is new", async () => {
  // What google/electra-*-discriminator holds: the encoder and discriminator_predictions, no classifier.
  const dir = tmp();
  cpSync(ELECTRA, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, architectures: ["ElectraForPreTraining"] }));
  const tensors = new Map([...checkpointTensors(dirFiles(ELECTRA))].filter(([n]) => !n.startsWith("classifier.")));
  tensors.set("discriminator_predictions.dense.weight", { shape: [32, 32], data: new Float32Array(32 * 32) });
  tensors.set("discriminator_predictions.dense.bias", { shape: [32], data: new Float32Array(32) });
  tensors.set("discriminator_predictions.dense_prediction.weight", { shape: [1, 32], data: new Float32Array(32) });
  tensors.set("discriminator_predictions.dense_prediction.bias", { shape: [1], data: new Float32Array(1) });
  writeSafetensors(join(dir, "model.safetensors"), tensors);

  const m = await PretrainedModel.load(dirFiles(dir), { labels: ["neg", "pos"] });
  assert.deepEqual(m.report.newParams, [
    "classifier.dense.weight",
    "classifier.dense.bias",
    "classifier.out_proj.weight",
    "classifier.out_proj.bias",
  ]);
  assert.deepEqual(m.report.unusedParams.sort(), [
    "discriminator_predictions.dense.bias",
    "discriminator_predictions.dense.weight",
    "discriminator_predictions.dense_prediction.bias",
    "discriminator_predictions.dense_prediction.weight",
  ]);
  assert.deepEqual(m.shapes.get("classifier.out_proj.weight"), [2, 32]);
});
