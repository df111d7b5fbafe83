// Unknown commands are errors (exit 1, nearest command suggested), as in git and npm: never the top-level
// help and exit 0, even when --help follows the mistyped command.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { ROSE_BIN } from "../helpers/child.ts";

const rose = (...args: string[]) => spawnSync(process.execPath, [ROSE_BIN, ...args], { encoding: "utf8" });

test("an unknown command fails with its name and the nearest command, with or without --help", () => {
  for (const args of [
    ["tarin", "--train-file", "t.tsv"],
    ["tarin", "--help"],
    ["help", "tarin"],
    ["-h", "tarin"],
  ]) {
    const r = rose(...args);
    assert.equal(r.status, 1, `rose ${args.join(" ")}`);
    assert.equal(r.stdout, "", `rose ${args.join(" ")}`);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), ["error: unknown command 'tarin'", "(Did you mean train?)", "(see: rose --help)"]);
  }
  const far = rose("stuido", "--help");
  assert.equal(far.status, 1);
  assert.equal(far.stdout, "");
  assert.deepEqual(far.stderr.trimEnd().split("\n"), ["error: unknown command 'stuido'", "(see: rose --help)"]);
  // Known commands and the top-level help are unchanged.
  for (const args of [["--help"], ["train", "--help"], ["help", "worker"], ["worker", "-h"]]) {
    const r = rose(...args);
    assert.equal(r.status, 0, `rose ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: rose /);
  }
});
