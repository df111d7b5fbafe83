// `rose pretrain` end to end on a small corpus: a BertForMaskedLM directory that fine-tuning loads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSourceDir, readMobyDick } from "../../src/pretrain/corpus.ts";
import { pretrain } from "../../src/app/pretrain.ts";
import { heldoutAccuracy } from "../../src/pretrain/heldout.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";
import { FormatError } from "../../src/errors.ts";
import { type JsonObject, parseModelConfig } from "../../src/io/config.ts";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { readCorpusLines } from "../../src/pretrain/corpus-files.ts";
import { packLines } from "../../src/pretrain/mlm-data.ts";
import { PretrainTrainer } from "../../src/pretrain/trainer.ts";

const dir = mkdtempSync(join(tmpdir(), "rose-pretrain-"));
const docs = readMobyDick(defaultSourceDir("moby-dick")).slice(0, 6);
const corpus = join(dir, "corpus.txt"),
  heldout = join(dir, "heldout.txt");
writeFileSync(
  corpus,
  docs
    .slice(0, 5)
    .flatMap((d) => d.lines)
    .join("\n"),
);
writeFileSync(heldout, docs[5]!.lines.join("\n"));
const configFile = join(dir, "config.json");
writeFileSync(
  configFile,
  JSON.stringify({
    model_type: "bert",
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 64,
  }),
);
const opts = {
  corpus: [corpus],
  heldout: [heldout],
  configFile,
  vocabSize: 400,
  maxSeqLength: 32,
  batchSize: 8,
  maxSteps: 12,
  learningRate: 2e-3,
  warmupRatio: 0.1,
  loggingSteps: 4,
  saveSteps: 5,
  quiet: true,
};

test("pretrain writes a BertForMaskedLM directory that rose train loads; reruns are bit-identical", async () => {
  const a = join(dir, "a"),
    b = join(dir, "b");
  const r = await pretrain({ ...opts, outputDir: a });
  assert.equal(r.steps, 12);
  assert.ok(r.heldoutAccuracy !== null && r.heldoutAccuracy >= 0 && r.heldoutTokens > 0);
  const cfg = JSON.parse(readFileSync(join(a, "config.json"), "utf8")) as { architectures: string[]; vocab_size: number };
  assert.deepEqual(cfg.architectures, ["BertForMaskedLM"]);
  assert.ok(cfg.vocab_size <= 400);
  const losses = readFileSync(join(a, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; loss?: number })
    .filter((x) => x.type === "train");
  assert.ok(losses.at(-1)!.loss! < losses[0]!.loss!, "the masked-LM loss goes down");
  const m = await PretrainedModel.load(dirFiles(a), { labels: ["neg", "pos"] });
  assert.deepEqual(m.report.newParams.sort(), [
    "bert.pooler.dense.bias",
    "bert.pooler.dense.weight",
    "classifier.bias",
    "classifier.weight",
  ]);
  assert.ok(
    m.report.unusedParams.every((n) => n.startsWith("cls.predictions.")),
    m.report.unusedParams.join(","),
  );
  await pretrain({ ...opts, outputDir: b });
  assert.deepEqual(readFileSync(join(a, "model.safetensors")), readFileSync(join(b, "model.safetensors")));

  // heldoutAccuracy scores the saved model exactly as pretrain did; its position buckets add up to the whole.
  const mlm = await PretrainedModel.load(dirFiles(a), { heads: ["mlm"] });
  const h = await heldoutAccuracy(mlm, [heldout], { maxSeqLength: 32, batchSize: 8, positionBucket: 8 });
  assert.equal(h.accuracy, r.heldoutAccuracy);
  assert.equal(h.tokens, r.heldoutTokens);
  const buckets = h.byPosition!;
  assert.ok(
    buckets.length >= 2 && buckets.every((x, i) => x.start % 8 === 0 && x.start < 32 && (i === 0 || x.start > buckets[i - 1]!.start)),
  );
  assert.equal(
    buckets.reduce((n, x) => n + x.tokens, 0),
    h.tokens,
  );
  assert.ok(Math.abs(buckets.reduce((n, x) => n + x.accuracy * x.tokens, 0) / h.tokens - h.accuracy) < 1e-12);
  assert.equal((await heldoutAccuracy(mlm, [heldout], { maxSeqLength: 32, batchSize: 8 })).byPosition, undefined);
});

test("PretrainTrainer on an in-memory model and packed sequences trains what the command trains", async () => {
  const viaCommand = join(dir, "lib-command"),
    direct = join(dir, "lib-direct");
  const recipe = { ...opts, maxSteps: 4, evalSteps: 2 };
  const r = await pretrain({ ...recipe, outputDir: viaCommand });
  const tok = await Tokenizer.load(dirFiles(join(viaCommand, "vocab")));
  const raw = JSON.parse(readFileSync(configFile, "utf8")) as JsonObject;
  const model = PretrainedModel.random(parseModelConfig({ ...raw, vocab_size: tok.vocabSize }, configFile), tok, ["mlm"], 42);
  const pack = (file: string) => packLines(tok, readCorpusLines([file]), 32);
  const { corpus: _c, heldout: _h, configFile: _f, vocabSize: _v, maxSeqLength: _m, ...training } = recipe;
  const trainer = new PretrainTrainer(model, await pack(corpus), await pack(heldout), { ...training, outputDir: direct });
  const d = await trainer.run();
  assert.deepEqual({ ...d, seconds: 0, tokensPerSecond: 0 }, { ...r, seconds: 0, tokensPerSecond: 0 });
  assert.deepEqual(readFileSync(join(direct, "model.safetensors")), readFileSync(join(viaCommand, "model.safetensors")));
});

