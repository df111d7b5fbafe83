import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { byteLevelAlphabet } from "tokenizers";
import { Tokenizer, type EncodedBatch } from "../../src/io/tokenizer.ts";
import { ConfigError, FormatError } from "../../src/errors.ts";
import { dirFiles, dirSink } from "../../src/node/files.ts";

const MODELS = new URL("../fixtures/golden/models/", import.meta.url).pathname;
const BERT = join(MODELS, "bert");
const DISTILBERT = join(MODELS, "distilbert");

const vocabLines = readFileSync(join(BERT, "vocab.txt"), "utf8")
  .split("\n")
  .filter((l) => l !== "");
/** Whole words of the golden vocabulary (no specials, no ## pieces, no punctuation). */
const WORDS = vocabLines.filter((w) => /^[a-z]+$/.test(w));
const PIECES = vocabLines.filter((w) => w.startsWith("##")).map((w) => w.slice(2));

function sentence(n: number, offset = 0): string {
  return Array.from({ length: n }, (_, i) => WORDS[(offset + i) % WORDS.length]).join(" ");
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "rose-tok-"));
}

function row(b: EncodedBatch, r: number, what: "inputIds" | "attentionMask" | "tokenTypeIds"): number[] {
  return [...b[what].subarray(r * b.seq, (r + 1) * b.seq)].map(Number);
}

