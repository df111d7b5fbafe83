// Attacking a model over a data file: load the model and data once, wrap the model in the attack interfaces,
// run recipes on the same set-up, summarise. `rose attack`, `rose robustness` and a sweep's robustness
// objective run their attacks through here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { customTask, type Task } from "../data/tasks.ts";
import { Rng } from "../engine/rng.ts";
import { ConfigError, DataError } from "../errors.ts";
import type { ResolveModelOptions } from "../node/hub.ts";
import { labelMismatchWarning, seqLengthWarning, untrainedHeadWarning } from "../models/checks.ts";
import { PretrainedModel, applyTruncation } from "../models/pretrained.ts";
import { Predictor } from "../infer/predictor.ts";
import { DEFAULT_MODEL, resolveModelDir } from "../node/model-ref.ts";
import { type DataOptions, readData, taskByName } from "../data/task-data.ts";
import type { AttackResultRecord } from "../node/run-dir.ts";
import { MlmFiller, ModelClassifier, ModelSentenceEncoder } from "./adapters.ts";
import { runAttack } from "./attack.ts";
import { loadNeighbors, type NeighborTable } from "./neighbors.ts";
import { buildAttack, isRecipeName, RECIPE_NAMES, type RecipeName } from "./recipes.ts";
import { summarize, type AttackSummary } from "./report.ts";
import type { AttackExample, AttackResult, AttackStats, MaskedWordFiller, SentenceEncoder } from "./types.ts";
import { WordNet } from "./wordnet.ts";
import type { Truncation } from "../io/tokenizer.ts";
import { dirFiles } from "../node/files.ts";
import { maxInputLength } from "../io/config.ts";

/** Examples attacked when the caller does not say. */
export const DEFAULT_NUM_EXAMPLES = 100;

const NEEDS_NEIGHBORS: ReadonlySet<RecipeName> = new Set(["textfooler", "textbugger"]);
const NEEDS_MLM: ReadonlySet<RecipeName> = new Set(["bert-attack", "bae"]);
const NEEDS_WORDNET: ReadonlySet<RecipeName> = new Set(["pwws", "textfooler", "bae"]);
const USES_SIMILARITY: ReadonlySet<RecipeName> = new Set(["textfooler", "textbugger", "bert-attack", "bae"]);

export interface ModelSource {
  /** A model directory or Hub id (default: the shipped model), or an already loaded model. */
  model?: string | PretrainedModel;
  hub?: ResolveModelOptions;
}

export interface AttackSetupOptions extends ModelSource, DataOptions {
  /** GLUE task or custom (default: custom, labels from the model's id2label). */
  task?: string;
  data: string;
  /** How many examples to attack (default DEFAULT_NUM_EXAMPLES; more than the file holds = all). */
  numExamples?: number;
  /** Attack a seeded random sample instead of the first examples in file order. */
  shuffle?: boolean;
  /** Seed of the sample and of the random character edits (default 0). */
  seed?: number;
  queryBudget?: number;
  /** Counter-fitted neighbour file (or table) for textfooler / textbugger. */
  neighbors?: string | NeighborTable;
  /** Masked LM for bert-attack / bae: a directory or Hub id, or a filler (default: the shipped model). */
  mlm?: string | MaskedWordFiller;
  /** Use the classifier's mean-pooled embeddings for the recipes' sentence-similarity bound (default true). */
  similarity?: boolean;
  /** For pair tasks, attack the first text instead of the second. */
  attackFirst?: boolean;
  batchSize?: number;
  maxSeqLength?: number;
  /** Which tokens of a long text the attacked model reads (default: its tokenizer's). */
  truncation?: Truncation;
  threads?: number;
  /** Notices (newly initialised heads, sample size). */
  log?: (line: string) => void;
  /**
   * Attack a model loaded from a directory whose classifier head is newly initialised (random predictions,
   * so meaningless robustness numbers); refused otherwise.
   */
  allowUntrainedHead?: boolean;
}

/** What a run is about to do, given before the first example. */
export interface AttackStart {
  recipe: RecipeName;
  total: number;
  labelNames: readonly string[];
  description: string;
}

export interface AttackModelOptions extends AttackSetupOptions {
  recipe: string;
  onStart?: (info: AttackStart) => void;
  onProgress?: (done: number, total: number, result: AttackResult) => void;
}

export interface AttackModelResult {
  recipe: RecipeName;
  task: string;
  /** Class names by id, for printing. */
  labelNames: readonly string[];
  /** The attack's components, one per line. */
  description: string;
  results: AttackResult[];
  summary: AttackSummary;
  stats: AttackStats;
}

