// `rose pretrain`: a masked language model pre-trained on the user's corpus files. This module resolves the
// command's inputs (the corpus and held-out files, the --init model or a new one with a WordPiece vocabulary
// trained on the corpus) and checks the output folder; pretrain/trainer.ts trains. The output is a
// BertForMaskedLM directory that `rose train` fine-tunes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { withDefaults } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { type JsonObject, parseModelConfig } from "../io/config.ts";
import { Tokenizer } from "../io/tokenizer.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { dirFiles, readJsonFile } from "../node/files.ts";
import { prepareRunDir } from "../node/outputs.ts";
import { RunDir } from "../node/run-dir.ts";
import { type WithPartialRose, withRoseDefaults } from "../optim/rose.ts";
import { readCorpusLines } from "../pretrain/corpus-files.ts";
import { PRESETS, presetConfig } from "../pretrain/masked-lm.ts";
import { packLines } from "../pretrain/mlm-data.ts";
import {
  PRETRAIN_TRAINER_DEFAULTS,
  type PretrainResult,
  PretrainTrainer,
  type PretrainTrainerOptions,
  validatePretrainTrainerOptions,
} from "../pretrain/trainer.ts";
import { BERT_SPECIAL_TOKENS, trainWordPiece, writeVocabDir } from "../pretrain/wordpiece.ts";

/** The command's options: its inputs, and the training options of pretrain/trainer.ts. */
export interface PretrainOptions extends Omit<PretrainTrainerOptions, "inputs"> {
  /** Plain-text corpus files (one document or paragraph per line). */
  corpus: string[];
  /** Architecture preset (PRESETS), unless configFile or init is given. */
  config: string;
  /** A Hugging Face config.json for the architecture. */
  configFile?: string;
  /** A masked-LM model folder to continue pre-training (its vocabulary is kept). */
  init?: string;
  /** WordPiece vocabulary size when training from scratch. */
  vocabSize: number;
  /** Length of the packed sequences. */
  maxSeqLength: number;
  /** Held-out text files for masked-token accuracy (evaluated every evalSteps and at the end). */
  heldout: string[];
  /** Clear a non-empty output folder first; without it (or resume) such a folder is refused. */
  overwriteOutputDir?: boolean;
}

export const PRETRAIN_DEFAULTS: PretrainOptions = {
  ...PRETRAIN_TRAINER_DEFAULTS,
  corpus: [],
  config: "mini",
  vocabSize: 8192,
  maxSeqLength: 128,
  heldout: [],
};

export async function pretrain(opts: WithPartialRose<PretrainOptions> & { corpus: string[]; outputDir: string }): Promise<PretrainResult> {
  const { rose, ...rest } = opts;
  const o: PretrainOptions = { ...withDefaults<Omit<PretrainOptions, "rose">>(PRETRAIN_DEFAULTS, rest), rose: withRoseDefaults(rose) };
  // Options first: a bad preset or output folder must not wait for the corpus and the vocabulary.
  validatePretrainTrainerOptions(o);
  if (!o.configFile && !o.init && !PRESETS[o.config]) {
    throw new ConfigError(`unknown config ${o.config} (${Object.keys(PRESETS).join(", ")}, or configFile FILE)`, ["config", "configFile"]);
  }
  prepareRunDir(o.outputDir, { overwrite: o.overwriteOutputDir, resume: o.resume });
  const lines = readCorpusLines(o.corpus);
  const model = await startingModel(o, lines);
  const tok = model.tokenizer!;
  const sequences = await packLines(tok, lines, o.maxSeqLength);
  describeCorpus(o, lines, sequences, model);
  const heldout = o.heldout.length ? await packLines(tok, readCorpusLines(o.heldout), o.maxSeqLength) : null;
  const { corpus, config, configFile, init, vocabSize, maxSeqLength, overwriteOutputDir, heldout: heldoutFiles, ...training } = o;
  const inputs = { corpus, config, configFile, init, vocabSize, maxSeqLength, heldout: heldoutFiles, overwriteOutputDir };
  return new PretrainTrainer(model, sequences, heldout, { ...training, inputs }).run();
}

function log(o: PretrainOptions, line: string): void {
  if (!o.quiet) process.stderr.write(`${line}\n`);
}

/** The model the run starts from: the --init model, or a new one with the corpus's vocabulary. */
async function startingModel(o: PretrainOptions, lines: readonly string[]): Promise<PretrainedModel> {
  if (o.init) {
    const model = await PretrainedModel.load(dirFiles(o.init), { heads: ["mlm"], seed: o.seed });
    if (!model.arch.supportsMlm) throw new ConfigError(`${o.init}: ${model.cfg.modelType} has no masked-LM head in rose`);
    if (!model.tokenizer) throw new ConfigError(`${o.init}: the model has no tokenizer, whose vocabulary pre-training keeps`);
    return model;
  }
  const tok = await corpusVocabulary(o, lines);
  const raw: JsonObject = o.configFile ? readJsonFile<JsonObject>(o.configFile) : presetConfig(o.config, o.maxSeqLength);
  raw.vocab_size = tok.vocabSize;
  return PretrainedModel.random(parseModelConfig(raw, o.configFile ?? `preset ${o.config}`), tok, ["mlm"], o.seed);
}

/** A WordPiece vocabulary trained on the corpus into the run folder's vocab/; a resumed run reuses the one there. */
async function corpusVocabulary(o: PretrainOptions, lines: readonly string[]): Promise<Tokenizer> {
  const vocabDir = new RunDir(o.outputDir).path("vocab");
  if (!(o.resume && existsSync(join(vocabDir, "vocab.txt")))) {
    const t0 = performance.now();
    const v = await trainWordPiece(lines, { vocabSize: o.vocabSize, specialTokens: BERT_SPECIAL_TOKENS });
    writeVocabDir(vocabDir, v.vocab);
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    log(o, `trained a WordPiece vocabulary of ${v.vocab.length} tokens on ${v.totalWords} words in ${seconds} s`);
  }
  return Tokenizer.load(dirFiles(vocabDir));
}

/** The corpus in tokens and sequences, and the positions this run leaves untrained. */
function describeCorpus(
  o: PretrainOptions,
  lines: readonly string[],
  sequences: readonly (readonly number[])[],
  model: PretrainedModel,
): void {
  const tokens = sequences.reduce((a, s) => a + s.length, 0);
  log(o, `corpus: ${lines.length} lines, ${tokens} tokens in ${sequences.length} sequences of up to ${o.maxSeqLength}`);
  // Position embeddings past the packed length get no gradient (rose-mini's phases 1-4 left 128-511 untrained).
  const longest = sequences.reduce((a, q) => Math.max(a, q.length), 0);
  const positions = model.cfg.maxPositionEmbeddings;
  if (longest < positions) {
    log(
      o,
      `note: this run trains positions 0-${longest - 1} of ${positions}; inputs longer than ${longest} tokens will use position embeddings it did not train (end with a phase at a longer --max-seq-length if fine-tuning needs them)`,
    );
  }
}