test("golden case ids are in the vocabulary of the golden tokenizer", async () => {
  for (const dir of [BERT, DISTILBERT]) {
    const tok = await Tokenizer.load(dirFiles(dir));
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(tok.vocabSize, cfg.vocab_size);
    const ids: number[][] = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")).input_ids;
    for (const r of ids)
      for (const id of r) {
        assert.ok(Number.isInteger(id) && id >= 0 && id < tok.vocabSize, `id ${id}`);
        assert.notEqual(tok.idToToken(id), null);
      }
    assert.deepEqual(tok.specialIds, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    assert.equal(tok.maskToken, "[MASK]");
    assert.equal(tok.specialTokens.cls, "[CLS]");
    assert.equal(tok.tokenToId("movie"), vocabLines.indexOf("movie"));
    assert.equal(tok.idToToken(vocabLines.indexOf("film")), "film");
    assert.equal(tok.tokenToId("no-such-token"), null);
    assert.equal(tok.modelMaxLength, 24);
  }
});

test("single sentences: [CLS] first, [SEP] last, lower-cased WordPiece, decode", async () => {
  const tok = await Tokenizer.load(dirFiles(BERT));
  assert.deepEqual(await tok.tokenize("The FILMs, boringly!"), ["the", "film", "##s", ",", "boring", "##ly", "!"]);
  assert.deepEqual(await tok.tokenize("zebra"), ["[UNK]"]);
  const ids = await tok.encode("the movie");
  assert.deepEqual(ids, [2, vocabLines.indexOf("the"), vocabLines.indexOf("movie"), 3]);
  assert.equal(await tok.decode(ids), "the movie");
  assert.equal(await tok.decode(ids, false), "[CLS] the movie [SEP]");
  await assert.rejects(tok.decode([999]), ConfigError);
});

test("pairs: [CLS] A [SEP] B [SEP] with type ids 0 then 1", async () => {
  const tok = await Tokenizer.load(dirFiles(BERT));
  const a = sentence(3);
  const b = sentence(2, 5);
  const enc = await tok.encodeBatch([a, "good"], [b, "bad film"], { maxLength: 20, padding: "longest" });
  assert.equal(enc.batch, 2);
  assert.equal(enc.seq, 3 + 2 + 3);
  const ids0 = row(enc, 0, "inputIds");
  assert.deepEqual(ids0, [2, ...(await tok.encode(a)).slice(1, -1), 3, ...(await tok.encode(b)).slice(1, -1), 3]);
  assert.deepEqual(row(enc, 0, "tokenTypeIds"), [0, 0, 0, 0, 0, 1, 1, 1]);
  assert.deepEqual(row(enc, 0, "attentionMask"), [1, 1, 1, 1, 1, 1, 1, 1]);
  // Second row: [CLS] good [SEP] bad film [SEP] [PAD] [PAD]; padding has type 0 and mask 0.
  assert.deepEqual(row(enc, 1, "inputIds"), [2, tok.tokenToId("good"), 3, tok.tokenToId("bad"), tok.tokenToId("film"), 3, 0, 0]);
  assert.deepEqual(row(enc, 1, "tokenTypeIds"), [0, 0, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual(row(enc, 1, "attentionMask"), [1, 1, 1, 1, 1, 1, 0, 0]);
});

test("padding modes: longest vs max_length, pad id and zero mask", async () => {
  const tok = await Tokenizer.load(dirFiles(DISTILBERT));
  const texts = [sentence(2), sentence(5, 3), ""];
  const longest = await tok.encodeBatch(texts, null, { maxLength: 16, padding: "longest" });
  assert.equal(longest.seq, 7);
  assert.equal(longest.inputIds.length, 3 * 7);
  assert.deepEqual(row(longest, 0, "attentionMask"), [1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual(row(longest, 2, "inputIds"), [2, 3, 0, 0, 0, 0, 0]);
  const fixed = await tok.encodeBatch(texts, null, { maxLength: 16, padding: "max_length" });
  assert.equal(fixed.seq, 16);
  for (let r = 0; r < 3; r++) {
    assert.deepEqual(row(fixed, r, "inputIds"), [...row(longest, r, "inputIds"), ...new Array(9).fill(0)]);
    assert.deepEqual(row(fixed, r, "attentionMask"), [...row(longest, r, "attentionMask"), ...new Array(9).fill(0)]);
    assert.ok(row(fixed, r, "tokenTypeIds").every((t) => t === 0));
  }
  const empty = await tok.encodeBatch([], null, { maxLength: 8, padding: "max_length" });
  assert.deepEqual([empty.batch, empty.seq, empty.inputIds.length], [0, 8, 0]);
});

test("truncation: single sequences keep [CLS] ... [SEP] within maxLength", async () => {
  const tok = await Tokenizer.load(dirFiles(BERT));
  const long = sentence(30);
  const enc = await tok.encodeBatch([long, sentence(3)], null, { maxLength: 8, padding: "longest" });
  assert.equal(enc.seq, 8);
  const full = await tok.encode(long);
  assert.deepEqual(row(enc, 0, "inputIds"), [...full.slice(0, 7), 3]);
  assert.deepEqual(row(enc, 1, "inputIds"), [...(await tok.encode(sentence(3))), 0, 0, 0]);
});

test("truncation tail and head+tail keep the text's last tokens; the choice is saved with the tokenizer", async () => {
  for (const dir of [BERT, DISTILBERT]) {
    const tok = await Tokenizer.load(dirFiles(dir));
    assert.equal(tok.truncation, "head");
    const long = sentence(30),
      short = sentence(3);
    const full = await tok.encode(long);
    const [cls, sep] = [full[0]!, full.at(-1)!];
    const body = full.slice(1, -1);
    const tail = await tok.encodeBatch([long, short], null, { maxLength: 8, padding: "longest", truncation: "tail" });
    assert.deepEqual(row(tail, 0, "inputIds"), [cls, ...body.slice(-6), sep], dir);
    assert.deepEqual(row(tail, 1, "inputIds").slice(0, (await tok.encode(short)).length), await tok.encode(short));
    tok.truncation = "head+tail"; // the default when encodeBatch is not told
    const both = await tok.encodeBatch([long], null, { maxLength: 9, padding: "max_length" });
    assert.deepEqual(row(both, 0, "inputIds"), [cls, ...body.slice(0, 4), ...body.slice(-3), sep]);
    assert.deepEqual(row(both, 0, "attentionMask"), Array(9).fill(1));
    // Pairs are still cut longest_first from the end.
    const pair = await tok.encodeBatch([long], [short], { maxLength: 12, padding: "longest" });
    assert.deepEqual(
      row(pair, 0, "inputIds"),
      row(await tok.encodeBatch([long], [short], { maxLength: 12, padding: "longest", truncation: "head" }), 0, "inputIds"),
    );
    await assert.rejects(
      async () => tok.encodeBatch([long], null, { maxLength: 8, padding: "longest", truncation: "middle" as never }),
      /truncation must be one of head, tail, head\+tail/,
    );

    const out = tmp();
    try {
      tok.save(dirSink(out));
      const cfg = JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8"));
      assert.equal(cfg.truncation_side, "right"); // what Hugging Face understands: it keeps the head
      assert.equal((await Tokenizer.load(dirFiles(out))).truncation, "head+tail");
      tok.truncation = "tail";
      tok.save(dirSink(out));
      const tailCfg = JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8"));
      assert.equal(tailCfg.truncation_side, "left");
      assert.equal(tailCfg.rose_truncation, undefined);
      assert.equal((await Tokenizer.load(dirFiles(out))).truncation, "tail");
      writeFileSync(join(out, "tokenizer_config.json"), JSON.stringify({ ...tailCfg, truncation_side: "middle" }));
      await assert.rejects(
        Tokenizer.load(dirFiles(out)),
        (e: unknown) =>
          e instanceof FormatError && /tokenizer_config\.json: truncation_side must be "right" or "left"/.test((e as Error).message),
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
});

/** Lengths of the A and B segments of a BERT pair row. */
function segmentLengths(ids: number[]): [number, number] {
  const seps = ids.flatMap((id, i) => (id === 3 ? [i] : []));
  assert.equal(ids[0], 2);
  assert.equal(seps.length, 2);
  return [seps[0]! - 1, seps[1]! - seps[0]! - 1];
}

test("truncation longest_first on pairs", async () => {
  const tok = await Tokenizer.load(dirFiles(BERT));
  const cases: { a: number; b: number; max: number; want?: [number, number] }[] = [
    { a: 10, b: 3, max: 10, want: [4, 3] }, // the short side fits in its half: only the long side is cut
    { a: 3, b: 10, max: 10, want: [3, 4] },
    { a: 6, b: 8, max: 11, want: [4, 4] }, // both cut to half of the 8 free positions
    { a: 6, b: 8, max: 12 }, // odd: 9 free positions split 4/5
    { a: 2, b: 2, max: 10, want: [2, 2] }, // fits: untouched
    { a: 7, b: 7, max: 6, want: [1, 2] },
  ];
  for (const c of cases) {
    const enc = await tok.encodeBatch([sentence(c.a)], [sentence(c.b, 7)], { maxLength: c.max, padding: "max_length" });
    const ids = row(enc, 0, "inputIds");
    const real = ids.filter((_, i) => row(enc, 0, "attentionMask")[i] === 1);
    const [la, lb] = segmentLengths(real);
    if (c.want) assert.deepEqual([la, lb], c.want, JSON.stringify(c));
    else {
      assert.equal(la + lb, c.max - 3);
      assert.ok(Math.abs(la - lb) <= 1);
    }
    assert.ok(real.length <= c.max);
    // Truncation keeps the beginning of each segment.
    const a = (await tok.encode(sentence(c.a))).slice(1, -1);
    const b = (await tok.encode(sentence(c.b, 7))).slice(1, -1);
    assert.deepEqual(real.slice(1, 1 + la), a.slice(0, la));
    assert.deepEqual(real.slice(2 + la, 2 + la + lb), b.slice(0, lb));
  }
  // Truncation is per call: a later untruncated encode is complete.
  assert.equal((await tok.encode(sentence(30))).length, 32);
});

test("maxLength too small for the special tokens is a ConfigError, as are bad arguments", async () => {
  const tok = await Tokenizer.load(dirFiles(BERT));
  await assert.rejects(tok.encodeBatch(["good"], ["bad"], { maxLength: 2, padding: "longest" }), ConfigError);
  await assert.rejects(tok.encodeBatch(["good"], null, { maxLength: 1, padding: "longest" }), ConfigError);
  assert.throws(() => tok.encodeBatch(["a", "b"], ["c"], { maxLength: 8, padding: "longest" }), ConfigError);
  assert.throws(() => tok.encodeBatch(["a"], null, { maxLength: 0, padding: "longest" }), ConfigError);
  // The tokenizer still works afterwards.
  assert.equal((await tok.encode("good")).length, 3);
});

test("concurrent batches with different maxLength do not see each other's truncation", async () => {
  const tok = await Tokenizer.load(dirFiles(BERT));
  const texts = [sentence(12), sentence(9, 4)];
  const [x, y, z] = await Promise.all([
    tok.encodeBatch(texts, null, { maxLength: 5, padding: "longest" }),
    tok.encode(sentence(12)),
    tok.encodeBatch(texts, texts, { maxLength: 20, padding: "longest" }),
  ]);
  assert.equal(x.seq, 5);
  assert.equal(y.length, 14);
  assert.equal(z.seq, 20);
  assert.deepEqual(x, await tok.encodeBatch(texts, null, { maxLength: 5, padding: "longest" }));
});

test("vocab.txt alone builds the same tokenizer as tokenizer.json", async () => {
  const dir = tmp();
  try {
    copyFileSync(join(BERT, "vocab.txt"), join(dir, "vocab.txt"));
    copyFileSync(join(BERT, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
    const fromVocab = await Tokenizer.load(dirFiles(dir));
    const fromJson = await Tokenizer.load(dirFiles(BERT));
    assert.equal(fromVocab.kind, "wordpiece");
    assert.equal(fromVocab.vocabSize, fromJson.vocabSize);
    assert.deepEqual(fromVocab.specialIds, fromJson.specialIds);
    const sentences = [
      sentence(8),
      sentence(6, 20).toUpperCase(),
      `${WORDS[3]}${PIECES[0]} ${WORDS[9]}${PIECES[1]}, ${WORDS[12]}!`,
      `zebra ${WORDS[1]} [MASK] ${WORDS[2]}?`,
      "  Ünïcödé\tfilm  ",
      "",
    ];
    for (const s of sentences) {
      assert.deepEqual(await fromVocab.encode(s), await fromJson.encode(s), s);
      assert.deepEqual(await fromVocab.tokenize(s), await fromJson.tokenize(s), s);
    }
    const opts = { maxLength: 9, padding: "max_length" } as const;
    assert.deepEqual(
      await fromVocab.encodeBatch(sentences, [...sentences].reverse(), opts),
      await fromJson.encodeBatch(sentences, [...sentences].reverse(), opts),
    );
    // Without tokenizer_config.json lower-casing defaults to on; doLowerCase: false turns it off.
    rmSync(join(dir, "tokenizer_config.json"));
    assert.deepEqual(await (await Tokenizer.load(dirFiles(dir))).tokenize("Movie"), ["movie"]);
    assert.deepEqual(await (await Tokenizer.load(dirFiles(dir), { doLowerCase: false })).tokenize("Movie"), ["[UNK]"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A tiny byte-level BPE: specials, the 256 byte symbols and a few merges. */
function writeTinyBpe(dir: string): void {
  const vocab: Record<string, number> = { "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3 };
  for (const c of byteLevelAlphabet()) vocab[c] = Object.keys(vocab).length;
  const merges = [
    ["Ġ", "t"],
    ["h", "e"],
    ["Ġt", "he"],
    ["Ġ", "c"],
    ["a", "t"],
    ["Ġc", "at"],
    ["t", "he"],
  ];
  for (const [x, y] of merges) vocab[x! + y!] = Object.keys(vocab).length;
  vocab["<mask>"] = Object.keys(vocab).length;
  writeFileSync(join(dir, "vocab.json"), JSON.stringify(vocab));
  writeFileSync(join(dir, "merges.txt"), `#version: 0.2\n${merges.map((m) => m.join(" ")).join("\n")}\n`);
}

test("RoBERTa byte-level BPE from vocab.json + merges.txt: <s> A </s></s> B </s>", async () => {
  const dir = tmp();
  try {
    writeTinyBpe(dir);
    const vocab = JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8")) as Record<string, number>;
    const tok = await Tokenizer.load(dirFiles(dir));
    assert.equal(tok.kind, "bpe");
    assert.deepEqual(tok.specialIds, { pad: 1, cls: 0, sep: 2, mask: vocab["<mask>"], unk: 3 });
    assert.equal(tok.maskToken, "<mask>");
    assert.deepEqual(await tok.tokenize("the cat"), ["the", "Ġcat"]);
    const enc = await tok.encodeBatch(["the cat", "at"], ["a cat", "the"], { maxLength: 12, padding: "max_length" });
    const toks = row(enc, 0, "inputIds").map((id) => tok.idToToken(id));
    assert.deepEqual(toks, ["<s>", "the", "Ġcat", "</s>", "</s>", "a", "Ġcat", "</s>", "<pad>", "<pad>", "<pad>", "<pad>"]);
    assert.ok(
      row(enc, 0, "tokenTypeIds").every((t) => t === 0),
      "RoBERTa pairs have type id 0 throughout",
    );
    assert.deepEqual(
      row(enc, 1, "inputIds")
        .map((id) => tok.idToToken(id))
        .slice(0, 6),
      ["<s>", "at", "</s>", "</s>", "the", "</s>"],
    );
    assert.equal(await tok.decode(await tok.encode("the cat sat")), "the cat sat");
    // <mask> swallows the space before it, as in RoBERTa.
    assert.deepEqual((await tok.encode("the <mask>")).slice(1, -1), [vocab.the, vocab["<mask>"]]);
    // Saved and reloaded from tokenizer.json it behaves the same; a minimal tokenizer_config.json is written.
    const out = join(dir, "saved");
    tok.save(dirSink(out));
    const again = await Tokenizer.load(dirFiles(out));
    assert.deepEqual(
      await again.encodeBatch(["the cat"], ["a cat"], { maxLength: 12, padding: "longest" }),
      await tok.encodeBatch(["the cat"], ["a cat"], { maxLength: 12, padding: "longest" }),
    );
    const cfg = JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8"));
    assert.equal(cfg.tokenizer_class, "RobertaTokenizer");
    assert.equal(cfg.mask_token, "<mask>");
    assert.ok(existsSync(join(out, "vocab.json")) && existsSync(join(out, "merges.txt")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("save writes a loadable tokenizer.json plus the companion files", async () => {
  const dir = tmp();
  try {
    const tok = await Tokenizer.load(dirFiles(BERT));
    await tok.encodeBatch([sentence(20)], null, { maxLength: 6, padding: "longest" });
    tok.save(dirSink(dir));
    for (const f of ["tokenizer.json", "vocab.txt", "tokenizer_config.json"]) assert.ok(existsSync(join(dir, f)), f);
    assert.deepEqual(readFileSync(join(dir, "vocab.txt")), readFileSync(join(BERT, "vocab.txt")));
    const saved = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
    assert.equal(saved.truncation, null);
    assert.equal(saved.padding, null);
    assert.deepEqual(saved.model.vocab, JSON.parse(readFileSync(join(BERT, "tokenizer.json"), "utf8")).model.vocab);
    const again = await Tokenizer.load(dirFiles(dir));
    for (const s of [sentence(7), "Boring films!"]) assert.deepEqual(await again.encode(s, "the plot"), await tok.encode(s, "the plot"));
    // Saving onto its own directory is harmless.
    again.save(dirSink(dir));
    assert.deepEqual(await (await Tokenizer.load(dirFiles(dir))).encode("good"), await tok.encode("good"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("missing or broken tokenizer files give a FormatError naming the file", async () => {
  const dir = tmp();
  try {
    await assert.rejects(
      Tokenizer.load(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file === dir && /no tokenizer\.json, vocab\.txt/.test(e.message),
    );
    writeFileSync(join(dir, "vocab.json"), "{}");
    await assert.rejects(Tokenizer.load(dirFiles(dir)), (e: unknown) => e instanceof FormatError && e.file === join(dir, "merges.txt"));
    writeFileSync(join(dir, "merges.txt"), "#version: 0.2\na b c\n");
    await assert.rejects(Tokenizer.load(dirFiles(dir)), (e: unknown) => e instanceof FormatError && /line 2/.test(e.message));
    writeFileSync(join(dir, "vocab.txt"), "hello\nworld\n");
    await assert.rejects(
      Tokenizer.load(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file === join(dir, "vocab.txt") && /no pad token/.test(e.message),
    );
    writeFileSync(join(dir, "tokenizer.json"), "{not json");
    await assert.rejects(Tokenizer.load(dirFiles(dir)), (e: unknown) => e instanceof FormatError && e.file === join(dir, "tokenizer.json"));
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "Nope" } }));
    await assert.rejects(Tokenizer.load(dirFiles(dir)), (e: unknown) => e instanceof FormatError && e.file === join(dir, "tokenizer.json"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
