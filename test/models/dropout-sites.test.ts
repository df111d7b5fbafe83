// Dropout sits where Hugging Face puts it, also when a run overrides its probability (ROSE's
// --kl-dropout, pretrain --dropout): embeddings, attention probabilities, the residual branches' dense
// outputs and the classification head; never q/k/v, the intermediate dense or the MLM head transform.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../src/engine/index.ts";
import { loadModelConfig } from "../../src/io/config.ts";
import { Architecture, ParamScope } from "../../src/models/index.ts";
import { dirFiles } from "../../src/node/files.ts";

const GOLDEN = new URL("../fixtures/golden/models/", import.meta.url).pathname;

function sites(name: string, build: (arch: Architecture, g: Graph) => void): { count: number; layers: number } {
  const cfg = loadModelConfig(dirFiles(GOLDEN + name));
  const arch = new Architecture(cfg);
  const g = new Graph();
  build(arch, g);
  return { count: g.inputs.filter((i) => i.kind === "dropout-mask").length, layers: cfg.numLayers };
}

// Per layer: BERT/RoBERTa attention probs, attention output, FFN output; DistilBERT attention probs, FFN output.
const expected: Record<string, (layers: number) => number> = {
  bert: (l) => 1 + 3 * l + 1, // + dropout before the classifier
  roberta: (l) => 1 + 3 * l + 2, // + dropout before the head's dense and before out_proj
  distilbert: (l) => 1 + 2 * l + 1, // + dropout before the classifier
};

for (const name of Object.keys(expected)) {
  for (const override of [undefined, 0.2]) {
    test(`${name}: classification dropout sites with dropoutOverride ${override}`, () => {
      const { count, layers } = sites(name, (arch, g) => {
        const ctx = { scope: new ParamScope(g), train: true, ...(override !== undefined ? { dropoutOverride: override } : {}) };
        arch.logits(ctx, arch.inputs(g));
      });
      assert.equal(count, expected[name]!(layers));
    });
  }
}

test("bert: the masked-LM forward has the encoder's dropout sites only", () => {
  const { count, layers } = sites("bert", (arch, g) => {
    const ctx = { scope: new ParamScope(g), train: true, dropoutOverride: 0.1 };
    arch.mlmLogits(ctx, arch.encode(ctx, arch.inputs(g)));
  });
  assert.equal(count, 1 + 3 * layers);
});

test("layerDepth: embeddings 0, encoder layer i at i + 1, the heads on top, for each architecture", () => {
  const names: Record<string, [string, number][]> = {
    bert: [
      ["bert.embeddings.word_embeddings.weight", 0],
      ["bert.encoder.layer.0.attention.self.query.weight", 1],
      ["bert.encoder.layer.1.output.dense.bias", 2],
      ["bert.pooler.dense.weight", 3],
      ["classifier.weight", 3],
      ["cls.predictions.bias", 3],
    ],
    roberta: [
      ["roberta.embeddings.LayerNorm.weight", 0],
      ["roberta.encoder.layer.1.intermediate.dense.weight", 2],
      ["classifier.out_proj.weight", 3],
    ],
    distilbert: [
      ["distilbert.embeddings.position_embeddings.weight", 0],
      ["distilbert.transformer.layer.0.ffn.lin1.weight", 1],
      ["pre_classifier.weight", 3],
    ],
  };
  for (const [model, cases] of Object.entries(names)) {
    const cfg = loadModelConfig(dirFiles(GOLDEN + model));
    assert.equal(cfg.numLayers, 2, `${model}: the golden models have two layers`);
    const arch = new Architecture(cfg);
    for (const [n, depth] of cases) assert.equal(arch.layerDepth(n), depth, `${model}: ${n}`);
  }
});
