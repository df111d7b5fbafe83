// Constraints (TextAttack's): pre-transformation constraints decide which words may be modified at
// all; candidate constraints filter the transformed texts of one position, in one batch.

import { RoseError } from "../errors.ts";
import type { ExampleContext } from "./context.ts";
import type { SentenceEncoder } from "./types.ts";
import { WordNet, type WordNetPos } from "./wordnet.ts";
import { levenshtein, NLTK_STOPWORDS, stopKey, type PerturbedText } from "./words.ts";

export interface PreTransformationConstraint {
  readonly name: string;
  /** May word `index` of `state` be modified now? */
  allows(state: PerturbedText, index: number): boolean;
}

/** One transformed text: word `index` of the current text swapped for `word`. */
export interface Candidate {
  index: number;
  word: string;
  state: PerturbedText;
  /** Set by the sentence-similarity constraint; the search prefers the most similar success. */
  similarity?: number;
}

export interface Constraint {
  readonly name: string;
  filter(candidates: Candidate[], current: PerturbedText, original: PerturbedText, ctx: ExampleContext): Candidate[] | Promise<Candidate[]>;
}

/** Stop words are never modified. */
export class StopwordModification implements PreTransformationConstraint {
  readonly name = "stopwords";
  constructor(readonly stopwords: ReadonlySet<string> = NLTK_STOPWORDS) {}
  allows(state: PerturbedText, index: number): boolean {
    return !this.stopwords.has(stopKey(state.base.lower[index]!));
  }
}

/** Each word is modified at most once. */
export class RepeatModification implements PreTransformationConstraint {
  readonly name = "repeat";
  allows(state: PerturbedText, index: number): boolean {
    return !state.isModified(index);
  }
}

/**
 * At most ceil(maxPercent * words) and at most maxNum words modified (TextAttack's
 * MaxWordsPerturbed; BERT-Attack: 40%).
 */
export class MaxWordsPerturbed implements PreTransformationConstraint {
  readonly name = "max-words-perturbed";
  constructor(readonly opt: { maxPercent?: number; maxNum?: number }) {
    if (opt.maxPercent === undefined && opt.maxNum === undefined) throw new RoseError("MaxWordsPerturbed needs maxPercent or maxNum");
  }
  limit(numWords: number): number {
    const byPct = this.opt.maxPercent === undefined ? Infinity : Math.ceil(numWords * this.opt.maxPercent);
    return Math.min(byPct, this.opt.maxNum ?? Infinity);
  }
  allows(state: PerturbedText, index: number): boolean {
    const extra = state.isModified(index) ? 0 : 1;
    return state.modified.length + extra <= this.limit(state.numWords);
  }
}

/**
 * Edit distance to the original text at most `maxDistance` (DeepWordBug: 30). Measured as the sum
 * of per-word distances: separators never change, so this is the word-aligned edit distance and
 * never below the exact Levenshtein distance of the texts (the bound is at least as strict).
 */
export class LevenshteinEditDistance implements Constraint {
  readonly name = "levenshtein";
  constructor(readonly maxDistance: number) {}
  filter(candidates: Candidate[]): Candidate[] {
    return candidates.filter((c) => {
      const { base, words, modified } = c.state;
      let d = 0;
      for (const i of modified) d += levenshtein(base.words[i]!, words[i]!);
      return d <= this.maxDistance;
    });
  }
}

/**
 * Part-of-speech agreement between the original word and its replacement (TextFooler, BAE).
 * Deviation: TextAttack tags both words in context with a POS tagger; we have none, so we compare
 * the parts of speech WordNet lists for the two words, allowing noun/verb swaps as the recipes do,
 * and let a word WordNet does not know pass.
 */
export class PartOfSpeechConstraint implements Constraint {
  readonly name = "part-of-speech";
  private wn: WordNet | undefined;
  constructor(
    wordnet?: WordNet,
    readonly allowVerbNounSwap = true,
  ) {
    this.wn = wordnet;
  }
  private classes(word: string): Set<string> {
    this.wn ??= WordNet.load();
    const merge = (p: WordNetPos): string => (this.allowVerbNounSwap && (p === "n" || p === "v") ? "nv" : p);
    return new Set([...this.wn.posOf(word)].map(merge));
  }
  filter(candidates: Candidate[]): Candidate[] {
    return candidates.filter((c) => {
      const a = this.classes(c.state.base.words[c.index]!);
      if (a.size === 0) return true;
      const b = this.classes(c.word);
      if (b.size === 0) return true;
      for (const x of b) if (a.has(x)) return true;
      return false;
    });
  }
}

export interface SentenceSimilarityOptions {
  threshold: number;
  /** "angular" = 1 - arccos(cos)/pi, as TextAttack's USE constraint offers. */
  metric: "cosine" | "angular";
  /** Compare windows of this many words around the swapped word; undefined: whole texts. */
  windowSize?: number;
  /** Texts shorter than the window always pass. */
  skipShorterThanWindow?: boolean;
  /** Compare with the original text (true) or with the text before this swap (false). */
  compareAgainstOriginal: boolean;
}

/**
 * Sentence-similarity bound. Deviation: TextAttack uses the Universal Sentence Encoder, which we
 * cannot fetch; the caller supplies a SentenceEncoder (e.g. the classifier encoder's mean-pooled
 * embedding) and the recipe's USE threshold is applied to its cosine/angular similarity, so the
 * bound is only comparable in spirit. Recipes add this constraint only when an encoder is given.
 */
export class SentenceSimilarity implements Constraint {
  readonly name = "sentence-similarity";
  private readonly cache = new Map<string, Float32Array>();
  constructor(
    private readonly encoder: SentenceEncoder,
    readonly opt: SentenceSimilarityOptions,
  ) {}

  private similarity(a: Float32Array, b: Float32Array): number {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    const cos = na === 0 || nb === 0 ? 0 : Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
    return this.opt.metric === "angular" ? 1 - Math.acos(cos) / Math.PI : cos;
  }

  async filter(candidates: Candidate[], current: PerturbedText, original: PerturbedText, ctx: ExampleContext): Promise<Candidate[]> {
    const ref = this.opt.compareAgainstOriginal ? original : current;
    const w = this.opt.windowSize;
    const pairs: Array<[string, string] | null> = candidates.map((c) => {
      if (w !== undefined && this.opt.skipShorterThanWindow && c.state.numWords < w) return null;
      return w === undefined ? [ref.text, c.state.text] : [ref.window(c.index, w), c.state.window(c.index, w)];
    });
    if (this.cache.size > 20000) this.cache.clear();
    const missing = new Set<string>();
    for (const p of pairs) if (p !== null) for (const t of p) if (!this.cache.has(t)) missing.add(t);
    if (missing.size > 0) {
      const texts = [...missing];
      const vecs = await ctx.clock.aux(() => this.encoder.embed(texts));
      if (vecs.length !== texts.length)
        throw new RoseError(`sentence encoder returned ${vecs.length} embeddings for ${texts.length} texts`);
      texts.forEach((t, i) => {
        this.cache.set(t, vecs[i]!);
      });
    }
    const out: Candidate[] = [];
    candidates.forEach((c, i) => {
      const p = pairs[i]!;
      const sim = p === null ? 1 : this.similarity(this.cache.get(p[0])!, this.cache.get(p[1])!);
      if (sim >= this.opt.threshold) out.push({ ...c, similarity: sim });
    });
    return out;
  }
}
