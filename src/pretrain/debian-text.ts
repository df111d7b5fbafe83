// Corpus sources from Debian packages of free English text (installed with apt-get by scripts/model/build-corpus.ts):
// the GNU Collaborative International Dictionary of English (dict-gcide), the Free On-line Dictionary of
// Computing (dict-foldoc), the Jargon File (dict-jargon), The Devil's Dictionary (dict-devil), the fortune
// cookie collections (fortunes), the Debian Reference (debian-reference-en) and the Python documentation
// (python3.11-doc), and the King James Bible (bible-kjv, whose compressed text only its `bible` program reads). Each reader returns documents of raw paragraphs; buildCorpus cleans and splits them.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { parse as parseHtml } from "node-html-parser";
import { ConfigError, FormatError } from "../errors.ts";
import type { CorpusDocument } from "./document.ts";

export type DebianSource = "bible" | "gcide" | "foldoc" | "jargon" | "devil" | "fortunes" | "debian-reference" | "python-docs";

/** Where each source's files are after `apt-get install <package>`. */
export const DEBIAN_SOURCES: Record<DebianSource, { aptPackage: string; dir: string; installed?: string }> = {
  // /usr/bin exists everywhere: the program itself says whether bible-kjv is installed.
  bible: { aptPackage: "bible-kjv", dir: "/usr/bin", installed: "/usr/bin/bible" },
  gcide: { aptPackage: "dict-gcide", dir: "/usr/share/dictd" },
  foldoc: { aptPackage: "dict-foldoc", dir: "/usr/share/dictd" },
  jargon: { aptPackage: "dict-jargon", dir: "/usr/share/dictd" },
  devil: { aptPackage: "dict-devil", dir: "/usr/share/dictd" },
  fortunes: { aptPackage: "fortunes", dir: "/usr/share/games/fortunes" },
  "debian-reference": { aptPackage: "debian-reference-en", dir: "/usr/share/debian-reference" },
  "python-docs": { aptPackage: "python3.11-doc", dir: "/usr/share/doc/python3.11/html" },
};

/** Whether a Debian source's package is installed (its data folder, or the one file that says so). */
export function debianSourceInstalled(source: DebianSource): boolean {
  const { dir, installed } = DEBIAN_SOURCES[source];
  return existsSync(installed ?? dir);
}

function readFile(file: string, source: DebianSource): Buffer {
  if (!existsSync(file)) {
    throw new ConfigError(
      `corpus source ${source}: ${file} does not exist (install it with: apt-get install ${DEBIAN_SOURCES[source].aptPackage})`,
    );
  }
  return readFileSync(file);
}

/** A gzip (dictzip) or plain file as UTF-8 text. */
function readMaybeGzip(file: string, source: DebianSource): string {
  const buf = readFile(file, source);
  try {
    return (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString("utf8");
  } catch (e) {
    throw new FormatError(file, `cannot decompress (${(e as Error).message})`);
  }
}

/** Blank-line-separated blocks with their wrapped lines joined. */
function blocks(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n/)
    .map((b) => b.replace(/\s+/g, " ").trim())
    .filter((b) => b.length > 0);
}

// Prose, not tables, code or ASCII art: mostly letters and spaces, and at least four words.
export function looksLikeProse(s: string): boolean {
  if (s.split(" ").length < 4) return false;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 32) letters++;
  }
  return letters / s.length >= 0.75;
}

/**
 * Entries of a dictd database (the uncompressed .dict): an entry starts at a line that is not indented; the
 * database's own "00-database-*" entries are skipped.
 */
export function dictEntries(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let head = "";
  let body: string[] = [];
  const flush = (): void => {
    if (head && !head.startsWith("00-database") && !head.startsWith("00database")) out.push({ head, body: body.join("\n") });
  };
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    if (line.length > 0 && line[0] !== " " && line[0] !== "\t") {
      flush();
      head = line.trim();
      body = [line];
    } else body.push(line);
  }
  flush();
  return out;
}

/** A GCIDE block as plain prose: pronunciations, bracketed sources and etymologies, cross-reference braces and attributions removed. */
export function gcideBlock(block: string): string | null {
  // WordNet's senses are in the WordNet source already; synonym lists are not sentences.
  if (block.includes("[WordNet") || /^Syn(?:onyms)?\s*:/.test(block)) return null;
  let s = block
    .replace(/^(\S[^\\]*?)\s*\\[^\\]*\\,?/, "$1:") // headword \pro*nun"ci*a*tion\,
    .replace(/\[[^\]]*\]/g, " ") // [1913 Webster], [Obs.], [L. affectus ...]
    .replace(/\{([^}]*)\}/g, "$1") // {cross references}
    .replace(/\s--\s?[A-Z][\w.' &]*\.?(?=\s|$)/g, " ") // --Milton.
    .replace(/^\d+\.\s+/, "")
    .replace(/^\([a-z]\)\s+/, "")
    .replace(/\?/g, (m, i: number, all: string) => (i > 0 && /\w/.test(all[i - 1]!) && /\w/.test(all[i + 1] ?? "") ? "" : m)) // lost non-ASCII letters
    .replace(/\s+/g, " ")
    .trim();
  // A headword line whose definition is only a part of speech ("Affect: v. t.") says nothing.
  s = s
    .replace(/^([^:]{1,60}):\s*(?:(?:n|v|a|adj|adv|prep|conj|interj|pron|t|i|pl|p|pr|imp|vb|sing|superl|compar)\.\s*,?\s*)+/, "$1: ")
    .replace(/^([^:]{1,60}):\s*\d+\.\s+(?:\d+\s+)?/, "$1: "); // "aortal: 1. 1 of ..." (numbered senses)
  return looksLikeProse(s) ? s : null;
}

/** FOLDOC / Jargon File / Devil's Dictionary blocks: braces removed, <category> tags, dates and code dropped. */
export function glossaryBlock(block: string): string | null {
  const s = block
    .replace(/<[^>]{1,40}>/g, " ")
    .replace(/\{([^}]*)\}/g, "$1")
    .replace(/^\(\d{4}-\d{2}-\d{2}\)$/, "")
    .replace(/\s+/g, " ")
    .trim();
  return looksLikeProse(s) ? s : null;
}

