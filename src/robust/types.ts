// Interfaces between the attack code and the models it attacks. The real classifier, masked LM and
// sentence encoder are built elsewhere; everything in src/robust/ is written against these.

export interface AttackInput {
  text: string;
  pair?: string;
}

/** A classifier that returns class probabilities for a batch of inputs (one forward per call). */
export interface TextClassifier {
  readonly numLabels: number;
  predictProba(inputs: AttackInput[]): Promise<Float32Array[]>;
  /**
   * How many leading words of a single text (split as `SegmentedText` splits it: text = seps[0] + words[0] +
   * seps[1] + ...) the classifier reads, at least in part; the rest is truncated away, and an attack does not
   * spend queries on it. Absent: every word is read.
   */
  wordsRead?(words: readonly string[], seps: readonly string[]): Promise<number>;
}

/**
 * A masked language model for BERT-Attack / BAE: for each text containing exactly one `maskToken`,
 * the top-k replacement words (whole words, no subword pieces "##..."), best first.
 */
export interface MaskedWordFiller {
  readonly maskToken: string;
  fill(texts: string[], k: number): Promise<string[][]>;
}

/**
 * Sentence embeddings for the similarity constraints. TextAttack uses the Universal Sentence
 * Encoder, which cannot be fetched here; the caller passes e.g. the classifier encoder's
 * mean-pooled embedding instead.
 */
export interface SentenceEncoder {
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** One labelled example to attack. */
export interface AttackExample {
  input: AttackInput;
  label: number;
}

export type AttackStatus = "succeeded" | "failed" | "skipped";

/** One swapped word of the attacked text. */
export interface WordChange {
  /** Index among the words of the attacked field. */
  index: number;
  original: string;
  perturbed: string;
}

export interface AttackResult {
  original: AttackInput;
  /** The final text (the adversarial example when succeeded; the best partial one when failed). */
  perturbed: AttackInput;
  originalLabel: number;
  originalPrediction: number;
  perturbedPrediction: number;
  status: AttackStatus;
  /** Unique model inputs evaluated for this example (the original included). */
  queries: number;
  /** Modified words / words of the attacked field, in percent. */
  perturbedWordPct: number;
  /** Words in the attacked field. */
  numWords: number;
  /** Which field was attacked. */
  attackedField: "text" | "pair";
  changes: WordChange[];
}

/** Where the time of an attack run went (milliseconds). */
export interface AttackStats {
  /** Time inside TextClassifier.predictProba. */
  modelMs: number;
  /** Time inside MaskedWordFiller.fill and SentenceEncoder.embed. */
  auxModelMs: number;
  /** Wall time of the whole run. */
  totalMs: number;
  /** predictProba calls. */
  modelCalls: number;
  /** Inputs sent to predictProba (= unique queries over all examples). */
  modelInputs: number;
}

export interface AttackRun {
  results: AttackResult[];
  stats: AttackStats;
}
