// Decoding text files without losing anything silently: bytes that are not valid in the declared encoding
// and NUL bytes are reported with their line and byte offset instead of being turned into U+FFFD or kept.
// Legacy files are read on purpose by naming their encoding; nothing is guessed.
import { ConfigError, FormatError } from "../errors.ts";

export type TextEncoding = "utf8" | "latin1" | "windows-1252" | "utf16le";

export const TEXT_ENCODINGS: readonly TextEncoding[] = ["utf8", "latin1", "windows-1252", "utf16le"];

const ALIASES: Record<string, TextEncoding> = {
  utf8: "utf8",
  "utf-8": "utf8",
  latin1: "latin1",
  "latin-1": "latin1",
  "iso-8859-1": "latin1",
  iso88591: "latin1",
  "windows-1252": "windows-1252",
  cp1252: "windows-1252",
  utf16le: "utf16le",
  "utf-16le": "utf16le",
  "utf-16": "utf16le",
};

/** The encoding named by `name` (case-insensitive, common aliases), or a ConfigError listing the choices. */
export function parseEncoding(name: string): TextEncoding {
  const e = Object.hasOwn(ALIASES, name.toLowerCase()) ? ALIASES[name.toLowerCase()] : undefined;
  if (!e) throw new ConfigError(`unknown text encoding ${JSON.stringify(name)} (supported: ${TEXT_ENCODINGS.join(", ")})`);
  return e;
}

/** A problem confined to one line (1-based). */
export interface LineProblem {
  line: number;
  /** Byte offset in the file (undecodable bytes) or character offset in the text (NUL). */
  offset: number;
  problem: string;
}

export interface DecodedText {
  /** The text, without a byte-order mark. */
  text: string;
  /** Lines holding undecodable bytes or NUL characters, in file order (at most one entry per line). */
  problems: LineProblem[];
}

/** A NUL this early means a binary file (the heuristic git and grep use), not a text file with one bad line. */
const BINARY_PROBE = 8000;

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Bytes as Latin-1: each byte is the code point of its character. */
function decodeLatin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** Offset of the first invalid UTF-8 sequence in `line` (which is known to hold one). */
function firstInvalidUtf8(line: Uint8Array): number {
  const text = new TextDecoder("utf-8").decode(line);
  let from = 0;
  for (;;) {
    const i = text.indexOf("\uFFFD", from);
    // Everything before index i decoded faithfully, so its UTF-8 length is its byte length in the file.
    const at = i < 0 ? 0 : new TextEncoder().encode(text.slice(0, i)).length;
    if (i < 0 || !(line[at] === 0xef && line[at + 1] === 0xbf && line[at + 2] === 0xbd)) {
      return at;
    }
    from = i + 1; // an encoded U+FFFD in the file itself, which is valid
  }
}

function utf16Hint(bytes: Uint8Array): string {
  const bomLe = bytes[0] === 0xff && bytes[1] === 0xfe;
  const bomBe = bytes[0] === 0xfe && bytes[1] === 0xff;
  if (bomLe) return " (it starts with a UTF-16 little-endian byte-order mark: read it with encoding utf16le)";
  if (bomBe) return " (it starts with a UTF-16 big-endian byte-order mark: convert it to UTF-8)";
  return "";
}

/**
 * Windows-1252 as WHATWG defines it: Latin-1 except 0x80-0x9F. Done here because Node 20's TextDecoder
 * decodes "windows-1252" as plain Latin-1 (curly quotes come out as C1 control characters).
 */
const CP1252_80_9F = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019,
  0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(bytes: Uint8Array): string {
  return decodeLatin1(bytes).replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252_80_9F[c.charCodeAt(0) - 0x80]!));
}

function binary(file: string, bytes: Uint8Array, offset: number): FormatError {
  return new FormatError(file, `binary data, not a text file: a NUL byte at byte offset ${offset}${utf16Hint(bytes)}`);
}

/**
 * Decodes `bytes` in `encoding`. Undecodable byte sequences (UTF-8) and NUL characters are returned as
 * line problems; a file that looks binary (a NUL in its first 8000 characters) is refused outright.
 */
export function decodeText(bytes: Uint8Array, file: string, encoding: TextEncoding = "utf8"): DecodedText {
  const problems: LineProblem[] = [];
  if (encoding !== "utf16le") {
    const nulByte = bytes.subarray(0, BINARY_PROBE).indexOf(0);
    if (nulByte >= 0) throw binary(file, bytes, nulByte);
  }
  let text: string;
  if (encoding === "utf8") {
    const buf = bytes;
    if (!isUtf8(buf)) {
      // 0x0A never occurs inside a multi-byte sequence, so the file can be checked line by line.
      let start = 0;
      let line = 1;
      while (start <= buf.length) {
        let end = buf.indexOf(0x0a, start);
        if (end < 0) end = buf.length;
        const l = buf.subarray(start, end);
        if (!isUtf8(l)) {
          const at = start + firstInvalidUtf8(l);
          problems.push({ line, offset: at, problem: `byte ${hex(buf[at]!)} at byte offset ${at} is not valid UTF-8${utf16Hint(bytes)}` });
        }
        start = end + 1;
        line++;
      }
    }
    text = new TextDecoder("utf-8", { ignoreBOM: false }).decode(bytes);
  } else if (encoding === "latin1") {
    text = decodeLatin1(bytes);
  } else if (encoding === "windows-1252") {
    text = decodeWindows1252(bytes);
  } else {
    try {
      text = new TextDecoder("utf-16le", { fatal: true }).decode(bytes);
    } catch {
      throw new FormatError(file, "not valid UTF-16LE text (an odd number of bytes or an unpaired surrogate)");
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    // Byte encodings were probed above; in UTF-16 the same probe covers half as many characters.
    if (encoding === "utf16le" && nul < BINARY_PROBE / 2)
      throw binary(file, bytes, 2 * nul + (bytes[0] === 0xff && bytes[1] === 0xfe ? 2 : 0));
    addNulProblems(text, problems);
  }
  return { text, problems };
}

function addNulProblems(text: string, problems: LineProblem[]): void {
  const seen = new Set(problems.map((p) => p.line));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
    } else if (c === 0 && !seen.has(line)) {
      seen.add(line);
      problems.push({ line, offset: i, problem: `a NUL character at column ${i - lineStart + 1} (binary data in a text file)` });
    }
  }
  problems.sort((a, b) => a.line - b.line);
}

/** Decodes a text that must be clean: the first undecodable byte or NUL is an error naming line and offset. */
export function decodeTextStrict(bytes: Uint8Array, file: string, encoding: TextEncoding = "utf8"): string {
  const d = decodeText(bytes, file, encoding);
  const p = d.problems[0];
  if (p) throw new FormatError(file, `line ${p.line}: ${p.problem}`);
  return d.text;
}
