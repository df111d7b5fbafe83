import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelConfig, saveModelConfig, parseModelConfig, withLabels, architectureName } from "../../src/io/config.ts";
import { ConfigError, FormatError } from "../../src/errors.ts";
import { dirFiles, dirSink } from "../../src/node/files.ts";

const MODELS = new URL("../fixtures/golden/models/", import.meta.url).pathname;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "rose-cfg-"));
}

test("golden BERT config", () => {
  const c = loadModelConfig(dirFiles(join(MODELS, "bert")));
  assert.equal(c.modelType, "bert");
  assert.deepEqual(
    [c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.intermediateSize, c.maxPositionEmbeddings, c.typeVocabSize, c.padTokenId],
    [61, 32, 2, 4, 48, 24, 2, 0],
  );
  assert.equal(c.hiddenAct, "gelu");
  assert.equal(c.hiddenDropout, 0.1);
  assert.equal(c.attentionDropout, 0.1);
  assert.equal(c.classifierDropout, 0.1, "classifier_dropout absent -> hidden_dropout_prob");
  assert.equal(c.layerNormEps, 1e-12);
  assert.equal(c.initializerRange, 0.02);
  assert.equal(c.numLabels, 3);
  assert.deepEqual(c.id2label, ["neg", "neu", "pos"]);
  assert.deepEqual(c.label2id, { neg: 0, neu: 1, pos: 2 });
  assert.equal(c.problemType, undefined);
  assert.equal(c.raw.hidden_size, 32);
});

test("golden RoBERTa config", () => {
  const c = loadModelConfig(dirFiles(join(MODELS, "roberta")));
  assert.equal(c.modelType, "roberta");
  assert.deepEqual([c.maxPositionEmbeddings, c.typeVocabSize, c.padTokenId, c.layerNormEps], [26, 1, 1, 1e-5]);
});

test("golden DistilBERT config maps its own field names", () => {
  const c = loadModelConfig(dirFiles(join(MODELS, "distilbert")));
  assert.equal(c.modelType, "distilbert");
  assert.deepEqual(
    [c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.intermediateSize, c.maxPositionEmbeddings, c.typeVocabSize, c.padTokenId],
    [61, 32, 2, 4, 48, 24, 0, 0],
  );
  assert.equal(c.hiddenAct, "gelu");
  assert.equal(c.hiddenDropout, 0.1);
  assert.equal(c.attentionDropout, 0.1);
  assert.equal(c.classifierDropout, 0.2, "seq_classif_dropout");
  assert.equal(c.layerNormEps, 1e-12);
});

test("classifier_dropout: explicit value, explicit null", () => {
  const base = { model_type: "bert", hidden_dropout_prob: 0.15 };
  assert.equal(parseModelConfig({ ...base, classifier_dropout: 0.3 }).classifierDropout, 0.3);
  assert.equal(parseModelConfig({ ...base, classifier_dropout: null }).classifierDropout, 0.15);
});

test("defaults of the transformers config classes; labels without id2label", () => {
  const b = parseModelConfig({ model_type: "bert" });
  assert.deepEqual(
    [b.vocabSize, b.hiddenSize, b.numLayers, b.numHeads, b.intermediateSize, b.maxPositionEmbeddings],
    [30522, 768, 12, 12, 3072, 512],
  );
  assert.equal(b.numLabels, 2);
  assert.deepEqual(b.id2label, ["LABEL_0", "LABEL_1"]);
  assert.deepEqual(b.label2id, { LABEL_0: 0, LABEL_1: 1 });
  assert.equal(parseModelConfig({ model_type: "roberta" }).padTokenId, 1);
  assert.equal(parseModelConfig({ model_type: "bert", num_labels: 1, problem_type: "regression" }).problemType, "regression");
  assert.equal(parseModelConfig({ model_type: "bert", num_labels: 4 }).id2label.length, 4);
  // Old configs without model_type: the architecture decides, as in transformers.
  assert.equal(parseModelConfig({ architectures: ["DistilBertForMaskedLM"] }).modelType, "distilbert");
});

