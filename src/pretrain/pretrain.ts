// Masked-LM pre-training (`rose pretrain`): a WordPiece vocabulary trained on the corpus (or the --init
// model's), sequences packed to the maximum length, 15% of tokens predicted (80/10/10), AdamW with warm-up
// and linear decay, vanilla or ROSE selection, resumable checkpoints. The output is a BertForMaskedLM
// directory that `rose train --model DIR` fine-tunes.
import { appendFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Graph, ops, Program, type Tensor } from "../engine/index.ts";
import { ParamScope } from "../models/index.ts";
import { ConfigError, DataError, DivergenceError } from "../errors.ts";
import { type EncoderConfig, type JsonObject, parseModelConfig } from "../io/config.ts";
import { prepareRunDir, truncateJsonLines } from "../io/outputs.ts";
import { writeFileAtomic } from "../io/safetensors.ts";
import { readJsonFile } from "../io/json.ts";
import { readTextFileStrict } from "../io/text.ts";
import { Tokenizer } from "../io/tokenizer.ts";
import { crossEntropy } from "../models/losses.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { RoseAdamW, type RoseMethod } from "../optim/adamw.ts";
import { clipCoefficient } from "../optim/clip.ts";
import { type ScheduleName, SCHEDULES, scheduleByName, warmupStepsFromRatio } from "../optim/schedule.ts";
import { eligibleFrom } from "../optim/select.ts";
import { loadCheckpoint, saveCheckpoint } from "../train/checkpoint.ts";
import { createProgress } from "../train/progress.ts";
import { type Objective, TrainStep } from "../train/step.ts";
import { IGNORE_INDEX, MlmBatcher, type MlmBatch, packSequences, tokenizeLines } from "./mlm-data.ts";
import { BERT_SPECIAL_TOKENS, trainWordPiece, writeVocabDir } from "./wordpiece.ts";

/** Architectures of the presets (as ../shared/bench/torch_baseline.py names them). */
export const PRESETS: Record<string, { hidden_size: number; num_hidden_layers: number; num_attention_heads: number; intermediate_size: number }> = {
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
  small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
};

export interface PretrainOptions {
  corpus: string[];
  outputDir: string;
  config: string;
  configFile?: string;
  init?: string;
  vocabSize: number;
  maxSeqLength: number;
  maxSteps: number;
  batchSize: number;
  learningRate: number;
  warmupRatio: number;
  /** Learning-rate schedule after the warm-up: linear or cosine decay to 0. */
  lrSchedule: ScheduleName;
  /** Share of tokens chosen for prediction (BERT: 0.15). Held-out accuracy is always measured at 0.15. */
  mlmProbability: number;
  /** Hidden and attention dropout during pre-training (null: the config's, 0.1); the saved config keeps its own. */
  dropout?: number | null;
  weightDecay: number;
  adamBeta2: number;
  maxGradNorm: number;
  method: RoseMethod;
  upper: number;
  lower: number;
  gamma: number;
  klDropout: number;
  seed: number;
  loggingSteps: number;
  saveSteps: number;
  /** Held-out text files for masked-token accuracy (evaluated every evalSteps and at the end). */
  heldout: string[];
  evalSteps: number;
  resume: boolean;
  /** Clear a non-empty output folder first; without it (or resume) such a folder is refused. */
  overwriteOutputDir?: boolean;
  threads?: number;
  quiet: boolean;
}

export const PRETRAIN_DEFAULTS: PretrainOptions = {
  corpus: [],
  outputDir: "pretrained",
  config: "mini",
  vocabSize: 8192,
  maxSeqLength: 128,
  maxSteps: 1000,
  batchSize: 32,
  learningRate: 5e-4,
  warmupRatio: 0.06,
  lrSchedule: "linear",
  mlmProbability: 0.15,
  dropout: null,
  weightDecay: 0.01,
  adamBeta2: 0.98,
  maxGradNorm: 1,
  method: "vanilla",
  upper: 70,
  lower: 0,
  gamma: 0.5,
  klDropout: 0.1,
  seed: 42,
  loggingSteps: 50,
  saveSteps: 200,
  heldout: [],
  evalSteps: 0,
  resume: false,
  quiet: false,
};

export interface PretrainResult {
  steps: number;
  loss: number;
  heldoutAccuracy: number | null;
  heldoutTokens: number;
  corpusTokens: number;
  sequences: number;
  seconds: number;
  tokensPerSecond: number;
}

