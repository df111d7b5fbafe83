// Reading a JSON file with errors that name the file and say whether it was unreadable or malformed.
import { readFileSync } from "node:fs";
import { FormatError } from "../errors.ts";

export function readJsonFile<T = unknown>(file: string): T {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new FormatError(file, `cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FormatError(file, `not valid JSON (${(e as Error).message})`);
  }
}
