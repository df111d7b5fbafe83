// A fitted bag-of-words classifier: the n-gram vectorizer plus a linear scorer (logistic regression over
// tf-idf rows, or multinomial naive Bayes over raw counts), saved as one JSON file.
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.ts";
import { readJsonFile, writeFileAtomic } from "../node/files.ts";
import { classScores, type LinearScores, softmaxInPlace } from "./logistic.ts";
import type { Csr } from "./sparse.ts";
import { NgramVectorizer, PAIR_PREFIX, type TextInput, type VectorizerOptions } from "./vectorizer.ts";

export type BaselineModelType = "logreg" | "nb";
export const BASELINE_MODEL_TYPES: readonly BaselineModelType[] = ["logreg", "nb"];

export const BASELINE_MODEL_FILE = "baseline_model.json";
const FORMAT = "rose-bag-of-words";

export interface BagOfWordsPrediction {
  label: string;
  prediction: number;
  probabilities: number[];
}

export interface BagOfWordsInfo {
  task: string;
  /** Logistic regression's C, or naive Bayes' alpha. */
  hyperparameters: Record<string, number>;
}

export class BagOfWords {
  constructor(
    readonly modelType: BaselineModelType,
    readonly vectorizer: NgramVectorizer,
    readonly scorer: LinearScores,
    readonly labels: readonly string[],
    readonly info: BagOfWordsInfo,
  ) {
    const want = vectorizer.size * scorer.outputs;
    if (scorer.weights.length !== want)
      throw new FormatError(
        "bag-of-words model",
        `${scorer.weights.length} weights for ${vectorizer.size} terms x ${scorer.outputs} outputs`,
      );
    if (scorer.outputs !== labels.length && !(scorer.outputs === 1 && labels.length === 2)) {
      throw new FormatError("bag-of-words model", `${scorer.outputs} outputs for ${labels.length} labels`);
    }
  }

  /** The feature rows this model scores: tf-idf (logistic regression) or raw counts (naive Bayes). */
  features(inputs: readonly TextInput[]): Csr {
    return this.modelType === "nb" ? this.vectorizer.counts(inputs) : this.vectorizer.tfidf(inputs);
  }

  /** Class probabilities per input, in label order. */
  probabilities(inputs: readonly TextInput[]): Float64Array[] {
    const x = this.features(inputs);
    const k = this.labels.length;
    const tmp = new Float64Array(this.scorer.outputs);
    const out: Float64Array[] = [];
    for (let r = 0; r < x.rows; r++) {
      const z = new Float64Array(k);
      classScores(x, r, this.scorer, k, z, tmp);
      softmaxInPlace(z);
      out.push(z);
    }
    return out;
  }

  predict(inputs: readonly TextInput[]): BagOfWordsPrediction[] {
    return this.probabilities(inputs).map((p) => {
      let best = 0;
      for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
      return { label: this.labels[best]!, prediction: best, probabilities: [...p] };
    });
  }

  toJSON(): Record<string, unknown> {
    const v = this.vectorizer,
      s = this.scorer;
    // Class-major rows, as scikit-learn's coef_ / feature_log_prob_.
    const coef = Array.from({ length: s.outputs }, (_, c) => Array.from({ length: v.size }, (_, j) => s.weights[j * s.outputs + c]!));
    return {
      format: FORMAT,
      version: 1,
      model_type: this.modelType,
      task: this.info.task,
      labels: this.labels,
      hyperparameters: this.info.hyperparameters,
      vectorizer: {
        token_pattern: "(?u)\\b\\w\\w+\\b",
        lowercase: v.options.lowercase,
        ngram_range: v.options.ngramRange,
        min_df: v.options.minDf,
        max_df: v.options.maxDf,
        max_features: v.options.maxFeatures,
        pair_prefix: PAIR_PREFIX,
        weighting: this.modelType === "nb" ? "counts" : "tfidf-l2",
        vocabulary: v.vocabulary,
        idf: [...v.idf],
      },
      classifier: { coef, intercept: [...s.bias] },
    };
  }