test("pretrain with ROSE selection runs and resumes from its checkpoint", async () => {
  const c = join(dir, "c");
  await pretrain({ ...opts, outputDir: c, rose: { method: "rose-ensemble" }, maxSteps: 5 });
  const r = await pretrain({ ...opts, outputDir: c, rose: { method: "rose-ensemble" }, maxSteps: 8, resume: true });
  assert.equal(r.steps, 8);
});

test("a resumed run rewrites metrics.jsonl from its checkpoint: no record is written twice", async () => {
  const full = join(dir, "m-full"),
    killed = join(dir, "m-killed");
  await pretrain({ ...opts, outputDir: full, loggingSteps: 2 });
  // The state a kill after step 12's records (and before the final save) leaves: checkpoint-10, metrics to 12.
  cpSync(full, killed, { recursive: true });
  for (const f of ["model.safetensors", "config.json", "pretrain_result.json"]) rmSync(join(killed, f));
  await pretrain({ ...opts, outputDir: killed, loggingSteps: 2, resume: true });
  const records = (d: string) =>
    readFileSync(join(d, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = (d: string) => records(d).map((r) => `${r.type as string}@${r.step as number}`);
  assert.deepEqual(steps(killed), steps(full));
  const strip = (d: string) => records(d).map(({ tokens_per_s: _, ...r }) => r);
  assert.deepEqual(strip(killed), strip(full));
  assert.deepEqual(readFileSync(join(killed, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
});

test("resuming a finished pre-training run returns its result without more steps", async () => {
  const d = join(dir, "done");
  const r = await pretrain({ ...opts, outputDir: d, maxSteps: 7 });
  const metrics = readFileSync(join(d, "metrics.jsonl"), "utf8");
  const again = await pretrain({ ...opts, outputDir: d, maxSteps: 7, resume: true });
  assert.deepEqual(again, r);
  assert.equal(readFileSync(join(d, "metrics.jsonl"), "utf8"), metrics);
});

test("a checkpoint whose run state is not the shared loop's is refused on resume, naming its file", async () => {
  const d = join(dir, "old-state");
  await pretrain({ ...opts, outputDir: d, maxSteps: 7 });
  rmSync(join(d, "pretrain_result.json"));
  // The run state pre-training checkpoints held before fine-tuning and pre-training shared one loop.
  const state = join(d, "checkpoint-5", "trainer_state.json");
  writeFileSync(state, JSON.stringify({ step: 5, seconds: 1.5, tokens: 1280 }));
  await assert.rejects(
    pretrain({ ...opts, outputDir: d, maxSteps: 7, resume: true }),
    (e: Error) => e instanceof FormatError && e.message === `${state}: the run state lacks "globalStep"`,
  );
});

test("pretrain's recipe options: masking rate, dropout off and the cosine schedule change the run; bad values are refused", async () => {
  const base = await pretrain({ ...opts, outputDir: join(dir, "r0"), maxSteps: 4 });
  const variants = [{ mlmProbability: 0.4 }, { dropout: 0 }, { lrSchedule: "cosine" as const }];
  for (const [i, v] of variants.entries()) {
    const r = await pretrain({ ...opts, ...v, outputDir: join(dir, `r${i + 1}`), maxSteps: 4 });
    assert.equal(r.steps, 4);
    assert.notEqual(r.loss, base.loss, JSON.stringify(v));
    // The saved config keeps the architecture's own dropout for fine-tuning.
    assert.equal(readFileSync(join(dir, `r${i + 1}`, "config.json"), "utf8"), readFileSync(join(dir, "r0", "config.json"), "utf8"));
  }
  await assert.rejects(pretrain({ ...opts, outputDir: join(dir, "bad1"), mlmProbability: 1.5 }), /mlmProbability/);
  await assert.rejects(pretrain({ ...opts, outputDir: join(dir, "bad2"), dropout: 1 }), /dropout/);
  await assert.rejects(pretrain({ ...opts, outputDir: join(dir, "bad3"), lrSchedule: "step" as never }), /schedule/);
});

test("pretrain says which positions it trains when its sequences are shorter than the position table", async (t) => {
  const runLog = async (name: string, maxSeqLength: number): Promise<string> => {
    let err = "";
    const write = t.mock.method(process.stderr, "write", (chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    try {
      await pretrain({ ...opts, outputDir: join(dir, name), maxSteps: 1, maxSeqLength, quiet: false });
    } finally {
      write.mock.restore();
    }
    return err;
  };
  // The test config has 64 positions.
  assert.match(await runLog("pos32", 32), /trains positions 0-31 of 64; inputs longer than 32 tokens/);
  assert.doesNotMatch(await runLog("pos64", 64), /trains positions/);
});
