// Plain-text corpus files as `rose pretrain --corpus` and `--heldout` read them: one document or paragraph
// per line, blank lines skipped.
import { existsSync } from "node:fs";
import { ConfigError, DataError } from "../errors.ts";
import { readTextFileStrict } from "../node/files.ts";

/** The non-blank lines of the files, trimmed, in order; an empty corpus is refused. */
export function readCorpusLines(files: readonly string[]): string[] {
  const lines: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new ConfigError(`corpus file ${f} does not exist`);
    for (const l of readTextFileStrict(f).split("\n")) {
      const t = l.trim();
      if (t) lines.push(t);
    }
  }
  if (lines.length === 0) throw new DataError(files.join(", "), null, "the corpus is empty");
  return lines;
}