  /** Writes `dir/baseline_model.json`; returns its path. */
  save(dir: string): string {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, BASELINE_MODEL_FILE);
    writeFileAtomic(file, `${JSON.stringify(this.toJSON())}\n`);
    return file;
  }

  /** Reads a model saved by `save`: its directory or the JSON file itself. */
  static load(path: string): BagOfWords {
    let file = path;
    try {
      if (statSync(path).isDirectory()) file = join(path, BASELINE_MODEL_FILE);
    } catch {
      throw new FormatError(path, "no such file or directory (expected a bag-of-words model directory or its baseline_model.json)");
    }
    return BagOfWords.fromJSON(readJsonFile(file), file);
  }

  static fromJSON(json: unknown, file = "bag-of-words model"): BagOfWords {
    const bad = (what: string): never => {
      throw new FormatError(file, `not a rose bag-of-words model: ${what}`);
    };
    const o = obj(json) ?? bad("not a JSON object");
    if (o.format !== FORMAT) bad(`"format" is ${JSON.stringify(o.format)}, expected "${FORMAT}"`);
    if (o.version !== 1) bad(`unsupported version ${JSON.stringify(o.version)}`);
    const type = o.model_type as BaselineModelType;
    if (!BASELINE_MODEL_TYPES.includes(type)) bad(`"model_type" must be one of ${BASELINE_MODEL_TYPES.join(", ")}`);
    const labels = strings(o.labels) ?? bad(`"labels" must be an array of strings`);
    const vz = obj(o.vectorizer) ?? bad(`"vectorizer" is missing`);
    const vocabulary = strings(vz.vocabulary) ?? bad(`"vectorizer.vocabulary" must be an array of strings`);
    const idf = numbers(vz.idf) ?? bad(`"vectorizer.idf" must be an array of numbers`);
    const range = numbers(vz.ngram_range);
    if (range?.length !== 2) bad(`"vectorizer.ngram_range" must be [min, max]`);
    const options: VectorizerOptions = {
      ngramRange: [range![0]!, range![1]!],
      lowercase: vz.lowercase !== false,
      minDf: typeof vz.min_df === "number" ? vz.min_df : 1,
      maxDf: typeof vz.max_df === "number" ? vz.max_df : 1,
      maxFeatures: typeof vz.max_features === "number" ? vz.max_features : null,
    };
    const cl = obj(o.classifier) ?? bad(`"classifier" is missing`);
    const coef = Array.isArray(cl.coef)
      ? cl.coef.map((r) => numbers(r) ?? bad(`"classifier.coef" rows must be arrays of numbers`))
      : bad(`"classifier.coef" must be an array of rows`);
    const bias = numbers(cl.intercept) ?? bad(`"classifier.intercept" must be an array of numbers`);
    const k = coef.length;
    if (bias.length !== k) bad(`${k} coefficient rows but ${bias.length} intercepts`);
    const weights = new Float64Array(vocabulary.length * k);
    coef.forEach((row, c) => {
      if (row.length !== vocabulary.length) bad(`coefficient row ${c} has ${row.length} values for ${vocabulary.length} terms`);
      row.forEach((w, j) => {
        weights[j * k + c] = w;
      });
    });
    const hp = obj(o.hyperparameters) ?? {};
    const info: BagOfWordsInfo = {
      task: typeof o.task === "string" ? o.task : "custom",
      hyperparameters: Object.fromEntries(Object.entries(hp).filter((e): e is [string, number] => typeof e[1] === "number")),
    };
    return new BagOfWords(
      type,
      new NgramVectorizer(options, vocabulary, Float64Array.from(idf)),
      { outputs: k, weights, bias: Float64Array.from(bias) },
      labels,
      info,
    );
  }
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function strings(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((s) => typeof s === "string") ? (v as string[]) : null;
}

function numbers(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((s) => typeof s === "number" && Number.isFinite(s)) ? (v as number[]) : null;
}
