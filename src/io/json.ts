// Reading a JSON file with errors that name the file and say whether it was unreadable, not UTF-8 text
// (JSON must be: RFC 8259) or malformed.
import { FormatError } from "../errors.ts";
import { readTextFileStrict, readTextFileStrictAsync } from "./text.ts";

export function parseJsonText<T = unknown>(text: string, file: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FormatError(file, `not valid JSON (${(e as Error).message})`);
  }
}

export function readJsonFile<T = unknown>(file: string): T {
  return parseJsonText<T>(readTextFileStrict(file), file);
}

export async function readJsonFileAsync<T = unknown>(file: string): Promise<T> {
  return parseJsonText<T>(await readTextFileStrictAsync(file), file);
}
