import { test } from "node:test";
import assert from "node:assert/strict";
import { ExampleContext, StatsClock } from "../../src/robust/context.ts";
import {
  CharDelete,
  CharInsert,
  CharSubstitute,
  CharSwap,
  EmbeddingSwap,
  KEYBOARD_NEIGHBORS,
  MaskedLMSwap,
  VisualSubstitute,
  WordNetSwap,
} from "../../src/robust/transformations.ts";
import { NeighborTable } from "../../src/robust/neighbors.ts";
import { PerturbedText } from "../../src/robust/words.ts";
import { FixedFiller } from "./mock.ts";

const ctx = (seed = 1): ExampleContext => new ExampleContext(new StatsClock(), seed, 0);
const t = PerturbedText.from("a charming film");
const sorted = (s: string): string => [...s].sort().join("");

test("DeepWordBug character edits: swap, substitute, delete, insert", () => {
  for (let seed = 0; seed < 20; seed++) {
    const [sw] = new CharSwap().candidates(t, 1, ctx(seed));
    assert.ok(sw !== undefined && sw.length === 8 && sorted(sw) === sorted("charming") && levenshteinSwap(sw, "charming"));
    const [sub] = new CharSubstitute().candidates(t, 1, ctx(seed));
    assert.ok(sub !== undefined && sub.length === 8 && diffCount(sub, "charming") === 1 && /^[a-z]+$/.test(sub));
    const [del] = new CharDelete().candidates(t, 1, ctx(seed));
    assert.ok(del !== undefined && del.length === 7);
    const [ins] = new CharInsert().candidates(t, 1, ctx(seed));
    assert.ok(ins !== undefined && ins.length === 9);
  }
  // Same seed, same draws; a one-letter word has no edits.
  assert.deepEqual(new CharSwap().candidates(t, 1, ctx(7)), new CharSwap().candidates(t, 1, ctx(7)));
  assert.deepEqual(new CharDelete().candidates(t, 0, ctx()), []);
});

test("keyboard substitution uses QWERTY neighbours", () => {
  assert.equal(KEYBOARD_NEIGHBORS.get("a"), "sqwz");
  assert.ok(KEYBOARD_NEIGHBORS.get("g")!.includes("h") && KEYBOARD_NEIGHBORS.get("g")!.includes("t"));
  const all = new CharSubstitute({ mode: "keyboard", randomOne: false }).candidates(t, 2, ctx());
  assert.equal(all.length, 4);
  all.forEach((c, i) => {
    assert.ok(KEYBOARD_NEIGHBORS.get("film"[i]!)!.includes(c[i]!));
  });
});

test("TextBugger edits keep the first and last characters and swap look-alikes", () => {
  const opt = { skipFirst: true, skipLast: true, randomOne: false };
  const spaces = new CharInsert({ ...opt, insert: " " }).candidates(t, 1, ctx());
  assert.equal(spaces.length, 6);
  assert.ok(spaces.every((c) => c.startsWith("c") && c.endsWith("g") && c.replace(" ", "") === "charming"));
  assert.ok(new CharDelete(opt).candidates(t, 1, ctx()).every((c) => c.startsWith("c") && c.endsWith("g")));
  assert.deepEqual(new VisualSubstitute().candidates(PerturbedText.from("lol"), 0), ["1ol", "l0l", "lo1"]);
  assert.deepEqual(new VisualSubstitute().candidates(PerturbedText.from("a"), 0), ["@"]);
});

test("word-level candidates keep the capitalisation", async () => {
  const table = NeighborTable.fromObject({ good: ["nice", "fine"] });
  assert.deepEqual(new EmbeddingSwap(table).candidates(PerturbedText.from("Good film"), 0), ["Nice", "Fine"]);
  assert.deepEqual(new EmbeddingSwap(table, 1).candidates(PerturbedText.from("good"), 0), ["nice"]);
  assert.ok(new WordNetSwap().candidates(PerturbedText.from("Good"), 0).includes("Beneficial"));
});

test("masked-LM candidates: one mask per text, whole words only, cached", async () => {
  const filler = new FixedFiller();
  const swap = new MaskedLMSwap(filler, 48, "bert-attack");
  const c = ctx();
  const got = await swap.candidates(t, 1, c);
  assert.deepEqual(got, ["fine", "nice", "okay", "decent", "good", "bad"]);
  assert.deepEqual(filler.calls, [["a [MASK] film"]]);
  await swap.candidates(t, 1, c);
  assert.equal(filler.calls.length, 1);
  assert.deepEqual(await new MaskedLMSwap(filler, 3, "bae").candidates(t, 1, c), ["fine"]);
});

function diffCount(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}
function levenshteinSwap(a: string, b: string): boolean {
  const d = [...a].map((c, i) => (c === b[i] ? -1 : i)).filter((i) => i >= 0);
  return d.length === 2 && d[1] === d[0]! + 1;
}
