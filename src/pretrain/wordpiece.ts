// WordPiece vocabulary training for rose's own BERT pre-training.
//
// Why not the `tokenizers` binding's trainer: its Node API (0.23) exposes no trainer constructor, only
// `Tokenizer.train(files)`, which runs the model's *default* WordPieceTrainer (vocab_size 30000, min_frequency 0,
// no special tokens, none of it configurable). Worse, the result is not reproducible: the Rust trainer assigns
// ids to "##x" characters in HashMap iteration order and breaks count ties by those ids, so two runs on the same
// file give different vocabularies (checked: different vocab hashes and even different sizes run to run).
// So the merges are done here. Normalisation uses the binding's BertNormalizer, the one the loader
// (src/io/tokenizer.ts) runs, and words are split exactly as its BertPreTokenizer does, so training sees the
// words inference sees.
//
// The algorithm: every word starts as its characters, "c" for the first and "##c" for the rest; the vocabulary
// is the special tokens, every character seen (plain and "##"), then greedy merges of the adjacent pair with the
// best score until vocabSize. Scores: "frequency" (default) is count(ab), what Hugging Face's Rust
// WordPieceTrainer does (it is its BPE trainer with a "##" continuation prefix); "wordpiece" is the textbook
// count(ab) / (count(a) * count(b)). The latter favours pairs of rare units and, measured on rose's corpus with
// 8000 pieces, spends the vocabulary on chains like "establishme", "establishmen" while "the" stays "th ##e":
// 4.25 tokens per held-out word against 1.46 for "frequency". Ties break on the higher pair count, then the
// lexicographically smaller pair.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { bertNormalizer } from "tokenizers";
import { ConfigError } from "../errors.ts";
import { writeFileAtomic } from "../node/files.ts";

export const BERT_SPECIAL_TOKENS: readonly string[] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

export interface WordPieceTrainOptions {
  /** Upper bound on the vocabulary size, special tokens included. */
  vocabSize: number;
  /** A pair is merged only if it occurs at least this often (default 2). */
  minFrequency?: number;
  /** BertNormalizer lower-casing (and accent stripping, which follows it); default true. */
  lowercase?: boolean;
  /** Special tokens, given the first ids in this order (default [PAD] [UNK] [CLS] [SEP] [MASK]). */
  specialTokens?: readonly string[];
  /** Merge score: "frequency" count(ab) (default, as Hugging Face's trainer) or "wordpiece" count(ab)/(count(a)count(b)). */
  score?: "wordpiece" | "frequency";
  /** Words longer than this many characters are skipped: the WordPiece model maps them to [UNK] anyway (default 100). */
  maxWordChars?: number;
  /** When given, the vocabulary directory is written here (see writeVocabDir). */
  outDir?: string;
}

export interface WordPieceVocab {
  /** Tokens in id order: special tokens, alphabet (plain then "##", each sorted), merged tokens in merge order. */
  vocab: string[];
  alphabetSize: number;
  merges: number;
  /** Distinct words trained on, and their total count. */
  distinctWords: number;
  totalWords: number;
}

export interface VocabDirOptions {
  lowercase?: boolean;
  modelMaxLength?: number;
}

/** The special tokens named in tokenizer_config.json; they must be in the vocabulary. */
const CONFIG_SPECIALS = { unk_token: "[UNK]", sep_token: "[SEP]", pad_token: "[PAD]", cls_token: "[CLS]", mask_token: "[MASK]" } as const;

/**
 * Writes a BERT tokenizer directory that Tokenizer.fromDir (and transformers' BertTokenizer) loads:
 * vocab.txt (one token per line, line number = id), tokenizer_config.json and special_tokens_map.json.
 */