test("bad configs give errors naming the file", () => {
  const dir = tmp();
  try {
    const file = join(dir, "config.json");
    const expectConfig = (obj: unknown, ...words: string[]) => {
      writeFileSync(file, JSON.stringify(obj));
      assert.throws(
        () => loadModelConfig(dirFiles(dir)),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.ok(e.message.startsWith(file), e.message);
          for (const w of words) assert.ok(e.message.includes(w), `"${e.message}" lacks "${w}"`);
          return true;
        },
      );
    };
    expectConfig({ model_type: "gpt2" }, "unsupported model_type", "gpt2");
    expectConfig({}, "unsupported model_type");
    expectConfig({ model_type: "bert", hidden_size: 30, num_attention_heads: 4 }, "not a multiple");
    expectConfig({ model_type: "bert", num_hidden_layers: "2" }, "num_hidden_layers");
    expectConfig({ model_type: "bert", hidden_dropout_prob: 1.5 }, "hidden_dropout_prob");
    expectConfig({ model_type: "bert", id2label: { "0": "a", "2": "b" } }, "id2label");
    expectConfig({ model_type: "bert", problem_type: "multi_label_classification" }, "problem_type");
    expectConfig({ model_type: "bert", vocab_size: 10, pad_token_id: 10 }, "pad_token_id");
    writeFileSync(file, "{ nope");
    assert.throws(
      () => loadModelConfig(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file === file && /not valid JSON/.test(e.message),
    );
    rmSync(file);
    assert.throws(
      () => loadModelConfig(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file === file && /cannot read/.test(e.message),
    );
    assert.throws(
      () => dirFiles(join(dir, "missing")),
      (e: unknown) => e instanceof ConfigError && /model directory .*missing does not exist/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("save keeps every raw field, writes labels HF-style and the architecture", () => {
  const dir = tmp();
  try {
    for (const m of ["bert", "roberta", "distilbert"] as const) {
      const src = loadModelConfig(dirFiles(join(MODELS, m)));
      const out = join(dir, m);
      saveModelConfig(dirSink(out), src);
      const orig = JSON.parse(readFileSync(join(MODELS, m, "config.json"), "utf8"));
      const saved = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
      // Unchanged labels -> the file says the same thing as the original (num_labels added if missing).
      assert.deepEqual(saved, { ...orig, num_labels: 3 });
      assert.deepEqual(loadModelConfig(dirFiles(out)), { ...src, raw: saved });
      assert.deepEqual(readdirSync(out), ["config.json"]);
    }
    // New labels and a masked-LM head.
    const relabelled = withLabels(loadModelConfig(dirFiles(join(MODELS, "distilbert"))), ["ham", "spam"]);
    saveModelConfig(dirSink(join(dir, "x")), relabelled, { head: "MaskedLM" });
    const saved = JSON.parse(readFileSync(join(dir, "x", "config.json"), "utf8"));
    assert.deepEqual(saved.architectures, ["DistilBertForMaskedLM"]);
    assert.equal(saved.num_labels, 2);
    assert.deepEqual(saved.id2label, { "0": "ham", "1": "spam" });
    assert.deepEqual(saved.label2id, { ham: 0, spam: 1 });
    assert.equal(saved.seq_classif_dropout, 0.2);
    assert.equal(saved.dim, 32);
    const back = loadModelConfig(dirFiles(join(dir, "x")));
    assert.deepEqual(back.id2label, ["ham", "spam"]);
    assert.equal(back.numLabels, 2);
    // Regression problem type is written.
    saveModelConfig(dirSink(join(dir, "r")), withLabels(back, ["score"], "regression"));
    assert.equal(JSON.parse(readFileSync(join(dir, "r", "config.json"), "utf8")).problem_type, "regression");
    assert.throws(() => withLabels(back, ["a", "a"]), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("architecture names", () => {
  assert.equal(architectureName("bert"), "BertForSequenceClassification");
  assert.equal(architectureName("roberta", "MaskedLM"), "RobertaForMaskedLM");
  assert.equal(architectureName("distilbert", "Model"), "DistilBertModel");
});