interface RunState {
  step: number;
  seconds: number;
  tokens: number;
}

export function readCorpusLines(files: readonly string[]): string[] {
  const lines: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new ConfigError(`corpus file ${f} does not exist`);
    for (const l of readTextFileStrict(f).split("\n")) {
      const t = l.trim();
      if (t) lines.push(t);
    }
  }
  if (lines.length === 0) throw new DataError(files.join(", "), null, "the corpus is empty");
  return lines;
}

/** The masked-LM objective on the predicted positions only: their rows are gathered before the decoder. */
export const maskedLm: Objective = (g, arch) => {
  const positions = g.input("mlm_positions", "int64", ["predicted"]);
  const labels = g.input("mlm_labels", "int64", ["predicted"]);
  return {
    head: (ctx, h) => {
      const rows = ops.gather(ops.reshape(h, [-1, arch.cfg.hiddenSize]), positions);
      return arch.mlmLogits(ctx, rows);
    },
    loss: (logits: Tensor) => crossEntropy(logits, labels),
  };
};

/** Flat positions and labels of the predicted tokens of a masked batch. */
export function predictedPositions(b: MlmBatch): { positions: BigInt64Array; labels: BigInt64Array } {
  const pos: bigint[] = [];
  const lab: bigint[] = [];
  for (let i = 0; i < b.labels.length; i++) {
    if (b.labels[i] !== BigInt(IGNORE_INDEX)) {
      pos.push(BigInt(i));
      lab.push(b.labels[i]!);
    }
  }
  // A batch where nothing was chosen still needs one row: predict position 0 ([CLS]) against itself.
  if (pos.length === 0) {
    pos.push(0n);
    lab.push(b.inputIds[0]!);
  }
  return { positions: BigInt64Array.from(pos), labels: BigInt64Array.from(lab) };
}

function modelConfig(o: PretrainOptions, vocabSize: number): EncoderConfig {
  let raw: JsonObject;
  if (o.configFile) raw = readJsonFile<JsonObject>(o.configFile);
  else {
    const preset = PRESETS[o.config];
    if (!preset) throw new ConfigError(`unknown --config ${o.config} (${Object.keys(PRESETS).join(", ")})`);
    raw = {
      model_type: "bert", architectures: ["BertForMaskedLM"], ...preset, hidden_act: "gelu", hidden_dropout_prob: 0.1,
      attention_probs_dropout_prob: 0.1, max_position_embeddings: Math.max(512, o.maxSeqLength), type_vocab_size: 2,
      initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0,
    };
  }
  raw.vocab_size = vocabSize;
  return parseModelConfig(raw, o.configFile ?? `preset ${o.config}`);
}

