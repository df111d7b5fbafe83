import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../../src/node/safetensors.ts";
import { DivergenceError } from "../../src/errors.ts";
import { fineTune } from "../../src/app/train.ts";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";

const data = writeSentimentData(64, 32);
const tmp = () => mkdtempSync(join(tmpdir(), "rose-train-"));
const base = { model: GOLDEN_BERT, trainFile: data.train, validationFile: data.dev, quiet: true, batchSize: 8, loggingSteps: 1 };

function jsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("vanilla fine-tuning learns the task and a rerun is bit-identical", async () => {
  const a = tmp(),
    b = tmp();
  // 20 epochs: with 10, about one dropout draw (seed) in four left this tiny model at the majority class.
  const opts = { ...base, learningRate: 3e-3, numTrainEpochs: 20, saveSteps: 0 };
  const r = await fineTune({ ...opts, outputDir: a });
  assert.ok(r.bestMetric! >= 0.85, `dev accuracy ${r.bestMetric}`);
  await fineTune({ ...opts, outputDir: b });
  assert.equal(
    readFileSync(join(a, "metrics.jsonl"), "utf8").replace(/"samples_per_s":[0-9.e+-]+/g, ""),
    readFileSync(join(b, "metrics.jsonl"), "utf8").replace(/"samples_per_s":[0-9.e+-]+/g, ""),
  );
  assert.deepEqual(readFileSync(join(a, "model.safetensors")), readFileSync(join(b, "model.safetensors")));
  // A Hugging Face directory with the task's labels.
  const cfg = JSON.parse(readFileSync(join(a, "config.json"), "utf8")) as { id2label: Record<string, string>; architectures: string[] };
  assert.deepEqual(cfg.id2label, { 0: "neg", 1: "pos" });
  assert.deepEqual(cfg.architectures, ["BertForSequenceClassification"]);
  const state = JSON.parse(readFileSync(join(a, "trainer_state.json"), "utf8")) as { global_step: number; best_metric: number };
  assert.equal(state.global_step, 160);
  assert.equal(state.best_metric, r.bestMetric);
});

for (const method of ["rose-first", "rose-second", "rose-ensemble"] as const) {
  test(`${method}: trains, logs KL and fraction updated, records masks`, async () => {
    const out = tmp();
    await fineTune({ ...base, outputDir: out, rose: { method, upper: 60 }, learningRate: 1e-3, maxSteps: 6, warmupSteps: 1 });
    const recs = jsonl(join(out, "metrics.jsonl")).filter((r) => r.type === "train");
    assert.equal(recs.length, 6);
    for (const r of recs) {
      assert.ok(typeof r.fraction_updated === "number" && r.fraction_updated > 0 && r.fraction_updated <= 1);
      if (method !== "rose-second") assert.ok(typeof r.kl === "number" && r.kl >= 0);
    }
    // After warm-up, some tensors are filtered out.
    assert.ok(
      recs.slice(2).some((r) => (r.fraction_updated as number) < 1),
      "ROSE selected a subset",
    );
    const masks = jsonl(join(out, "rose_masks.jsonl"));
    assert.equal(masks.length, 6);
    assert.equal(masks[0]!.applied, false, "warm-up step is exempt");
    const values = Object.values(masks[3]!.mask as Record<string, number>);
    assert.equal(values.length, 16, "one mask value per eligible tensor");
    if (method === "rose-ensemble") assert.ok(values.every((v) => v === 0 || v === 0.5 || v === 1));
    else assert.ok(values.every((v) => v === 0 || v === 1));
  });
}

test("element granularity and R-Drop run", async () => {
  const out = tmp();
  await fineTune({
    ...base,
    outputDir: out,
    rose: { method: "rose-first", granularity: "element" },
    rdropAlpha: 1,
    learningRate: 1e-3,
    maxSteps: 3,
  });
  const recs = jsonl(join(out, "metrics.jsonl")).filter((r) => r.type === "train");
  assert.ok(
    recs.every((r) => (r.loss as number) > (r.ce as number)),
    "R-Drop adds the KL term to the loss",
  );
});

test("a NaN loss stops training with an error naming the step", async () => {
  const model = tmp();
  cpSync(GOLDEN_BERT, model, { recursive: true });
  const st = readSafetensors(join(model, "model.safetensors")).tensors;
  const w = st.get("bert.encoder.layer.0.output.dense.weight")!;
  (w.data as Float32Array)[0] = NaN;
  writeSafetensors(
    join(model, "model.safetensors"),
    [...st].map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
  );
  await assert.rejects(
    fineTune({ ...base, model, outputDir: tmp(), maxSteps: 2 }),
    (e: Error) => e instanceof DivergenceError && /step 1/.test(e.message) && /no checkpoint was saved/.test(e.message),
  );
});

