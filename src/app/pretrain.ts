// `rose pretrain`: a masked language model pre-trained on the user's corpus. A WordPiece vocabulary trained
// on the corpus (or the --init model's), sequences packed to the maximum length, 15% of tokens predicted
// (80/10/10), AdamW with warm-up and linear or cosine decay, vanilla or ROSE selection, resumable
// checkpoints (the shared training loop). The output is a BertForMaskedLM directory that `rose train` fine-tunes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { withDefaults } from "../defaults.ts";
import { ConfigError, DataError } from "../errors.ts";
import { type EncoderConfig, type JsonObject, parseModelConfig } from "../io/config.ts";
import { dirFiles, dirSink, readJsonFile, readTextFileStrict } from "../node/files.ts";
import { prepareRunDir } from "../node/outputs.ts";
import { RUN_FILES, RunDir } from "../node/run-dir.ts";
import { Tokenizer } from "../io/tokenizer.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { ROSE_DEFAULTS, type RoseTrainOptions, validateRoseTrainOptions, type WithPartialRose, withRoseDefaults } from "../optim/rose.ts";
import { type ScheduleName, SCHEDULES, scheduleByName, warmupStepsFromRatio } from "../optim/schedule.ts";
import { maskedAccuracy, maskedLm, mlmFeeds, type PositionBucket, predictedPositions, PRESETS } from "../pretrain/masked-lm.ts";
import { MlmBatcher, packSequences, tokenizeLines } from "../pretrain/mlm-data.ts";
import { BERT_SPECIAL_TOKENS, trainWordPiece, writeVocabDir } from "../pretrain/wordpiece.ts";
import { buildTraining, runLoop } from "../train/loop.ts";
import { roseRecord } from "../train/trainer.ts";

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
  /** ROSE's options (optim/rose.ts); given in part, the rest come from ROSE_DEFAULTS. */
  rose: RoseTrainOptions;
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
  rose: ROSE_DEFAULTS,
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

/** Corpus lines -> token ids -> packed [CLS] ... [SEP] sequences of up to maxLength. */
async function packLines(tok: Tokenizer, lines: readonly string[], maxLength: number): Promise<number[][]> {
  const sp = tok.specialIds;
  return packSequences(await tokenizeLines(tok, lines), { maxLength, clsId: sp.cls, sepId: sp.sep });
}

function mlmBatcherOptions(tok: Tokenizer, batchSize: number, seed: number) {
  const sp = tok.specialIds;
  return {
    batchSize,
    seed,
    vocabSize: tok.vocabSize,
    maskId: sp.mask,
    specialIds: [sp.pad, sp.cls, sp.sep, sp.unk, sp.mask],
    padId: sp.pad,
  };
}

/** The held-out split's masks are fixed, whatever the run's seed, so that runs compare. */
const HELDOUT_MASK_SEED = 1234;

/**
 * Held-out masked-token accuracy of a masked-LM model on text files, scored exactly as `rose pretrain --heldout`
 * scores it (packed sequences of maxSeqLength, 15% masking with fixed masks, batches of batchSize: the masks
 * depend on both). With positionBucket, also per bucket of that many positions.
 */
