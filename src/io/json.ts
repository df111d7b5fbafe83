// Reading a JSON file with errors that name the file and say whether it was unreadable, not UTF-8 text
// (JSON must be: RFC 8259) or malformed.
import { FormatError } from "../errors.ts";
import { readTextFileStrict, readTextFileStrictAsync } from "./text.ts";

/**
 * A JSON.parse error as one short line: V8 quotes the text around the fault, which may hold newlines or
 * control characters, and an error message must stay one line.
 */
export function jsonProblem(e: unknown): string {
  const m = (e instanceof Error ? e.message : String(e))
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
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

export function readJsonFile<T = unknown>(file: string): T {
  return parseJsonText<T>(readTextFileStrict(file), file);
}

export async function readJsonFileAsync<T = unknown>(file: string): Promise<T> {
  return parseJsonText<T>(await readTextFileStrictAsync(file), file);
}