/** Everything a recipe runs against, loaded once and shared by several recipes. */
export interface AttackSetup {
  task: Task;
  labelNames: readonly string[];
  classifier: ModelClassifier;
  encoder: SentenceEncoder | undefined;
  examples: AttackExample[];
  unkToken: string;
  neighbors?: NeighborTable;
  filler?: MaskedWordFiller;
  wordnet?: WordNet;
  /** Frees the sessions compiled for this setup. */
  release(): Promise<void>;
}

// Options are checked before the model and data load (seconds to minutes).
export function checkRecipes(names: readonly string[], o: AttackSetupOptions): RecipeName[] {
  const n = o.numExamples ?? DEFAULT_NUM_EXAMPLES;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`number of examples must be a positive integer, got ${n}`);
  if (names.length === 0) throw new ConfigError(`no attack recipe given; known: ${RECIPE_NAMES.join(", ")}`);
  return names.map((n) => {
    if (!isRecipeName(n)) throw new ConfigError(`unknown attack recipe "${n}"; known: ${RECIPE_NAMES.join(", ")}`);
    if (NEEDS_NEIGHBORS.has(n) && o.neighbors === undefined) {
      throw new ConfigError(`${n} needs counter-fitted embedding neighbours: pass a neighbour file (neighbors FILE)`, ["neighbors"]);
    }
    return n;
  });
}

/** The masked LM for bert-attack / bae: the given one, or the shipped default model. */
async function loadFiller(o: AttackSetupOptions, maxLength: number): Promise<MaskedWordFiller> {
  if (o.mlm !== undefined && typeof o.mlm !== "string") return o.mlm;
  let dir: string;
  if (o.mlm === undefined) {
    if (!existsSync(join(DEFAULT_MODEL, "config.json"))) {
      throw new ConfigError(
        `bert-attack and bae need a masked language model and the default model ${DEFAULT_MODEL} is missing: pass mlm DIR (a BERT or RoBERTa checkpoint with a masked-LM head)`,
        ["mlm"],
      );
    }
    dir = DEFAULT_MODEL;
  } else {
    dir = await resolveModelDir({ model: o.mlm, hub: o.hub });
  }
  const filler = await MlmFiller.load(dir, { maxLength, threads: o.threads });
  if (filler.headIsNew)
    o.log?.(`warning: ${dir} has no masked-LM head weights; they were newly initialised, so its word proposals are arbitrary`);
  return filler;
}

function sample<T>(xs: readonly T[], n: number, shuffle: boolean, seed: number): T[] {
  if (!shuffle) return xs.slice(0, n);
  return new Rng(seed, 0x5a3b1e).shuffle([...xs]).slice(0, n);
}

/** Loads the model, the examples and what the recipes need; release() it after the last attackWith. */
export async function setup(o: AttackSetupOptions, recipes: readonly RecipeName[]): Promise<AttackSetup> {
  const model = typeof o.model === "object" ? o.model : await loadAttacked(o);
  applyTruncation(model, o.truncation);
  if (!model.tokenizer) throw new ConfigError("the model has no tokenizer: attacks work on text");
  const cfg = model.cfg;
  let task = taskByName(o.task, cfg.problemType === "regression");
  if (task.isRegression) throw new ConfigError(`attacks need a classification task; ${task.name} is a regression task`);
  if (task.name === "custom") task = customTask({ labels: cfg.id2label });
  const labelNames = task.labels ?? cfg.id2label;
  if (labelNames.length !== cfg.numLabels) {
    throw new ConfigError(
      `task ${task.name} has ${labelNames.length} labels (${labelNames.join(", ")}) but the model has ${cfg.numLabels} (${cfg.id2label.join(", ")})`,
    );
  }

  if (task.labels) {
    const w = labelMismatchWarning(task.name, task.labels, cfg.id2label);
    if (w) o.log?.(`warning: ${w}`);
  }
  const long = seqLengthWarning(o.maxSeqLength, cfg);
  if (long) o.log?.(`warning: ${long}`);

  const n = o.numExamples ?? DEFAULT_NUM_EXAMPLES;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`number of examples must be a positive integer, got ${n}`);
  const { examples: all } = await readData(o.data, task, o, o.log);
  const unlabelled = all.find((e) => e.label === null);
  if (unlabelled) throw new DataError(o.data, unlabelled.line, "unlabelled example: attacks need the gold label of every example");
  if (all.length === 0) throw new DataError(o.data, null, "no examples");
  if (n > all.length) o.log?.(`${o.data}: ${all.length} examples, attacking all of them`);
  const picked = sample(all, Math.min(n, all.length), o.shuffle ?? false, o.seed ?? 0);
  const examples: AttackExample[] = picked.map((e) => ({
    input: e.pair === undefined ? { text: e.text } : { text: e.text, pair: e.pair },
    label: e.label!,
  }));

  const maxLength = maxInputLength(cfg, o.maxSeqLength ?? 128);
  const predictor = new Predictor(model, { batchSize: o.batchSize ?? 64, maxLength, threads: o.threads });
  const needSim = (o.similarity ?? true) && recipes.some((r) => USES_SIMILARITY.has(r));
  const s: AttackSetup = {
    task,
    labelNames,
    classifier: new ModelClassifier(predictor),
    encoder: needSim ? new ModelSentenceEncoder(predictor) : undefined,
    examples,
    unkToken: model.tokenizer.specialTokens.unk,
    async release() {
      await predictor.release();
      if (s.filler instanceof MlmFiller) await s.filler.release();
    },
  };
  if (recipes.some((r) => NEEDS_NEIGHBORS.has(r))) {
    s.neighbors = typeof o.neighbors === "string" ? await loadNeighbors(o.neighbors) : o.neighbors;
  }
  if (recipes.some((r) => NEEDS_MLM.has(r))) s.filler = await loadFiller(o, Math.min(o.maxSeqLength ?? 128, 512));
  // Start-up (WordNet parsing, graph compilation) happens here so attack stats time only the attack.
  if (recipes.some((r) => NEEDS_WORDNET.has(r))) s.wordnet = WordNet.load();
  const probe = examples[0]!.input;
  await s.classifier.predictProba([probe]);
  await s.encoder?.embed([probe.text]);
  if (s.filler instanceof MlmFiller) await s.filler.fill([s.filler.maskToken], 1);
  return s;
}