export async function heldoutAccuracy(
  model: PretrainedModel,
  files: readonly string[],
  o: { maxSeqLength: number; batchSize: number; threads?: number; positionBucket?: number },
): Promise<{ accuracy: number; tokens: number; byPosition?: PositionBucket[] }> {
  const tok = model.tokenizer;
  if (!tok) throw new ConfigError("heldoutAccuracy: the model has no tokenizer");
  if (!model.arch.supportsMlm) throw new ConfigError(`heldoutAccuracy: ${model.cfg.modelType} has no masked-LM head in rose`);
  const seqs = await packLines(tok, readCorpusLines(files), o.maxSeqLength);
  return maskedAccuracy(
    model,
    seqs,
    mlmBatcherOptions(tok, o.batchSize, HELDOUT_MASK_SEED),
    o.threads,
    o.positionBucket != null ? { positionBucket: o.positionBucket } : {},
  );
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

function modelConfig(o: PretrainOptions, vocabSize: number): EncoderConfig {
  let raw: JsonObject;
  if (o.configFile) raw = readJsonFile<JsonObject>(o.configFile);
  else {
    const preset = PRESETS[o.config];
    if (!preset) throw new ConfigError(`config must be one of ${Object.keys(PRESETS).join(", ")}, got ${o.config}`, ["config"]);
    raw = {
      model_type: "bert",
      architectures: ["BertForMaskedLM"],
      ...preset,
      hidden_act: "gelu",
      hidden_dropout_prob: 0.1,
      attention_probs_dropout_prob: 0.1,
      max_position_embeddings: Math.max(512, o.maxSeqLength),
      type_vocab_size: 2,
      initializer_range: 0.02,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
    };
  }
  raw.vocab_size = vocabSize;
  return parseModelConfig(raw, o.configFile ?? `preset ${o.config}`);
}

export async function pretrain(opts: WithPartialRose<PretrainOptions> & { corpus: string[]; outputDir: string }): Promise<PretrainResult> {
  const { rose, ...rest } = opts;
  const o: PretrainOptions = { ...withDefaults<Omit<PretrainOptions, "rose">>(PRETRAIN_DEFAULTS, rest), rose: withRoseDefaults(rose) };
  if (!(o.mlmProbability > 0 && o.mlmProbability < 1))
    throw new ConfigError(`mlmProbability must be in (0, 1), got ${o.mlmProbability}`, ["mlmProbability"]);
  if (!SCHEDULES.includes(o.lrSchedule))
    throw new ConfigError(
      `lrSchedule (the learning-rate schedule) must be ${SCHEDULES.join(" or ")}, got ${JSON.stringify(o.lrSchedule)}`,
      ["lrSchedule"],
    );
  if (o.dropout != null && !(o.dropout >= 0 && o.dropout < 1))
    throw new ConfigError(`dropout must be in [0, 1), got ${o.dropout}`, ["dropout"]);
  validateRoseTrainOptions(o.rose);
  const log = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  // Options first: a bad preset or output folder must not wait for the corpus and the vocabulary.
  if (!o.configFile && !o.init && !PRESETS[o.config]) {
    throw new ConfigError(`unknown config ${o.config} (${Object.keys(PRESETS).join(", ")}, or configFile FILE)`, ["config", "configFile"]);
  }
  prepareRunDir(o.outputDir, { overwrite: o.overwriteOutputDir, resume: o.resume });
  const lines = readCorpusLines(o.corpus);

  // Tokenizer: the --init model's, the one a resumed run trained, or a new WordPiece vocabulary.
  let model: PretrainedModel;
  let tok: Tokenizer;
  if (o.init) {
    model = await PretrainedModel.load(dirFiles(o.init), { heads: ["mlm"], seed: o.seed });
    if (!model.arch.supportsMlm) throw new ConfigError(`${o.init}: ${model.cfg.modelType} has no masked-LM head in rose`);
    tok = model.tokenizer!;
  } else {
    const vocabDir = new RunDir(o.outputDir).path("vocab");
    if (!(o.resume && existsSync(join(vocabDir, "vocab.txt")))) {
      const t0 = performance.now();
      const v = await trainWordPiece(lines, { vocabSize: o.vocabSize, specialTokens: BERT_SPECIAL_TOKENS });
      writeVocabDir(vocabDir, v.vocab);
      log(
        `trained a WordPiece vocabulary of ${v.vocab.length} tokens on ${v.totalWords} words in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    tok = await Tokenizer.load(dirFiles(vocabDir));
    model = PretrainedModel.random(modelConfig(o, tok.vocabSize), tok, ["mlm"], o.seed);
  }
  const pack = (ls: string[]) => packLines(tok, ls, o.maxSeqLength);
  const sequences = await pack(lines);
  const corpusTokens = sequences.reduce((a, s) => a + s.length, 0);
  log(`corpus: ${lines.length} lines, ${corpusTokens} tokens in ${sequences.length} sequences of up to ${o.maxSeqLength}`);
  // Position embeddings past the packed length get no gradient (rose-mini's phases 1-4 left 128-511 untrained).
  const longest = sequences.reduce((a, q) => Math.max(a, q.length), 0);
  if (longest < model.cfg.maxPositionEmbeddings) {
    log(
      `note: this run trains positions 0-${longest - 1} of ${model.cfg.maxPositionEmbeddings}; inputs longer than ${longest} tokens will use position embeddings it did not train (end with a phase at a longer --max-seq-length if fine-tuning needs them)`,
    );
  }
  const batcherOpts = mlmBatcherOptions(tok, o.batchSize, o.seed);
  const batcher = new MlmBatcher(sequences, { ...batcherOpts, mlmProbability: o.mlmProbability });
  const heldoutSeqs = o.heldout.length ? await pack(readCorpusLines(o.heldout)) : null;

  const warmup = warmupStepsFromRatio(o.warmupRatio, o.maxSteps);
  const { optimizer, step } = await buildTraining(
    model,
    {
      lr: o.learningRate,
      betas: [0.9, o.adamBeta2],
      eps: 1e-6,
      weightDecay: o.weightDecay,
      method: o.rose.method,
      upper: o.rose.upper,
      lower: o.rose.lower,
      gamma: o.rose.gamma,
      granularity: o.rose.granularity,
      eligible: o.rose.eligible,
      numWarmupSteps: warmup,
    },
    {
      klDropout: o.rose.klDropout,
      rdropAlpha: 0,
      regression: false,
      threads: o.threads,
      ...(o.dropout != null ? { dropout: o.dropout } : {}),
    },
    maskedLm,
  );

  const evaluate = async (): Promise<{ accuracy: number; tokens: number } | null> =>
    heldoutSeqs ? maskedAccuracy(model, heldoutSeqs, mlmBatcherOptions(tok, o.batchSize, HELDOUT_MASK_SEED), o.threads) : null;
  let heldout: { accuracy: number; tokens: number } | null = null;
  let lastLoss = NaN;
  return runLoop(
    model,
    optimizer,
    step,
    {
      // Step-indexed batches (the batcher runs through its own epochs): one "epoch" of maxSteps.
      epochs: 1,
      batchesIn: () => o.maxSteps,
      batch: (_, i) => {
        const b = batcher.batchAt(i);
        const { positions, labels } = predictedPositions(b);
        return { batch: b, extra: mlmFeeds(b.batch, b.seq, positions, labels) };
      },
    },
    {
      label: "pretrain",
      outputDir: o.outputDir,
      totalSteps: o.maxSteps,
      gradientAccumulationSteps: 1,
      maxGradNorm: o.maxGradNorm,
      loggingSteps: o.loggingSteps,
      saveSteps: o.saveSteps,
      saveAtEnd: false,
      evalSteps: o.evalSteps,
      seed: o.seed,
      resume: o.resume,
      quiet: o.quiet,
      saveMasks: false,
      // Written once the run is complete (its presence makes --resume a no-op).
      resultFile: RUN_FILES.pretrainResult,
      lrAt: scheduleByName(o.lrSchedule, { baseLr: o.learningRate, warmupSteps: warmup, totalSteps: o.maxSteps }),
    },
    {
      trainRecord: (s) => {
        lastLoss = s.loss;
        return {
          loss: s.windowLoss,
          learning_rate: s.lr,
          grad_norm: s.gradNorm,
          tokens_per_s: +s.tokensPerSecond.toFixed(1),
          ...(o.rose.method !== "vanilla" ? { fraction_updated: s.fractionUpdated } : {}),
        };
      },
      progressFields: (s) => {
        lastLoss = s.loss;
        return { loss: s.loss, lr: s.lr.toExponential(2), "tok/s": Math.round(s.tokensPerSecond) };
      },
      evaluate: async (st) => {
        heldout = await evaluate();
        if (!heldout) return null;
        const last = st.globalStep >= o.maxSteps;
        return {
          record: { masked_accuracy: heldout.accuracy },
          ...(last ? {} : { message: `step ${st.globalStep}: held-out masked-token accuracy ${heldout.accuracy.toFixed(4)}` }),
        };
      },
      finish: async (st) => {
        model.save(dirSink(o.outputDir), { head: "MaskedLM" });
        const ev = heldout as { accuracy: number; tokens: number } | null;
        const result: PretrainResult = {
          steps: st.globalStep,
          loss: lastLoss,
          heldoutAccuracy: ev?.accuracy ?? null,
          heldoutTokens: ev?.tokens ?? 0,
          corpusTokens,
          sequences: sequences.length,
          seconds: st.trainSeconds,
          tokensPerSecond: (st.tokensSeen ?? 0) / Math.max(st.trainSeconds, 1e-9),
        };
        const { rose: r, ...args } = o;
        return { result, file: { ...result, args: { ...args, ...roseRecord(r) } } };
      },
      completed: ({ args: _, ...r }) => (r.steps === o.maxSteps ? (r as unknown as PretrainResult) : null),
    },
  );
}