export async function pretrain(opts: Partial<PretrainOptions> & { corpus: string[]; outputDir: string }): Promise<PretrainResult> {
  const o: PretrainOptions = { ...PRETRAIN_DEFAULTS, ...opts };
  if (!(o.mlmProbability > 0 && o.mlmProbability < 1)) throw new ConfigError(`mlmProbability must be in (0, 1), got ${o.mlmProbability}`);
  if (!SCHEDULES.includes(o.lrSchedule)) throw new ConfigError(`unknown learning-rate schedule ${JSON.stringify(o.lrSchedule)} (${SCHEDULES.join(", ")})`);
  if (o.dropout != null && !(o.dropout >= 0 && o.dropout < 1)) throw new ConfigError(`dropout must be in [0, 1), got ${o.dropout}`);
  const log = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  // Options first: a bad preset or output folder must not wait for the corpus and the vocabulary.
  if (!o.configFile && !o.init && !PRESETS[o.config]) throw new ConfigError(`unknown --config ${o.config} (${Object.keys(PRESETS).join(", ")}, or --config-file FILE)`);
  prepareRunDir(o.outputDir, { overwrite: o.overwriteOutputDir, resume: o.resume });
  const lines = readCorpusLines(o.corpus);

  // Tokenizer: the --init model's, the one a resumed run trained, or a new WordPiece vocabulary.
  let model: PretrainedModel;
  let tok: Tokenizer;
  if (o.init) {
    model = await PretrainedModel.load(o.init, { heads: ["mlm"], seed: o.seed });
    if (!model.arch.supportsMlm) throw new ConfigError(`${o.init}: ${model.cfg.modelType} has no masked-LM head in rose`);
    tok = model.tokenizer!;
  } else {
    const vocabDir = join(o.outputDir, "vocab");
    if (!(o.resume && existsSync(join(vocabDir, "vocab.txt")))) {
      const t0 = performance.now();
      const v = await trainWordPiece(lines, { vocabSize: o.vocabSize, specialTokens: BERT_SPECIAL_TOKENS });
      writeVocabDir(vocabDir, v.vocab);
      log(`trained a WordPiece vocabulary of ${v.vocab.length} tokens on ${v.totalWords} words in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    tok = await Tokenizer.fromDir(vocabDir);
    model = PretrainedModel.random(modelConfig(o, tok.vocabSize), tok, ["mlm"], o.seed);
  }
  const sp = tok.specialIds;
  const pack = async (ls: string[]) => packSequences(await tokenizeLines(tok, ls), { maxLength: o.maxSeqLength, clsId: sp.cls, sepId: sp.sep });
  const sequences = await pack(lines);
  const corpusTokens = sequences.reduce((a, s) => a + s.length, 0);
  log(`corpus: ${lines.length} lines, ${corpusTokens} tokens in ${sequences.length} sequences of up to ${o.maxSeqLength}`);
  const batcherOpts = { batchSize: o.batchSize, seed: o.seed, vocabSize: tok.vocabSize, maskId: sp.mask, specialIds: [sp.pad, sp.cls, sp.sep, sp.unk, sp.mask], padId: sp.pad };
  const batcher = new MlmBatcher(sequences, { ...batcherOpts, mlmProbability: o.mlmProbability });
  const heldoutSeqs = o.heldout.length ? await pack(readCorpusLines(o.heldout)) : null;

  const warmup = warmupStepsFromRatio(o.warmupRatio, o.maxSteps);
  const lrAt = scheduleByName(o.lrSchedule, { baseLr: o.learningRate, warmupSteps: warmup, totalSteps: o.maxSteps });
  const optimizer = new RoseAdamW({
    lr: o.learningRate, betas: [0.9, o.adamBeta2], eps: 1e-6, weightDecay: o.weightDecay, method: o.method,
    upper: o.upper, lower: o.lower, gamma: o.gamma, numWarmupSteps: warmup,
  });
  const step = await TrainStep.build(model, {
    method: o.method, klDropout: o.klDropout, rdropAlpha: 0, eligible: eligibleFrom(), granularity: "tensor", regression: false, threads: o.threads,
    ...(o.dropout != null ? { dropout: o.dropout } : {}),
  }, maskedLm);

  let st: RunState = { step: 0, seconds: 0, tokens: 0 };
  const metricsFile = join(o.outputDir, "metrics.jsonl");
  if (o.resume) {
    const r = loadCheckpoint<RunState>(o.outputDir, model, optimizer, { template: st, step: (s) => s.step });
    if (r) {
      st = r;
      log(`resuming from step ${st.step}`);
      truncateJsonLines(metricsFile, (rec) => typeof rec.step === "number" && rec.step <= st.step);
    }
  } else rmSync(metricsFile, { force: true });

  const evaluate = async (): Promise<{ accuracy: number; tokens: number } | null> =>
    heldoutSeqs ? maskedAccuracy(model, heldoutSeqs, { ...batcherOpts, seed: 1234 }, o.threads) : null;

  const progress = createProgress("pretrain", o.maxSteps, { quiet: o.quiet });
  let lossSum = 0, lossN = 0, lastLoss = NaN;
  while (st.step < o.maxSteps) {
    const t0 = performance.now();
    const b = batcher.batchAt(st.step);
    const { positions, labels } = predictedPositions(b);
    const r = await step.run(b, model.params, { seed: o.seed, counter: st.step }, {
      mlm_positions: { data: positions, dims: [positions.length] },
      mlm_labels: { data: labels, dims: [labels.length] },
    });
    if (!Number.isFinite(r.loss)) throw new DivergenceError(`loss is ${r.loss} at step ${st.step + 1}; the last good checkpoint in ${o.outputDir} is intact`);
    if (!Number.isFinite(r.gradNorm)) throw new DivergenceError(`gradient norm is ${r.gradNorm} at step ${st.step + 1}; the last good checkpoint in ${o.outputDir} is intact`);
    const gradNorm = r.gradNorm;
    const lr = lrAt(st.step);
    const info = optimizer.step({ params: model.params, grads: r.grads, gradScale: clipCoefficient(gradNorm, o.maxGradNorm), lr, klGradNorms: r.klGradNorms ?? undefined });
    st.step++;
    st.seconds += (performance.now() - t0) / 1000;
    st.tokens += b.batch * b.seq;
    lossSum += r.loss;
    lossN++;
    lastLoss = r.loss;
    if (st.step % o.loggingSteps === 0 || st.step === 1) {
      const rec: Record<string, unknown> = { type: "train", step: st.step, loss: lossSum / lossN, learning_rate: lr, grad_norm: gradNorm, tokens_per_s: +(st.tokens / st.seconds).toFixed(1) };
      if (o.method !== "vanilla") rec.fraction_updated = info.fractionUpdated;
      appendFileSync(metricsFile, `${JSON.stringify(rec)}\n`);
      lossSum = lossN = 0;
    }
    if (o.evalSteps > 0 && st.step % o.evalSteps === 0 && st.step < o.maxSteps) {
      const ev = await evaluate();
      if (ev) {
        appendFileSync(metricsFile, `${JSON.stringify({ type: "eval", step: st.step, masked_accuracy: ev.accuracy })}\n`);
        progress.log(`step ${st.step}: held-out masked-token accuracy ${ev.accuracy.toFixed(4)}`);
      }
    }
    progress.update(st.step, { loss: lastLoss, lr: lr.toExponential(2), "tok/s": Math.round(st.tokens / st.seconds) });
    if (o.saveSteps > 0 && st.step % o.saveSteps === 0 && st.step < o.maxSteps) saveCheckpoint(o.outputDir, st.step, model, optimizer, st);
  }
  progress.stop();
  const ev = await evaluate();
  if (ev) appendFileSync(metricsFile, `${JSON.stringify({ type: "eval", step: st.step, masked_accuracy: ev.accuracy })}\n`);
  model.save(o.outputDir, { head: "MaskedLM" });
  const result: PretrainResult = {
    steps: st.step, loss: lastLoss, heldoutAccuracy: ev?.accuracy ?? null, heldoutTokens: ev?.tokens ?? 0, corpusTokens,
    sequences: sequences.length, seconds: st.seconds, tokensPerSecond: st.tokens / Math.max(st.seconds, 1e-9),
  };
  writeFileAtomic(join(o.outputDir, "pretrain_result.json"), `${JSON.stringify({ ...result, args: o }, null, 2)}\n`);
  return result;
}

/** Accuracy of the model's top prediction at the masked positions of `seqs` (deterministic masking). */
export async function maskedAccuracy(
  model: PretrainedModel,
  seqs: number[][],
  batcherOpts: ConstructorParameters<typeof MlmBatcher>[1],
  threads?: number,
): Promise<{ accuracy: number; tokens: number }> {
  const arch = model.arch;
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const { head } = maskedLm(g, arch);
  const ctx = { scope, train: false };
  const logits = head(ctx, arch.encode(ctx, inputs));
  const prog = await Program.compile(g, { logits }, { threads });
  const b = new MlmBatcher(seqs, { ...batcherOpts, shuffle: false, dropLast: false });
  let correct = 0, total = 0;
  for (let s = 0; s < b.stepsPerEpoch; s++) {
    const batch = b.batchAt(s);
    const { positions, labels } = predictedPositions(batch);
    const dims = [batch.batch, batch.seq];
    const feeds: Record<string, { data: BigInt64Array; dims: number[] } | Float32Array> = {
      input_ids: { data: batch.inputIds, dims }, attention_mask: { data: batch.attentionMask, dims },
      mlm_positions: { data: positions, dims: [positions.length] }, mlm_labels: { data: labels, dims: [labels.length] },
    };
    if (arch.usesTokenTypes) feeds.token_type_ids = { data: batch.tokenTypeIds, dims };
    for (const inp of prog.inputs) if (inp.kind === "param") feeds[inp.name] = model.params.get(inp.name)!;
    const out = (await prog.run(feeds)).logits!;
    const v = out.dims[1]!;
    const d = out.data as Float32Array;
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      for (let j = 1; j < v; j++) if (d[i * v + j]! > d[i * v + best]!) best = j;
      if (BigInt(best) === labels[i]) correct++;
      total++;
    }
  }
  return { accuracy: total ? correct / total : NaN, tokens: total };
}
