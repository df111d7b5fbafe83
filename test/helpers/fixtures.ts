// Small files written for a test into a temporary folder that is removed after the test file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after } from "node:test";

/** A temporary folder (removed after the test file) and a writer of numbered files in it. */
export function fixtureDir(prefix: string): { dir: string; fixture: (ext: string, content: string | Uint8Array) => string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return {
    dir,
    fixture: (ext, content) => {
      const f = path.join(dir, `f${n++}.${ext}`);
      writeFileSync(f, content);
      return f;
    },
  };
}
