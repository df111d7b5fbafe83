import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FormatError } from "../../src/errors.ts";
import { loadNeighbors, NeighborTable } from "../../src/robust/neighbors.ts";
import { needsSharedData, sharedData } from "../helpers/shared.ts";

const dir = mkdtempSync(path.join(tmpdir(), "rose-neighbors-"));
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

const NEIGHBORS = "attack/counterfitted_neighbors.json";

test("loads the counter-fitted neighbour file", { skip: needsSharedData(NEIGHBORS) }, async () => {
  const t = await loadNeighbors(sharedData(NEIGHBORS));
  assert.ok(t.size > 40000);
  assert.deepEqual(
    t.neighbors("movie", 3).map((n) => n.word),
    ["film", "filmmaking", "films"],
  );
  assert.ok(t.neighbors("Good").some((n) => n.word === "nice"));
  assert.deepEqual(t.neighbors("no-such-word"), []);
});

test("neighbours with cosines honour maxCandidates and the cosine bound", () => {
  const t = NeighborTable.fromObject({
    good: [
      ["nice", 0.9],
      ["fine", 0.6],
      ["okay", 0.4],
    ],
    bad: ["poor"],
  });
  assert.deepEqual(
    t.neighbors("good", 50, 0.5).map((n) => n.word),
    ["nice", "fine"],
  );
  assert.deepEqual(
    t.neighbors("good", 1).map((n) => n.word),
    ["nice"],
  );
  assert.deepEqual(
    t.neighbors("bad", 50, 0.5).map((n) => n.word),
    ["poor"],
  );
});

test("neighbour file errors name the file and the problem", async () => {
  const check = async (file: string, re: RegExp): Promise<void> => {
    await assert.rejects(loadNeighbors(file), (e: unknown) => e instanceof FormatError && e.message.startsWith(file) && re.test(e.message));
  };
  await check(path.join(dir, "missing.json"), /cannot read.*ENOENT/);
  await check(write("bad.json", "{ not json"), /not valid JSON/);
  await check(write("list.json", '["a", "b"]'), /expected a JSON object/);
  await check(write("entry.json", '{"good": "nice"}'), /entry "good": expected a list/);
  await check(write("item.json", '{"good": ["nice", 3]}'), /entry "good", neighbour 1/);
  await check(write("pair.json", '{"good": [["nice", "high"]]}'), /entry "good", neighbour 0/);
});