test("a NaN after a checkpoint names that checkpoint", async () => {
  const out = tmp();
  await fineTune({ ...base, outputDir: out, maxSteps: 4, saveSteps: 2, validationFile: undefined });
  // Poison the weights the resumed run starts from, and make the run look unfinished.
  rmSync(join(out, "trainer_state.json"));
  const file = join(out, "checkpoint-4", "model.safetensors");
  const st = readSafetensors(file).tensors;
  (st.get("bert.encoder.layer.0.output.dense.weight")!.data as Float32Array)[0] = NaN;
  writeSafetensors(
    file,
    [...st].map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
  );
  await assert.rejects(
    fineTune({ ...base, outputDir: out, maxSteps: 6, saveSteps: 2, validationFile: undefined, resume: true }),
    (e: Error) => e instanceof DivergenceError && /step 5/.test(e.message) && e.message.includes(`${join(out, "checkpoint-4")} (step 4)`),
  );
});

test("--resume on a finished run returns its result and trains no further", async () => {
  const out = tmp();
  // Three steps end mid-epoch: the old loop resumed at the next batch and took a fourth step.
  const opts = { ...base, outputDir: out, maxSteps: 3, saveSteps: 0 };
  const r = await fineTune(opts);
  const before = { metrics: readFileSync(join(out, "metrics.jsonl")), model: readFileSync(join(out, "model.safetensors")) };
  const again = await fineTune({ ...opts, resume: true });
  assert.deepEqual({ ...again, outputDir: r.outputDir }, r);
  assert.deepEqual(readFileSync(join(out, "metrics.jsonl")), before.metrics);
  assert.deepEqual(readFileSync(join(out, "model.safetensors")), before.model);
});

function runCli(args: string[]): { done: Promise<number>; kill: () => void } {
  const child = spawn(process.execPath, ["bin/rose.js", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve) => child.on("exit", (code, sig) => resolve(code ?? (sig ? 137 : 1))));
  return { done: done.then((c) => (c !== 0 && c !== 137 ? Promise.reject(new Error(err)) : c)), kill: () => child.kill("SIGKILL") };
}