export function writeVocabDir(dir: string, vocab: readonly string[], opts: VocabDirOptions = {}): void {
  const seen = new Set<string>();
  vocab.forEach((t, i) => {
    if (t.length === 0 || /\s/.test(t))
      throw new ConfigError(`vocabulary token ${i} (${JSON.stringify(t)}) is empty or contains whitespace; vocab.txt cannot hold it`);
    if (seen.has(t)) throw new ConfigError(`vocabulary token ${JSON.stringify(t)} appears twice (ids ${vocab.indexOf(t)} and ${i})`);
    seen.add(t);
  });
  for (const t of Object.values(CONFIG_SPECIALS)) if (!seen.has(t)) throw new ConfigError(`vocabulary has no ${t} token`);
  if (vocab[0] !== "[PAD]") throw new ConfigError(`[PAD] must have id 0 (the MLM batches pad with 0), found ${JSON.stringify(vocab[0])}`);
  mkdirSync(dir, { recursive: true });
  const lowercase = opts.lowercase ?? true;
  writeFileAtomic(join(dir, "vocab.txt"), `${vocab.join("\n")}\n`);
  const config = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: lowercase,
    strip_accents: null,
    tokenize_chinese_chars: true,
    model_max_length: opts.modelMaxLength ?? 512,
    ...CONFIG_SPECIALS,
  };
  writeFileAtomic(join(dir, "tokenizer_config.json"), `${JSON.stringify(config, null, 2)}\n`);
  writeFileAtomic(join(dir, "special_tokens_map.json"), `${JSON.stringify(CONFIG_SPECIALS, null, 2)}\n`);
}

const PREFIX = "##";
/** Pair keys pack two unit ids below 2^21 into one safe integer. */
const SHIFT = 2 ** 21;

interface Entry {
  score: number;
  count: number;
  key: number;
}

/** Binary max-heap with a caller-supplied "a comes before b" order. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(x: T): void {
    const h = this.items;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

// BertPreTokenizer's split, in JS: runs of non-space non-punctuation, and each punctuation character alone.
// Punctuation is Rust's is_ascii_punctuation (which includes $+<=>^`|~) or Unicode P*; whitespace after
// BertNormalizer is plain Unicode whitespace. Calling the native pre-tokenizer per line costs 4x the whole
// training (one JS tuple per word crosses N-API); a test checks this split matches it.
const BERT_WORD = /[\p{P}$+<=>^`|~]|[^\s\p{P}$+<=>^`|~]+/gu;

/** The words BertNormalizer + BertPreTokenizer make of `text`. */
export function bertWords(normalized: string): string[] {
  return normalized.match(BERT_WORD) ?? [];
}

