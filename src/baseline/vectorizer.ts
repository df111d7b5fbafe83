// Word n-gram features as scikit-learn's CountVectorizer and TfidfVectorizer compute them with their
// defaults: vocabulary sorted by term, min_df / max_df / max_features pruning, idf = ln((1 + n) / (1 + df)) + 1
// (smooth_idf), raw term counts (sublinear_tf off), rows scaled to unit L2 norm.
import { ConfigError } from "../errors.ts";
import { type Csr, CsrBuilder, scaleColumnsNormalizeRows } from "./sparse.ts";
import { wordNgrams, wordTokens } from "./text.ts";

/** A text, or a text pair (the second segment's features get their own prefix). */
export interface TextInput {
  text: string;
  pair?: string;
}

export interface VectorizerOptions {
  /** Smallest and largest n of the word n-grams. Default [1, 2]. */
  ngramRange: [number, number];
  /** Keep terms in at least this many training texts (an integer), or this share of them (in (0, 1)). Default 1. */
  minDf: number;
  /** Drop terms in more than this share of texts (in (0, 1]), or this many (an integer > 1). Default 1.0. */
  maxDf: number;
  /** Keep only the most frequent terms (by total count over the training texts); null keeps all. */
  maxFeatures: number | null;
  lowercase: boolean;
}

export const VECTORIZER_DEFAULTS: VectorizerOptions = { ngramRange: [1, 2], minDf: 1, maxDf: 1, maxFeatures: null, lowercase: true };

/** Marks the second segment's n-grams; ":" is never part of a token, so they cannot meet a first-segment term. */
export const PAIR_PREFIX = "pair:";

export function checkVectorizerOptions(o: VectorizerOptions): void {
  const [lo, hi] = o.ngramRange;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo))
    throw new ConfigError(`n-gram range must be two integers 1 <= min <= max, got ${lo},${hi}`);
  if (!(o.minDf > 0) || (o.minDf >= 1 && !Number.isInteger(o.minDf)))
    throw new ConfigError(`min-df must be an integer >= 1 or a share in (0, 1), got ${o.minDf}`);
  if (!(o.maxDf > 0) || (o.maxDf > 1 && !Number.isInteger(o.maxDf)))
    throw new ConfigError(`max-df must be a share in (0, 1] or an integer > 1, got ${o.maxDf}`);
  if (o.maxFeatures !== null && !(Number.isInteger(o.maxFeatures) && o.maxFeatures >= 1))
    throw new ConfigError(`max-features must be a positive integer, got ${o.maxFeatures}`);
}

/** The features of one input, one string per occurrence. */
export function inputTerms(x: TextInput, o: Pick<VectorizerOptions, "ngramRange" | "lowercase">): string[] {
  const terms = wordNgrams(wordTokens(x.text, o.lowercase), o.ngramRange);
  if (x.pair !== undefined) for (const t of wordNgrams(wordTokens(x.pair, o.lowercase), o.ngramRange, PAIR_PREFIX)) terms.push(t);
  return terms;
}

/** Fitted n-gram vocabulary with its idf weights. */
export class NgramVectorizer {
  private readonly index: Map<string, number>;

  constructor(
    readonly options: VectorizerOptions,
    /** Terms in column order (sorted, as scikit-learn's vocabulary_). */
    readonly vocabulary: readonly string[],
    /** Smoothed idf per column. */
    readonly idf: Float64Array,
  ) {
    if (idf.length !== vocabulary.length) throw new ConfigError(`vectorizer: ${vocabulary.length} terms but ${idf.length} idf weights`);
    this.index = new Map(vocabulary.map((t, i) => [t, i]));
  }

  get size(): number {
    return this.vocabulary.length;
  }

  /** Learns the vocabulary and idf from training inputs (see VectorizerOptions for the pruning). */
  static fit(inputs: readonly TextInput[], options: Partial<VectorizerOptions> = {}): NgramVectorizer {
    const o: VectorizerOptions = { ...VECTORIZER_DEFAULTS, ...options };
    checkVectorizerOptions(o);
    const n = inputs.length;
    if (n === 0) throw new ConfigError("cannot fit a vocabulary on no texts");
    const df = new Map<string, number>();
    const tf = new Map<string, number>();
    for (const x of inputs) {
      const seen = new Set<string>();
      for (const t of inputTerms(x, o)) {
        tf.set(t, (tf.get(t) ?? 0) + 1);
        seen.add(t);
      }
      for (const t of seen) df.set(t, (df.get(t) ?? 0) + 1);
    }
    const minCount = o.minDf >= 1 ? o.minDf : Math.ceil(o.minDf * n);
    const maxCount = o.maxDf > 1 ? o.maxDf : Math.floor(o.maxDf * n);
    if (maxCount < minCount)
      throw new ConfigError(`max-df ${o.maxDf} keeps fewer texts (${maxCount}) than min-df ${o.minDf} asks for (${minCount})`);
    let terms = [...df.keys()].filter((t) => df.get(t)! >= minCount && df.get(t)! <= maxCount).sort(codePointOrder);
    if (o.maxFeatures !== null && terms.length > o.maxFeatures) {
      // Most frequent first; equal counts keep the term order, so the cut is deterministic.
      const ranked = terms.map((t, i) => ({ t, i, c: tf.get(t)! })).sort((a, b) => b.c - a.c || a.i - b.i);
      terms = ranked
        .slice(0, o.maxFeatures)
        .map((r) => r.t)
        .sort(codePointOrder);
    }
    if (terms.length === 0)
      throw new ConfigError(
        `no n-gram is left after pruning (min-df ${o.minDf}, max-df ${o.maxDf}): the texts have no word of two or more letters or digits in common`,
      );
    const idf = Float64Array.from(terms, (t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
    return new NgramVectorizer(o, terms, idf);
  }

  /** Raw term counts, one row per input; terms outside the vocabulary are ignored. */
  counts(inputs: readonly TextInput[]): Csr {
    const b = new CsrBuilder(this.size);
    for (const x of inputs) {
      const cols: number[] = [];
      for (const t of inputTerms(x, this.options)) {
        const j = this.index.get(t);
        if (j !== undefined) cols.push(j);
      }
      b.addCounts(cols);
    }
    return b.build();
  }

  /** tf-idf rows of unit L2 norm (an input with no known term is a row of zeros). */
  tfidf(inputs: readonly TextInput[]): Csr {
    return scaleColumnsNormalizeRows(this.counts(inputs), this.idf);
  }
}

/** Python's string order (by code point), which scikit-learn's sorted vocabulary follows. */
function codePointOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i),
      y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

// UTF-16 unit order differs from code-point order only between surrogates and units >= U+E000: move
// surrogates above those units (the standard "fix-up" for comparing UTF-16 in code-point order).
function fixup(u: number): number {
  return u >= 0xe000 ? u - 0x800 : u >= 0xd800 ? u + 0x2000 : u;
}