/**
 * Loads the attacked model by name. A model passed as an object may have been trained since it was
 * loaded, so only here can a newly initialised head be told apart.
 */
async function loadAttacked(o: AttackSetupOptions): Promise<PretrainedModel> {
  const dir = await resolveModelDir({ model: o.model as string | undefined, hub: o.hub });
  const model = await PretrainedModel.load(dirFiles(dir));
  const untrained = untrainedHeadWarning(model, dir);
  if (untrained && !o.allowUntrainedHead) {
    throw new ConfigError(`refusing to attack: ${untrained}; or pass allowUntrainedHead to attack it anyway`, ["allowUntrainedHead"]);
  }
  if (untrained) o.log?.(`warning: ${untrained}`);
  return model;
}

/** Runs one recipe on a set-up's examples. */
export async function attackWith(
  s: AttackSetup,
  recipe: RecipeName,
  o: AttackSetupOptions,
  onStart?: AttackModelOptions["onStart"],
  onProgress?: AttackModelOptions["onProgress"],
): Promise<AttackModelResult> {
  const attack = buildAttack(recipe, {
    neighbors: s.neighbors,
    filler: s.filler,
    encoder: s.encoder,
    wordnet: s.wordnet,
    queryBudget: o.queryBudget,
    seed: o.seed ?? 0,
    attackFirst: o.attackFirst,
    unkToken: s.unkToken,
    batchSize: o.batchSize,
  });
  onStart?.({ recipe, total: s.examples.length, labelNames: s.labelNames, description: attack.describe() });
  const run = await runAttack(attack, s.classifier, s.examples, { onProgress });
  return {
    recipe,
    task: s.task.name,
    labelNames: s.labelNames,
    description: attack.describe(),
    results: run.results,
    summary: summarize(run.results),
    stats: run.stats,
  };
}

/** Attacks the first (or a seeded sample of) `numExamples` examples of `data` with one recipe. */
export async function attackModel(o: AttackModelOptions): Promise<AttackModelResult> {
  const [recipe] = checkRecipes([o.recipe], o);
  const s = await setup(o, [recipe!]);
  try {
    return await attackWith(s, recipe!, o, o.onStart, o.onProgress);
  } finally {
    await s.release();
  }
}

/** One attack result as a record of `rose attack --output` (JSON Lines). */
export function resultRecord(r: AttackResult, index: number, labelNames: readonly string[]): AttackResultRecord {
  const name = (l: number) => labelNames[l] ?? String(l);
  return {
    index,
    status: r.status,
    original_text: r.original.text,
    ...(r.original.pair !== undefined ? { original_pair: r.original.pair } : {}),
    perturbed_text: r.perturbed.text,
    ...(r.perturbed.pair !== undefined ? { perturbed_pair: r.perturbed.pair } : {}),
    attacked_field: r.attackedField,
    label: r.originalLabel,
    label_name: name(r.originalLabel),
    original_prediction: r.originalPrediction,
    perturbed_prediction: r.perturbedPrediction,
    queries: r.queries,
    num_words: r.numWords,
    perturbed_word_pct: r.perturbedWordPct,
    changes: r.changes,
  };
}