/** Counts the BERT-normalised, pre-tokenised words of `lines`, in first-seen order. */
async function countWords(
  lines: Iterable<string> | AsyncIterable<string>,
  lowercase: boolean,
  maxWordChars: number,
): Promise<{ counts: Map<string, number>; total: number }> {
  const normalizer = bertNormalizer({ lowercase });
  const counts = new Map<string, number>();
  let total = 0;
  for await (const line of lines) {
    if (typeof line !== "string") throw new ConfigError(`trainWordPiece: lines must be strings, got ${typeof line}`);
    if (line.trim() === "") continue;
    for (const word of bertWords(normalizer.normalizeString(line))) {
      total++;
      if (word.length > maxWordChars && [...word].length > maxWordChars) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return { counts, total };
}

function checkTrainOptions(opts: WordPieceTrainOptions): void {
  const { vocabSize, minFrequency = 2, maxWordChars = 100 } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize >= SHIFT / 2)
    throw new ConfigError(`vocabSize must be an integer in [1, ${SHIFT / 2}), got ${vocabSize}`);
  if (!Number.isInteger(minFrequency) || minFrequency < 1)
    throw new ConfigError(`minFrequency must be a positive integer, got ${minFrequency}`);
  if (!Number.isInteger(maxWordChars) || maxWordChars < 1)
    throw new ConfigError(`maxWordChars must be a positive integer, got ${maxWordChars}`);
  if (opts.score !== undefined && opts.score !== "wordpiece" && opts.score !== "frequency")
    throw new ConfigError(`score must be "wordpiece" or "frequency", got ${JSON.stringify(opts.score)}`);
  const specials = opts.specialTokens ?? BERT_SPECIAL_TOKENS;
  if (new Set(specials).size !== specials.length) throw new ConfigError(`special tokens listed twice: ${specials.join(" ")}`);
}

/** Trains a WordPiece vocabulary on `lines` (see the file comment); deterministic for the same lines and options. */
export async function trainWordPiece(
  lines: Iterable<string> | AsyncIterable<string>,
  opts: WordPieceTrainOptions,
): Promise<WordPieceVocab> {
  checkTrainOptions(opts);
  const { vocabSize, minFrequency = 2, lowercase = true, score = "frequency", maxWordChars = 100 } = opts;
  const specials = [...(opts.specialTokens ?? BERT_SPECIAL_TOKENS)];
  const { counts, total } = await countWords(lines, lowercase, maxWordChars);
  const alphabet = alphabetOf(counts, specials, vocabSize);
  const table = new MergeTable(alphabet, counts, score, minFrequency);
  const vocabSet = new Set<string>([...specials, ...alphabet]);
  const merged: string[] = [];
  let merges = 0;
  while (vocabSet.size < vocabSize) {
    const key = table.popBest();
    if (key === null) break;
    const token = table.merge(key);
    merges++;
    if (!vocabSet.has(token)) {
      vocabSet.add(token);
      merged.push(token);
    }
  }
  const vocab = [...specials, ...alphabet, ...merged];
  if (opts.outDir !== undefined) writeVocabDir(opts.outDir, vocab, { lowercase });
  return { vocab, alphabetSize: alphabet.length, merges, distinctWords: counts.size, totalWords: total };
}

/**
 * Every character seen, plain and "##", so no seen character is ever [UNK] wherever it falls in a word;
 * refuses a vocabulary too small to hold them and the special tokens.
 */
function alphabetOf(counts: ReadonlyMap<string, number>, specials: readonly string[], vocabSize: number): string[] {
  const chars = new Set<string>();
  for (const w of counts.keys()) for (const c of w) chars.add(c);
  const sorted = [...chars].sort();
  const alphabet = [...sorted, ...sorted.map((c) => PREFIX + c)].filter((t) => !specials.includes(t));
  if (specials.length + alphabet.length > vocabSize) {
    throw new ConfigError(
      `vocabSize ${vocabSize} cannot hold the ${specials.length} special tokens and the ${alphabet.length} characters (plain and ##) of the training text`,
    );
  }
  return alphabet;
}

/**
 * The words segmented into units, the counts of units and of adjacent unit pairs, and a heap of pairs by
 * score, all kept up to date merge by merge.
 */
class MergeTable {
  /** The tokens words are segmented into. Ids index `units`; the vocabulary is specials + units in order. */
  private readonly units: string[];
  private readonly unitId: Map<string, number>;
  private readonly unitCount: number[];
  private readonly words: number[][] = [];
  private readonly freqs: number[] = [];
  private readonly pairCount = new Map<number, number>();
  private readonly pairWords = new Map<number, Set<number>>();
  private readonly unitPairs: Set<number>[];
  private readonly heap: Heap<Entry>;

  constructor(
    alphabet: readonly string[],
    counts: ReadonlyMap<string, number>,
    private readonly score: "wordpiece" | "frequency",
    private readonly minFrequency: number,
  ) {
    this.units = [...alphabet];
    this.unitId = new Map<string, number>(this.units.map((u, i) => [u, i]));
    this.unitCount = new Array<number>(this.units.length).fill(0);
    this.unitPairs = this.units.map(() => new Set<number>());
    this.heap = new Heap<Entry>((x, y) =>
      x.score !== y.score ? x.score > y.score : x.count !== y.count ? x.count > y.count : this.lexBefore(x.key, y.key),
    );
    for (const [w, f] of counts) {
      const ids: number[] = [];
      let first = true;
      for (const c of w) {
        ids.push(this.unitId.get(first ? c : PREFIX + c)!);
        first = false;
      }
      for (const id of ids) this.unitCount[id]! += f;
      this.words.push(ids);
      this.freqs.push(f);
    }
    this.words.forEach((ids, w) => {
      for (let i = 0; i + 1 < ids.length; i++) this.addPair(ids[i]!, ids[i + 1]!, w, this.freqs[w]!);
    });
    for (const k of this.pairCount.keys()) this.pushPair(k);
  }

  /** The key of the best pair still at minFrequency, or null when none is left. */
  popBest(): number | null {
    while (this.heap.size > 0) {
      const e = this.heap.pop()!;
      const cur = this.pairCount.get(e.key) ?? 0;
      // Every change to a pair's count or its units' counts pushed a fresh entry, so a mismatch means stale.
      if (cur === e.count && cur >= this.minFrequency && this.scoreOf(e.key, cur) === e.score) return e.key;
    }
    return null;
  }

  /** Replaces the pair in every word holding it by one unit, and updates the counts; returns the merged token. */
  merge(key: number): string {
    const a = Math.floor(key / SHIFT);
    const b = key % SHIFT;
    const token = this.units[a]! + this.units[b]!.slice(PREFIX.length);
    const c = this.unitOf(token);
    const changed = new Set<number>();
    for (const w of this.pairWords.get(key) ?? []) this.mergeInWord(w, a, b, c, changed);
    this.pairWords.delete(key);
    if (this.score === "wordpiece") {
      // Scores of all pairs touching a, b or c moved with those units' counts.
      for (const u of new Set([a, b, c])) {
        for (const k of this.unitPairs[u]!) {
          if ((this.pairCount.get(k) ?? 0) <= 0) this.unitPairs[u]!.delete(k);
          else changed.add(k);
        }
      }
    }
    for (const k of changed) {
      if ((this.pairCount.get(k) ?? 0) <= 0) {
        this.pairCount.delete(k);
        this.pairWords.delete(k);
      } else this.pushPair(k);
    }
    return token;
  }

  /** Word `w` with every (a, b) replaced by c; the pairs whose counts changed go to `changed`. */
  private mergeInWord(w: number, a: number, b: number, c: number, changed: Set<number>): void {
    const ids = this.words[w]!;
    const f = this.freqs[w]!;
    const next: number[] = [];
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
        next.push(c);
        i++;
        n++;
      } else next.push(ids[i]!);
    }
    if (n === 0) return;
    for (let i = 0; i + 1 < ids.length; i++) {
      const k = ids[i]! * SHIFT + ids[i + 1]!;
      this.pairCount.set(k, this.pairCount.get(k)! - f);
      changed.add(k);
    }
    for (let i = 0; i + 1 < next.length; i++) changed.add(this.addPair(next[i]!, next[i + 1]!, w, f));
    this.unitCount[a]! -= n * f;
    this.unitCount[b]! -= n * f;
    this.unitCount[c]! += n * f;
    this.words[w] = next;
  }

  /** The id of `token`, a new unit if it is not one yet. */
  private unitOf(token: string): number {
    let c = this.unitId.get(token);
    if (c === undefined) {
      c = this.units.length;
      this.units.push(token);
      this.unitId.set(token, c);
      this.unitCount.push(0);
      this.unitPairs.push(new Set());
    }
    return c;
  }

  private addPair(a: number, b: number, w: number, f: number): number {
    const k = a * SHIFT + b;
    this.pairCount.set(k, (this.pairCount.get(k) ?? 0) + f);
    let ws = this.pairWords.get(k);
    if (!ws) {
      ws = new Set();
      this.pairWords.set(k, ws);
    }
    ws.add(w);
    this.unitPairs[a]!.add(k);
    this.unitPairs[b]!.add(k);
    return k;
  }

  private pushPair(k: number): void {
    const c = this.pairCount.get(k) ?? 0;
    if (c >= this.minFrequency) this.heap.push({ score: this.scoreOf(k, c), count: c, key: k });
  }

  private scoreOf(k: number, count: number): number {
    return this.score === "frequency" ? count : count / (this.unitCount[Math.floor(k / SHIFT)]! * this.unitCount[k % SHIFT]!);
  }

  private lexBefore(x: number, y: number): boolean {
    const xa = this.units[Math.floor(x / SHIFT)]!;
    const ya = this.units[Math.floor(y / SHIFT)]!;
    if (xa !== ya) return xa < ya;
    return this.units[x % SHIFT]! < this.units[y % SHIFT]!;
  }
}
