import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bertNormalizer, bertPreTokenizer } from "tokenizers";
import { bertWords, trainWordPiece, writeVocabDir, BERT_SPECIAL_TOKENS } from "../../src/pretrain/wordpiece.ts";
import { readMobyDick, defaultSourceDir } from "../../src/pretrain/corpus.ts";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { ConfigError } from "../../src/errors.ts";
import { dirFiles } from "../../src/node/files.ts";

/** A few hundred sentences of Moby-Dick's first chapters. */
const LINES = readMobyDick(defaultSourceDir("moby-dick"))
  .slice(2, 8)
  .flatMap((d) => d.lines)
  .flatMap((p) => p.split(/(?<=[.!?;])\s+/))
  .filter((l) => l.length >= 20);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "rose-wp-"));
}

test("the JS word split matches the native BertPreTokenizer", () => {
  const norm = bertNormalizer({ lowercase: true });
  const pre = bertPreTokenizer();
  const samples = [
    ...LINES.slice(0, 50),
    "Héllo… wörld ½ 𝔘nicode 中文字 “quote” $5+3=8 a^b `x` | ~ «guillemets» — – ‐ 1,000.50 don't",
    "\u00a0x\u3000y\u2003z\u0085w\ufeffv\ttab\r\nnew [MASK] <s> ##ing e-mail @user #tag 50% (a) {b}",
  ];
  for (const s of samples) {
    const n = norm.normalizeString(s);
    assert.deepEqual(
      bertWords(n),
      pre.preTokenizeString(n).map((p) => p[0]),
      s,
    );
  }
});

test("trained vocabulary: specials first, bounded size, deterministic, loads with Tokenizer.fromDir", async () => {
  assert.ok(LINES.length >= 200, String(LINES.length));
  const dir = tmp();
  try {
    const r = await trainWordPiece(LINES, { vocabSize: 600, lowercase: true, specialTokens: [...BERT_SPECIAL_TOKENS], outDir: dir });
    assert.deepEqual(r.vocab.slice(0, 5), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    assert.ok(r.vocab.length <= 600 && r.vocab.length > 500, String(r.vocab.length));
    assert.equal(new Set(r.vocab).size, r.vocab.length);
    assert.ok(r.vocab.includes("the") && r.vocab.includes("whale"), "frequent words become whole tokens");
    for (const c of "abcxyz.,") assert.ok(r.vocab.includes(c) && r.vocab.includes(`##${c}`), c);
    assert.equal(readFileSync(join(dir, "vocab.txt"), "utf8"), `${r.vocab.join("\n")}\n`);
    const again = await trainWordPiece(LINES, { vocabSize: 600 });
    assert.deepEqual(again.vocab, r.vocab);

    const tok = await Tokenizer.load(dirFiles(dir));
    assert.deepEqual(tok.specialIds, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    assert.equal(tok.vocabSize, r.vocab.length);
    assert.equal(tok.modelMaxLength, 512);
    const pieces = await tok.tokenize("Call me Ishmael. Some years ago, the whale!");
    assert.ok(pieces.length >= 10);
    for (const p of pieces) assert.ok(r.vocab.includes(p) && p !== "[UNK]", p);
    assert.equal(pieces.map((p) => p.replace(/^##/, "")).join(""), "callmeishmael.someyearsago,thewhale!");
    const ids = await tok.encode("the whale");
    assert.deepEqual([ids[0], ids.at(-1)], [2, 3]);
    assert.equal(await tok.decode(ids), "the whale");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Hugging Face course example: hug x10, pug x5, pun x12, bun x4, hugs x5.
const TOY = [
  ..."hug ".repeat(10).split(" "),
  ..."pug ".repeat(5).split(" "),
  ..."pun ".repeat(12).split(" "),
  ..."bun ".repeat(4).split(" "),
  ..."hugs ".repeat(5).split(" "),
].filter(Boolean);

test("merge scores: frequency merges the most frequent pair, wordpiece the best count(ab)/(count(a)count(b))", async () => {
  const base = BERT_SPECIAL_TOKENS.length + 2 * 7; // specials + b g h n p s u, plain and ##
  const freq = await trainWordPiece(TOY, { vocabSize: base + 2, score: "frequency" });
  // (##u,##g) 20 first; then (##u,##n) 16 beats (p,##u), which fell from 17 to 12.
  assert.deepEqual(freq.vocab.slice(base), ["##ug", "##un"]);
  const wp = await trainWordPiece(TOY, { vocabSize: base + 1, score: "wordpiece" });
  assert.deepEqual(wp.vocab.slice(base), ["##gs"]); // 5 / (20 * 5), as in the course
  // minFrequency bounds merges; no pair left means a smaller vocabulary than asked.
  const none = await trainWordPiece(TOY, { vocabSize: 1000, minFrequency: 100 });
  assert.equal(none.vocab.length, base);
  assert.equal(none.merges, 0);
  const all = await trainWordPiece(TOY, { vocabSize: 1000 });
  for (const w of ["hug", "pug", "pun", "bun", "hugs"]) assert.ok(all.vocab.includes(w), w);
  assert.ok(all.vocab.length < 1000);
});

test("bad options and vocabularies are rejected", async () => {
  await assert.rejects(trainWordPiece(TOY, { vocabSize: 10 }), (e: unknown) => e instanceof ConfigError && /cannot hold/.test(e.message));
  await assert.rejects(trainWordPiece(TOY, { vocabSize: 100, minFrequency: 0 }), ConfigError);
  await assert.rejects(trainWordPiece(TOY, { vocabSize: 100, specialTokens: ["[PAD]", "[PAD]"] }), ConfigError);
  const dir = tmp();
  try {
    assert.throws(() => writeVocabDir(dir, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "a"]), /twice/);
    assert.throws(() => writeVocabDir(dir, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]), /\[MASK\]/);
    assert.throws(() => writeVocabDir(dir, ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]), /id 0/);
    assert.throws(() => writeVocabDir(dir, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a b"]), /whitespace/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