test("a run killed with SIGKILL mid-epoch resumes to the same weights as an uninterrupted run", async () => {
  const args = [
    "train",
    "--model",
    GOLDEN_BERT,
    "--train-file",
    data.train,
    "--method",
    "rose-ensemble",
    "--learning-rate",
    "1e-3",
    "--num-train-epochs",
    "3",
    "--batch-size",
    "8",
    "--save-steps",
    "3",
    "--warmup-steps",
    "2",
    "--quiet",
    "--seed",
    "7",
  ];
  const full = tmp(),
    killed = tmp();
  assert.equal(await runCli([...args, "--output-dir", full]).done, 0);
  // Kill once a mid-epoch checkpoint exists (step 3 of 8 in epoch 1 or later).
  const run = runCli([...args, "--output-dir", killed]);
  const pointer = join(killed, "last_checkpoint.json");
  let killedAt = -1;
  while (true) {
    if (existsSync(pointer)) {
      const step = (JSON.parse(readFileSync(pointer, "utf8")) as { step: number }).step;
      if (step >= 3 && step % 8 !== 0) {
        run.kill();
        killedAt = step;
        break;
      }
    }
    const exited = await Promise.race([run.done.then(() => true), new Promise((r) => setTimeout(() => r(false), 5))]);
    if (exited) break;
  }
  await run.done;
  assert.ok(killedAt > 0, "the run was killed mid-epoch");
  assert.ok(!existsSync(join(killed, "model.safetensors")), "the killed run never finished");
  assert.equal(await runCli([...args, "--output-dir", killed, "--resume"]).done, 0);
  assert.deepEqual(readFileSync(join(killed, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
  const strip = (f: string) => readFileSync(f, "utf8").replace(/"samples_per_s":[0-9.e+-]+/g, "");
  assert.equal(strip(join(killed, "metrics.jsonl")), strip(join(full, "metrics.jsonl")));
});

test("dropout: 0 trains as a config with no dropout does, and the saved config keeps its own", async () => {
  const noDrop = tmp();
  cpSync(GOLDEN_BERT, noDrop, { recursive: true });
  const cfgFile = join(noDrop, "config.json");
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as Record<string, unknown>;
  writeFileSync(cfgFile, JSON.stringify({ ...cfg, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: null }));
  const run = async (o: { model: string; dropout?: number }) => {
    const out = tmp();
    await fineTune({ ...base, ...o, outputDir: out, learningRate: 1e-3, maxSteps: 3, saveSteps: 0 });
    return out;
  };
  const [byConfig, byFlag, withDropout] = [
    await run({ model: noDrop }),
    await run({ model: GOLDEN_BERT, dropout: 0 }),
    await run({ model: GOLDEN_BERT }),
  ];
  const weights = (d: string) => readFileSync(join(d, "model.safetensors"));
  assert.deepEqual(weights(byFlag), weights(byConfig));
  assert.notDeepEqual(weights(withDropout), weights(byConfig), "the config's dropout is used without the flag");
  const saved = JSON.parse(readFileSync(join(byFlag, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(saved.hidden_dropout_prob, cfg.hidden_dropout_prob);
  await assert.rejects(run({ model: GOLDEN_BERT, dropout: 1 }), /dropout must be in \[0, 1\), got 1/);
});

test("layer-wise learning-rate decay: with a tiny decay the embeddings barely move", async () => {
  const start = readSafetensors(join(GOLDEN_BERT, "model.safetensors")).tensors;
  const run = async (layerwiseLrDecay: number) => {
    const out = tmp();
    await fineTune({ ...base, outputDir: out, learningRate: 1e-3, maxSteps: 2, saveSteps: 0, layerwiseLrDecay });
    return readSafetensors(join(out, "model.safetensors")).tensors;
  };
  const moved = (w: Awaited<ReturnType<typeof run>>, name: string) => {
    const a = w.get(name)!.data as Float32Array,
      b = start.get(name)!.data as Float32Array;
    return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  };
  const decayed = await run(1e-3),
    plain = await run(1);
  const emb = "bert.embeddings.word_embeddings.weight";
  assert.ok(moved(plain, emb) > 1e-4, `without decay the embeddings move (${moved(plain, emb)})`);
  assert.ok(moved(decayed, emb) < 1e-9, `with decay 1e-3 they move by lr * 1e-9 (${moved(decayed, emb)})`);
  await assert.rejects(run(0), /layerwiseLrDecay must be in \(0, 1\], got 0/);
});

test("truncation head+tail trains on the texts' ends; the saved model keeps it for eval", async () => {
  // Long texts whose label is told only by their last word: with a short max length, only a kept tail sees it.
  const dir = tmp();
  const rows = Array.from({ length: 32 }, (_, i) => `${"the movie was a film ".repeat(6)}${i % 2 ? "great" : "bad"}\t${i % 2}`);
  writeFileSync(join(dir, "train.tsv"), `sentence\tlabel\n${rows.join("\n")}\n`);
  const run = async (truncation?: "head" | "head+tail") => {
    const out = tmp();
    const r = await fineTune({
      ...base,
      trainFile: join(dir, "train.tsv"),
      validationFile: join(dir, "train.tsv"),
      outputDir: out,
      learningRate: 3e-3,
      numTrainEpochs: 8,
      maxSeqLength: 12,
      saveSteps: 0,
      truncation,
    });
    return { out, acc: r.evalHistory.at(-1)!.accuracy! };
  };
  const head = await run(),
    ends = await run("head+tail");
  assert.equal(head.acc, 0.5, "the head alone cannot tell the classes apart");
  assert.equal(ends.acc, 1, "head + tail reads the last word");
  const cfg = JSON.parse(readFileSync(join(ends.out, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(cfg.rose_truncation, "head+tail");
  const { evaluate } = await import("../../src/app/eval.ts");
  const ev = await evaluate({ model: ends.out, data: join(dir, "train.tsv"), task: "custom", maxSeqLength: 12, warn: () => {} });
  assert.equal(ev.metrics.accuracy, 1, "eval reads the saved truncation");
  const headOnly = await evaluate({
    model: ends.out,
    data: join(dir, "train.tsv"),
    task: "custom",
    maxSeqLength: 12,
    truncation: "head",
    warn: () => {},
  });
  assert.equal(headOnly.metrics.accuracy, 0.5, "--truncation head overrides it");
  await assert.rejects(
    fineTune({ ...base, outputDir: tmp(), maxSteps: 1, truncation: "middle" as never }),
    /truncation must be one of head, tail, head\+tail/,
  );
});

test("--ema-decay: the saved model is the average, checkpoints keep it, and a paused run resumes to the same model", async () => {
  const opts = { ...base, validationFile: undefined, learningRate: 3e-3, numTrainEpochs: 2, saveSteps: 0, emaDecay: 0.9 };
  const full = tmp();
  await fineTune({ ...opts, outputDir: full });
  const tensors = (f: string) => readSafetensors(f).tensors;
  const saved = tensors(join(full, "model.safetensors"));
  const ck = join(full, "checkpoint-16");
  const average = tensors(join(ck, "ema.safetensors")),
    live = tensors(join(ck, "model.safetensors"));
  const name = "bert.encoder.layer.0.output.dense.weight";
  assert.deepEqual(saved.get(name)!.data, average.get(name)!.data, "the final model is the average");
  assert.notDeepEqual(average.get(name)!.data, live.get(name)!.data, "the average is not the last iterate");
  // Without the average the same run ends elsewhere.
  const plain = tmp();
  await fineTune({ ...opts, emaDecay: 0, outputDir: plain });
  assert.deepEqual(tensors(join(plain, "model.safetensors")).get(name)!.data, live.get(name)!.data, "the average does not change training");

  const paused = tmp();
  const r = await fineTune({ ...opts, outputDir: paused, stopAfterEpoch: 1 });
  assert.equal(r.stopped, true);
  await assert.rejects(
    fineTune({ ...opts, emaDecay: 0, outputDir: paused, resume: true }),
    /ema\.safetensors.*resume it with the same flags/,
  );
  await fineTune({ ...opts, outputDir: paused, resume: true });
  assert.deepEqual(readFileSync(join(paused, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
  await assert.rejects(fineTune({ ...opts, emaDecay: 1, outputDir: tmp() }), /emaDecay must be in \[0, 1\)/);
});
