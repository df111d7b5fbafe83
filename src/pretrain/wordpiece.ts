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

  // Alphabet: every character seen, plain and "##", so no seen character is ever [UNK] wherever it falls in a word.
  const chars = new Set<string>();
  for (const w of counts.keys()) for (const c of w) chars.add(c);
  const sorted = [...chars].sort();
  const alphabet = [...sorted, ...sorted.map((c) => PREFIX + c)].filter((t) => !specials.includes(t));
  if (specials.length + alphabet.length > vocabSize) {
    throw new ConfigError(
      `vocabSize ${vocabSize} cannot hold the ${specials.length} special tokens and the ${alphabet.length} characters (plain and ##) of the training text`,
    );
  }

  // Units: the tokens words are segmented into. Ids index `units`; the vocabulary is specials + units in order.
  const units: string[] = [...alphabet];
  const unitId = new Map<string, number>(units.map((u, i) => [u, i]));
  const unitCount: number[] = new Array<number>(units.length).fill(0);
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of counts) {
    const ids: number[] = [];
    let first = true;
    for (const c of w) {
      ids.push(unitId.get(first ? c : PREFIX + c)!);
      first = false;
    }
    for (const id of ids) unitCount[id]! += f;
    words.push(ids);
    freqs.push(f);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const unitPairs: Set<number>[] = units.map(() => new Set<number>());
  const addPair = (a: number, b: number, w: number, f: number): number => {
    const k = a * SHIFT + b;
    pairCount.set(k, (pairCount.get(k) ?? 0) + f);
    let ws = pairWords.get(k);
    if (!ws) {
      ws = new Set();
      pairWords.set(k, ws);
    }
    ws.add(w);
    unitPairs[a]!.add(k);
    unitPairs[b]!.add(k);
    return k;
  };
  words.forEach((ids, w) => {
    for (let i = 0; i + 1 < ids.length; i++) addPair(ids[i]!, ids[i + 1]!, w, freqs[w]!);
  });

  const scoreOf = (k: number, count: number): number =>
    score === "frequency" ? count : count / (unitCount[Math.floor(k / SHIFT)]! * unitCount[k % SHIFT]!);
  const lexBefore = (x: number, y: number): boolean => {
    const xa = units[Math.floor(x / SHIFT)]!;
    const ya = units[Math.floor(y / SHIFT)]!;
    if (xa !== ya) return xa < ya;
    return units[x % SHIFT]! < units[y % SHIFT]!;
  };
  const heap = new Heap<Entry>((x, y) =>
    x.score !== y.score ? x.score > y.score : x.count !== y.count ? x.count > y.count : lexBefore(x.key, y.key),
  );
  const pushPair = (k: number): void => {
    const c = pairCount.get(k) ?? 0;
    if (c >= minFrequency) heap.push({ score: scoreOf(k, c), count: c, key: k });
  };
  for (const k of pairCount.keys()) pushPair(k);

  const vocabSet = new Set<string>([...specials, ...alphabet]);
  const merged: string[] = [];
  let merges = 0;
  while (vocabSet.size < vocabSize && heap.size > 0) {
    const e = heap.pop()!;
    const cur = pairCount.get(e.key) ?? 0;
    // Every change to a pair's count or its units' counts pushed a fresh entry, so a mismatch means stale.
    if (cur !== e.count || cur < minFrequency || scoreOf(e.key, cur) !== e.score) continue;
    const a = Math.floor(e.key / SHIFT);
    const b = e.key % SHIFT;
    const token = units[a]! + units[b]!.slice(PREFIX.length);
    let c = unitId.get(token);
    if (c === undefined) {
      c = units.length;
      units.push(token);
      unitId.set(token, c);
      unitCount.push(0);
      unitPairs.push(new Set());
    }
    const changed = new Set<number>();
    for (const w of pairWords.get(e.key) ?? []) {
      const ids = words[w]!;
      const f = freqs[w]!;
      const next: number[] = [];
      let n = 0;
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(c);
          i++;
          n++;
        } else next.push(ids[i]!);
      }
      if (n === 0) continue;
      for (let i = 0; i + 1 < ids.length; i++) {
        const k = ids[i]! * SHIFT + ids[i + 1]!;
        pairCount.set(k, pairCount.get(k)! - f);
        changed.add(k);
      }
      for (let i = 0; i + 1 < next.length; i++) changed.add(addPair(next[i]!, next[i + 1]!, w, f));
      unitCount[a]! -= n * f;
      unitCount[b]! -= n * f;
      unitCount[c]! += n * f;
      words[w] = next;
    }
    pairWords.delete(e.key);
    if (score === "wordpiece") {
      // Scores of all pairs touching a, b or c moved with those units' counts.
      for (const u of new Set([a, b, c])) {
        for (const k of unitPairs[u]!) {
          if ((pairCount.get(k) ?? 0) <= 0) unitPairs[u]!.delete(k);
          else changed.add(k);
        }
      }
    }
    for (const k of changed) {
      if ((pairCount.get(k) ?? 0) <= 0) {
        pairCount.delete(k);
        pairWords.delete(k);
      } else pushPair(k);
    }
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
