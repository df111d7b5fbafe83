// Parsing a JSON file with errors that name the file and say whether it was unreadable, not UTF-8 text
// (JSON must be: RFC 8259) or malformed.
import { FormatError } from "../errors.ts";
import { decodeTextStrict } from "./text.ts";

/**
 * A JSON.parse error as one short line: V8 quotes the text around the fault, which may hold newlines or
 * control characters, and an error message must stay one line.
 */
export function jsonProblem(e: unknown): string {
  const m = (e instanceof Error ? e.message : String(e))
    .replace(/\p{Cc}+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return m.length > 200 ? `${m.slice(0, 200)}...` : m;
}

export function parseJsonText<T = unknown>(text: string, file: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FormatError(file, `not valid JSON (${jsonProblem(e)})`);
  }
}

/** JSON from a file's bytes, which must be clean UTF-8 (RFC 8259). */
export function parseJsonBytes<T = unknown>(bytes: Uint8Array, file: string): T {
  return parseJsonText<T>(decodeTextStrict(bytes, file), file);
}
