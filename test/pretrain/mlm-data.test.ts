import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng.ts";
import { IGNORE_INDEX, MlmBatcher, maskTokens, packSequences, tokenizeLines } from "../../src/pretrain/mlm-data.ts";
import { trainWordPiece } from "../../src/pretrain/wordpiece.ts";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { ConfigError } from "../../src/errors.ts";
import { dirFiles } from "../../src/node/files.ts";

const PAD = 0;
const CLS = 2;
const SEP = 3;
const MASK = 4;
const SPECIALS = [0, 1, 2, 3, 4];
const VOCAB = 1000;

/** Lines of random non-special ids with lengths 1..maxLen. */
function randomLines(n: number, maxLen: number, seed = 1): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(maxLen) }, () => 5 + rng.int(VOCAB - 5)));
}

test("packSequences: full [CLS] chunk [SEP] rows of maxLength, in order, last partial kept only if long enough", () => {
  const lines = randomLines(100, 40);
  const flat = lines.flat();
  const seqs = packSequences(lines, { maxLength: 32, clsId: CLS, sepId: SEP, minLastChunk: 5 });
  const full = Math.floor(flat.length / 30);
  const rest = flat.length % 30;
  assert.equal(seqs.length, full + (rest >= 5 ? 1 : 0));
  seqs.forEach((s, i) => {
    if (i < full) assert.equal(s.length, 32);
    assert.equal(s[0], CLS);
    assert.equal(s.at(-1), SEP);
  });
  assert.deepEqual(
    seqs.flatMap((s) => s.slice(1, -1)),
    rest >= 5 ? flat : flat.slice(0, full * 30),
  );
  // A trailing chunk shorter than minLastChunk is dropped.
  const exact = packSequences([[...Array(30 + 4).keys()].map((i) => i + 5)], { maxLength: 32, clsId: CLS, sepId: SEP, minLastChunk: 5 });
  assert.deepEqual(
    exact.map((s) => s.length),
    [32],
  );
  const kept = packSequences([[...Array(30 + 5).keys()].map((i) => i + 5)], { maxLength: 32, clsId: CLS, sepId: SEP, minLastChunk: 5 });
  assert.deepEqual(
    kept.map((s) => s.length),
    [32, 7],
  );
  assert.deepEqual(packSequences([], { maxLength: 8, clsId: CLS, sepId: SEP }), []);
  assert.throws(() => packSequences(lines, { maxLength: 2, clsId: CLS, sepId: SEP }), ConfigError);
});

test("maskTokens: 15% chosen, of them 80% [MASK] / 10% random / 10% unchanged; specials never chosen", () => {
  const seqs = packSequences(randomLines(4000, 60), { maxLength: 128, clsId: CLS, sepId: SEP });
  const b = maskTokens(seqs, { rng: new Rng(7), vocabSize: VOCAB, maskId: MASK, specialIds: SPECIALS });
  let eligible = 0;
  let chosen = 0;
  let masked = 0;
  let unchanged = 0;
  let randomized = 0;
  seqs.forEach((s, r) => {
    for (let t = 0; t < b.seq; t++) {
      const i = r * b.seq + t;
      const inp = Number(b.inputIds[i]);
      const lab = Number(b.labels[i]);
      if (t >= s.length) continue;
      const orig = s[t]!;
      if (SPECIALS.includes(orig)) {
        assert.equal(lab, IGNORE_INDEX);
        assert.equal(inp, orig);
        continue;
      }
      eligible++;
      if (lab === IGNORE_INDEX) {
        assert.equal(inp, orig, "unchosen tokens are untouched");
        continue;
      }
      assert.equal(lab, orig, "labels hold the original id");
      chosen++;
      if (inp === MASK) masked++;
      else if (inp === orig) unchanged++;
      else randomized++;
      assert.ok(inp >= 0 && inp < VOCAB);
    }
  });
  assert.ok(eligible > 100_000, String(eligible));
  const rate = chosen / eligible;
  assert.ok(Math.abs(rate - 0.15) < 0.01, `chosen ${rate}`);
  assert.ok(Math.abs(masked / chosen - 0.8) < 0.02, `masked ${masked / chosen}`);
  assert.ok(Math.abs(randomized / chosen - 0.1) < 0.02, `random ${randomized / chosen}`);
  assert.ok(Math.abs(unchanged / chosen - 0.1) < 0.02, `unchanged ${unchanged / chosen}`);
});

