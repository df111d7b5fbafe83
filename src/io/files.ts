// The files of a model folder as the portable core sees them: read by name from a source and written by
// name to a sink. In Node both are a folder on disk (src/node/files.ts); in a browser they are files the user
// picked or the browser's storage, held in memory. Sync on purpose: a browser reads the picked files first.
import { FormatError } from "../errors.ts";

/** Read access to the files of one model folder. */
export interface ModelFiles {
  /** Where the files come from, for messages: a folder path, a Hub id, "picked folder". */
  readonly origin: string;
  has(name: string): boolean;
  /** The file's bytes; a FormatError naming the file when it cannot be read. */
  read(name: string): Uint8Array;
  /** Names of the files, for messages (which weights a folder has). */
  names(): string[];
}

/** Write access to one model folder. Each write replaces the whole file. */
export interface FileSink {
  readonly origin: string;
  write(name: string, data: Uint8Array | string): void;
}

/** `origin/name` for messages, as a path reads. */
export function fileLabel(origin: string, name: string): string {
  return origin.endsWith("/") ? `${origin}${name}` : `${origin}/${name}`;
}

/** Files held in memory: a browser's picked folder, a test's fixture, a model about to be zipped. */
export class MemoryFiles implements ModelFiles, FileSink {
  readonly files: Map<string, Uint8Array>;

  constructor(
    readonly origin: string,
    files: Iterable<[string, Uint8Array]> = [],
  ) {
    this.files = new Map(files);
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  read(name: string): Uint8Array {
    const f = this.files.get(name);
    if (!f) throw new FormatError(fileLabel(this.origin, name), "no such file");
    return f;
  }

  names(): string[] {
    return [...this.files.keys()];
  }

  write(name: string, data: Uint8Array | string): void {
    this.files.set(name, typeof data === "string" ? new TextEncoder().encode(data) : data);
  }
}
