// XLM-RoBERTa and CamemBERT configs are RoBERTa checkpoints (transformers' XLMRobertaModel and CamembertModel are
// RoBERTa with base_model_prefix "roberta"): the golden RoBERTa relabelled as each gives RoBERTa's logits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Graph, Program } from "../../src/engine/index.ts";
import { loadModelConfig, maxInputLength, parseModelConfig } from "../../src/io/config.ts";
import { ParamScope } from "../../src/models/index.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles, dirSink } from "../../src/node/files.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";

const ROBERTA = new URL("../fixtures/golden/models/roberta", import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), "rose-roberta-family-"));

/** The golden RoBERTa folder with another model_type. */
function relabelled(modelType: string): string {
  const dir = tmp();
  cpSync(ROBERTA, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, model_type: modelType }));
  return dir;
}

/** Logits of the golden case.json batch through the production path. */
async function caseLogits(model: PretrainedModel): Promise<Float32Array> {
  const c = JSON.parse(readFileSync(join(ROBERTA, "case.json"), "utf8")) as { input_ids: number[][]; attention_mask: number[][] };
  const arch = model.arch;
  const g = new Graph();
  const ctx = { scope: new ParamScope(g), train: false };
  const inputs = arch.inputs(g);
  const prog = await Program.compile(g, { logits: arch.logits(ctx, inputs) }, { threads: 1 });
  const i64 = (rows: number[][]) => ({ data: BigInt64Array.from(rows.flat().map(BigInt)), dims: [rows.length, rows[0]!.length] });
  const feeds: Record<string, Float32Array | { data: BigInt64Array; dims: number[] }> = {
    input_ids: i64(c.input_ids),
    attention_mask: i64(c.attention_mask),
  };
  for (const n of ctx.scope.tensors.keys()) feeds[n] = model.params.get(n)!;
  return (await prog.run(feeds)).logits!.data as Float32Array;
}

for (const [modelType, className] of [
  ["xlm-roberta", "XLMRoberta"],
  ["camembert", "Camembert"],
] as const) {
  test(`${modelType}: loads as RoBERTa (roberta.* names, positions after the pad id, RoBERTa's heads) and saves as ${modelType}`, async () => {
    const dir = relabelled(modelType);
    const m = await PretrainedModel.load(dirFiles(dir), { noTokenizer: true });
    assert.equal(m.cfg.modelType, modelType);
    assert.deepEqual(m.report, { newParams: [], unusedParams: [], resizedParams: [] });
    assert.equal(m.arch.prefix, "roberta");
    assert.equal(m.arch.usesTokenTypes, false);

    const want = readSafetensors(join(ROBERTA, "expected.safetensors")).tensors.get("logits")!.data as Float32Array;
    const got = await caseLogits(m);
    assert.equal(got.length, want.length);
    const diff = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
    assert.ok(diff < 1e-5, `logits off by ${diff}`);

    assert.equal(maxInputLength(m.cfg, 10_000), m.cfg.maxPositionEmbeddings - m.cfg.padTokenId - 1);
    const mlm = [...m.arch.paramShapes(["mlm"]).keys()];
    assert.ok(m.arch.supportsMlm);
    assert.ok(mlm.includes("lm_head.dense.weight") && mlm.includes("lm_head.bias"));

    const out = tmp();
    m.save(dirSink(out));
    const saved = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(saved.model_type, modelType);
    assert.deepEqual(saved.architectures, [`${className}ForSequenceClassification`]);
    assert.equal(loadModelConfig(dirFiles(out)).modelType, modelType);
  });
}

test("xlm-roberta and camembert: transformers' defaults and configs without model_type", () => {
  for (const mt of ["xlm-roberta", "camembert"]) {
    const d = parseModelConfig({ model_type: mt });
    assert.deepEqual([d.vocabSize, d.padTokenId, d.hiddenSize, d.numHeads, d.intermediateSize], [30522, 1, 768, 12, 3072], mt);
  }
  assert.equal(parseModelConfig({ architectures: ["XLMRobertaForMaskedLM"] }).modelType, "xlm-roberta");
  assert.equal(parseModelConfig({ architectures: ["CamembertForMaskedLM"] }).modelType, "camembert");
  assert.throws(
    () => parseModelConfig({ model_type: "gpt2" }),
    (e: Error) =>
      /unsupported model_type "gpt2"/.test(e.message) && ["xlm-roberta", "camembert", "electra"].every((t) => e.message.includes(t)),
  );
});