test("maskTokens: right padding, labels -100 there, and deterministic per generator", () => {
  const seqs = [
    [CLS, 10, 11, 12, 13, SEP],
    [CLS, 20, SEP],
  ];
  const opts = { vocabSize: VOCAB, maskId: MASK, specialIds: SPECIALS, mlmProbability: 1 };
  const b = maskTokens(seqs, { ...opts, rng: new Rng(3) });
  assert.deepEqual([b.batch, b.seq], [2, 6]);
  assert.deepEqual([...b.attentionMask].map(Number), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual([...b.labels].map(Number), [-100, 10, 11, 12, 13, -100, -100, 20, -100, -100, -100, -100]);
  assert.deepEqual([...b.inputIds.subarray(8)].map(Number), [SEP, PAD, PAD, PAD]);
  assert.deepEqual([...b.tokenTypeIds].map(Number), Array(12).fill(0));
  assert.deepEqual(maskTokens(seqs, { ...opts, rng: new Rng(3) }), b);
  const none = maskTokens(seqs, { ...opts, mlmProbability: 0, rng: new Rng(3) });
  assert.ok([...none.labels].every((l) => l === -100n));
  assert.throws(() => maskTokens([[CLS, VOCAB, SEP]], { ...opts, rng: new Rng(1) }), /outside the vocabulary/);
  assert.throws(() => maskTokens(seqs, { ...opts, mlmProbability: 1.5, rng: new Rng(1) }), ConfigError);
});

test("MlmBatcher: batchAt(step) is reproducible from (seed, step); epochs are permutations", () => {
  const seqs = packSequences(randomLines(400, 30), { maxLength: 16, clsId: CLS, sepId: SEP });
  const n = seqs.length;
  const opts = { batchSize: 8, seed: 42, vocabSize: VOCAB, maskId: MASK, specialIds: SPECIALS };
  const a = new MlmBatcher(seqs, opts);
  assert.equal(a.stepsPerEpoch, Math.floor(n / 8));
  const run = Array.from({ length: 2 * a.stepsPerEpoch + 3 }, (_, step) => a.batchAt(step));
  // A resumed run (fresh batcher, arbitrary access order) sees identical batches.
  const b = new MlmBatcher(seqs, opts);
  for (const step of [2 * a.stepsPerEpoch + 2, 5, 0, a.stepsPerEpoch, 5]) assert.deepEqual(b.batchAt(step), run[step]);
  assert.deepEqual(b.position(a.stepsPerEpoch + 1), { epoch: 1, index: 1 });
  assert.equal(run[a.stepsPerEpoch + 1]!.epoch, 1);
  // Each epoch visits distinct sequences; epochs are shuffled differently; masking differs by step.
  for (const e of [0, 1]) {
    const seen = new Set<number>();
    for (let i = 0; i < a.stepsPerEpoch; i++) for (const j of a.indicesAt(e * a.stepsPerEpoch + i)) seen.add(j);
    assert.equal(seen.size, a.stepsPerEpoch * 8);
  }
  assert.notDeepEqual(a.order(0), a.order(1));
  assert.notDeepEqual(a.order(0), [...Array(n).keys()]);
  // Identical rows at every step: only a per-step masking stream makes their masks differ.
  const same = new MlmBatcher(Array(64).fill(seqs[0]) as number[][], { ...opts, mlmProbability: 0.5 });
  assert.notDeepEqual(same.batchAt(0).labels, same.batchAt(1).labels);
  assert.notDeepEqual(same.batchAt(0).labels, same.batchAt(same.stepsPerEpoch).labels);
  // Another seed, other batches; no shuffle reads in order; dropLast false keeps the remainder.
  assert.notDeepEqual(new MlmBatcher(seqs, { ...opts, seed: 43 }).batchAt(0).inputIds, run[0]!.inputIds);
  const ordered = new MlmBatcher(seqs, { ...opts, shuffle: false, dropLast: false });
  assert.deepEqual(ordered.indicesAt(0), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(ordered.stepsPerEpoch, Math.ceil(n / 8));
  assert.equal(ordered.indicesAt(ordered.stepsPerEpoch - 1).length, n % 8 || 8);
  assert.throws(() => new MlmBatcher(seqs.slice(0, 3), opts), /no full batch/);
  assert.throws(() => a.batchAt(-1), ConfigError);
});

test("tokenizeLines gives the tokenizer's ids without [CLS]/[SEP]", async () => {
  const lines = ["the whale swam under the ship", "call me ishmael, said the sailor", "the sea rolled on as it rolled"].flatMap(
    (l) => Array(20).fill(l) as string[],
  );
  const dir = mkdtempSync(join(tmpdir(), "rose-mlm-"));
  try {
    await trainWordPiece(lines, { vocabSize: 120, outDir: dir });
    const tok = await Tokenizer.load(dirFiles(dir));
    const ids = await tokenizeLines(tok, [...lines.slice(0, 3), "unseen words: zebra quartz"], 2);
    for (let i = 0; i < 3; i++) assert.deepEqual(ids[i], (await tok.encode(lines[i]!)).slice(1, -1));
    assert.equal(ids.length, 4);
    const packed = packSequences(ids, { maxLength: 8, clsId: tok.specialIds.cls, sepId: tok.specialIds.sep, minLastChunk: 1 });
    assert.deepEqual(
      packed.flatMap((s) => s.slice(1, -1)),
      ids.flat(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
