// Node's side of file access: model folders on disk as the core's ModelFiles / FileSink, atomic writes, and
// strict text and JSON reading with errors that name the file.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, FormatError } from "../errors.ts";
import type { FileSink, ModelFiles } from "../io/files.ts";
import { parseJsonText } from "../io/json.ts";
import { decodeTextStrict, type TextEncoding } from "../io/text.ts";

let tmpCounter = 0;

/** Writes a file atomically: a temporary file in the same directory, fsync, then rename. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  // pid + counter: two writes of the same file from one process must not share a temporary.
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A file's bytes, or a FormatError naming it. */
export function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new FormatError(file, `cannot read (${(e as Error).message})`);
  }
}

/** A whole text file that must be clean: the first undecodable byte or NUL is an error naming line and offset. */
export function readTextFileStrict(file: string, encoding: TextEncoding = "utf8"): string {
  return decodeTextStrict(readBytes(file), file, encoding);
}

export async function readTextFileStrictAsync(file: string, encoding: TextEncoding = "utf8"): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new FormatError(file, `cannot read (${(e as Error).message})`);
  }
  return decodeTextStrict(bytes, file, encoding);
}

export function readJsonFile<T = unknown>(file: string): T {
  return parseJsonText<T>(readTextFileStrict(file), file);
}

export async function readJsonFileAsync<T = unknown>(file: string): Promise<T> {
  return parseJsonText<T>(await readTextFileStrictAsync(file), file);
}

/** A model folder on disk, read lazily by name. */
export function dirFiles(dir: string): ModelFiles {
  if (!existsSync(dir)) throw new ConfigError(`model directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new ConfigError(`model directory ${dir} is not a directory`);
  return {
    origin: dir,
    has: (name) => existsSync(join(dir, name)),
    read: (name) => readBytes(join(dir, name)),
    names: () => readdirSync(dir),
  };
}

/** A folder on disk (created on first write) written file by file, each atomically. */
export function dirSink(dir: string): FileSink {
  return {
    origin: dir,
    write: (name, data) => {
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, name), data);
    },
  };
}