function readDict(source: "gcide" | "foldoc" | "jargon" | "devil", dir: string, clean: (b: string) => string | null): CorpusDocument[] {
  const file = join(dir, `${source}.dict.dz`);
  const entries = dictEntries(readMaybeGzip(file, source));
  if (entries.length === 0) throw new FormatError(file, "no dictionary entries");
  return entries.map((e, i) => ({
    id: `${source}/${i}/${e.head.slice(0, 40)}`,
    lines: blocks(e.body)
      .map(clean)
      .filter((l): l is string => l !== null),
  }));
}

export const readGcide = (dir: string): CorpusDocument[] => readDict("gcide", dir, gcideBlock);
const readFoldoc = (dir: string): CorpusDocument[] => readDict("foldoc", dir, glossaryBlock);
const readJargon = (dir: string): CorpusDocument[] => readDict("jargon", dir, glossaryBlock);
const readDevil = (dir: string): CorpusDocument[] => readDict("devil", dir, glossaryBlock);

// Collections of pictures or of text in other languages.
const FORTUNE_SKIP = new Set(["art", "ascii-art", "translate-me"]);

/** fortune(6) files: cookies separated by "%" lines; each cookie one document, its "-- Author" line dropped. */
export function fortuneCookies(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n%\n/)
    .map((c) =>
      c
        .split("\n")
        .filter((l) => !/^\s*--\s/.test(l))
        .join(" ")
        .replace(/\s+/g, " ")
        .trim(),
    )
    .filter(looksLikeProse);
}

function readFortunes(dir: string): CorpusDocument[] {
  if (!existsSync(dir)) readFile(dir, "fortunes");
  const files = readdirSync(dir)
    .filter((f) => !f.includes(".") && !FORTUNE_SKIP.has(f))
    .sort();
  if (files.length === 0) throw new FormatError(dir, "no fortune files");
  return files.flatMap((f) =>
    fortuneCookies(readMaybeGzip(join(dir, f), "fortunes")).map((c, i) => ({ id: `fortunes/${f}/${i}`, lines: [c] })),
  );
}

/** The Debian Reference's plain-text edition: one document per chapter (lines "Chapter N."). */
function readDebianReference(dir: string): CorpusDocument[] {
  const file = join(dir, "debian-reference.en.txt.gz");
  const text = readMaybeGzip(file, "debian-reference");
  const chapters = text.split(/\n(?=Chapter[\s\u00a0]+\d+\.)/);
  return chapters.map((c, i) => ({ id: `debian-reference/${i}`, lines: blocks(c).filter(looksLikeProse) }));
}

function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) {
        if (!f.startsWith("_")) walk(p);
      } else if (f.endsWith(".html") && !["genindex", "py-modindex", "search"].some((x) => f.startsWith(x))) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The Python documentation's HTML: one document per page, its <p> paragraphs (code examples are in <pre>). */
export function htmlParagraphs(html: string): string[] {
  const root = parseHtml(html, { blockTextElements: { script: false, style: false, pre: false } });
  return root
    .querySelectorAll("p")
    .map((p) => p.text.replace(/\s+/g, " ").replace(/¶/g, "").trim())
    .filter(looksLikeProse);
}

function readPythonDocs(dir: string): CorpusDocument[] {
  if (!existsSync(dir)) readFile(dir, "python-docs");
  const files = htmlFiles(dir);
  if (files.length === 0) throw new FormatError(dir, "no .html pages");
  return files.map((f) => ({ id: `python-docs/${relative(dir, f)}`, lines: htmlParagraphs(readFile(f, "python-docs").toString("utf8")) }));
}

/** The King James Bible through bible-kjv's `bible` program in `dir`: one document per chapter, a verse a line. */
function readBible(dir: string): CorpusDocument[] {
  const exe = join(dir, "bible");
  readFile(exe, "bible");
  let text: string;
  try {
    text = execFileSync(exe, ["-f", "Gen1:1-Rev22:21"], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch (e) {
    throw new FormatError(exe, `failed to print the text (${(e as Error).message})`);
  }
  const chapters = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^(\d?[A-Za-z]+\d+):\d+\s+(.*)$/.exec(line);
    if (!m) continue;
    const verses = chapters.get(m[1]!) ?? [];
    verses.push(m[2]!);
    chapters.set(m[1]!, verses);
  }
  if (chapters.size === 0) throw new FormatError(exe, "printed no verses");
  // Verses are short: a chapter's verses are joined into lines of a few hundred characters.
  return [...chapters].map(([id, verses]) => ({ id: `bible/${id}`, lines: joinShort(verses, 400) }));
}

function joinShort(parts: string[], maxChars: number): string[] {
  const out: string[] = [];
  let cur = "";
  for (const p of parts) {
    if (cur && cur.length + 1 + p.length > maxChars) {
      out.push(cur);
      cur = "";
    }
    cur = cur ? `${cur} ${p}` : p;
  }
  if (cur) out.push(cur);
  return out;
}

export const DEBIAN_READERS: Record<DebianSource, (dir: string) => CorpusDocument[]> = {
  bible: readBible,
  gcide: readGcide,
  foldoc: readFoldoc,
  jargon: readJargon,
  devil: readDevil,
  fortunes: readFortunes,
  "debian-reference": readDebianReference,
  "python-docs": readPythonDocs,
};
