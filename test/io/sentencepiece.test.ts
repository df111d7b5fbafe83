import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer, type EncodedBatch } from "../../src/io/tokenizer.ts";
import { MemoryFiles } from "../../src/io/files.ts";
import { parseSentencePieceModel, PIECE_TYPES } from "../../src/io/sentencepiece.ts";
import { FormatError } from "../../src/errors.ts";
import { dirFiles } from "../../src/node/files.ts";
import { type SyntheticSpm, spmBytes } from "../helpers/sentencepiece.ts";

const DEBERTA = new URL("../fixtures/golden/models/deberta-v3/", import.meta.url).pathname;
const SPM = readFileSync(join(DEBERTA, "spm.model"));

interface Sample {
  text: string;
  input_ids: number[];
  pieces: string[];
  note: string;
}
const SAMPLES: Sample[] = JSON.parse(readFileSync(join(DEBERTA, "tokenization.json"), "utf8")).samples;

/** The golden folder's tokenizer files in memory, with `replace` swapped in (null: left out). */
function goldenFiles(replace: Record<string, Uint8Array | string | null> = {}): MemoryFiles {
  const files = new MemoryFiles("mem");
  for (const f of ["spm.model", "tokenizer_config.json", "special_tokens_map.json"]) files.write(f, readFileSync(join(DEBERTA, f)));
  for (const [name, data] of Object.entries(replace)) {
    if (data === null) files.files.delete(name);
    else files.write(name, data);
  }
  return files;
}

function row(b: EncodedBatch, r: number, what: "inputIds" | "attentionMask" | "tokenTypeIds"): number[] {
  return [...b[what].subarray(r * b.seq, (r + 1) * b.seq)].map(Number);
}

async function assertGolden(tok: Tokenizer, where: string): Promise<void> {
  for (const s of SAMPLES) {
    assert.deepEqual(await tok.encode(s.text), s.input_ids, `${where}: ${JSON.stringify(s.text)} (${s.note})`);
    // An unknown run keeps its text as the token, as SentencePiece's piece does.
    assert.deepEqual(await tok.tokenize(s.text), s.pieces, `${where}: pieces of ${JSON.stringify(s.text)}`);
  }
}

const WORDS: [string, number][] = [
  ["▁a", -1],
  ["▁b", -1.5],
  ["a", -3],
  ["b", -3],
  ["▁", -2],
  [",", -2.5],
  ["▁ab", -1.2],
];

test("golden DeBERTa-v3: every tokenization.json text gives DebertaV2Tokenizer's ids from spm.model", async () => {
  const tok = await Tokenizer.load(dirFiles(DEBERTA));
  assert.equal(tok.kind, "unigram");
  assert.equal(tok.vocabSize, 256);
  assert.deepEqual(tok.specialIds, { pad: 0, cls: 1, sep: 2, unk: 3, mask: 4 });
  assert.equal(tok.maskToken, "[MASK]");
  assert.equal(tok.modelMaxLength, 16);
  assert.equal(SAMPLES.length, 12);
  await assertGolden(tok, "spm.model");
  assert.equal(await tok.decode(await tok.encode("The movie was good.")), "The movie was good.");
  // [MASK] is a user-defined piece: matched as one token wherever it appears.
  assert.deepEqual(await tok.encode("a [MASK] film"), [1, 5, 4, 30, 2]);
});

test("the parsed ModelProto: pieces, types, trainer and normalizer specs", () => {
  const m = parseSentencePieceModel(SPM, "spm.model");
  assert.equal(m.pieces.length, 256);
  assert.deepEqual(
    m.pieces.slice(0, 5).map((p) => [p.piece, p.type]),
    [
      ["[PAD]", PIECE_TYPES.control],
      ["[CLS]", PIECE_TYPES.control],
      ["[SEP]", PIECE_TYPES.control],
      ["[UNK]", PIECE_TYPES.unknown],
      ["[MASK]", PIECE_TYPES.userDefined],
    ],
  );
  assert.equal(m.pieces[5]!.piece, "▁a");
  assert.equal(m.pieces[5]!.score, Math.fround(m.pieces[5]!.score));
  assert.ok(m.pieces[5]!.score < 0);
  assert.deepEqual(m.trainer, { modelType: "unigram", unkId: 3, bosId: 1, eosId: 2, padId: 0, byteFallback: false });
  assert.equal(m.normalizer.name, "nmt_nfkc");
  assert.ok(m.normalizer.precompiledCharsmap.length > 100_000);
  assert.deepEqual([m.normalizer.addDummyPrefix, m.normalizer.removeExtraWhitespaces, m.normalizer.escapeWhitespaces], [true, true, true]);
});

test("save writes the converted tokenizer.json (with spm.model and configs); reloaded, alone too, it gives the golden ids", async () => {
  const tok = await Tokenizer.load(dirFiles(DEBERTA));
  const out = new MemoryFiles("saved");
  tok.save(out);
  assert.deepEqual(out.names().sort(), ["special_tokens_map.json", "spm.model", "tokenizer.json", "tokenizer_config.json"]);
  assert.ok(SPM.equals(out.read("spm.model")));
  const json = JSON.parse(new TextDecoder().decode(out.read("tokenizer.json")));
  // What transformers' DebertaV2Converter writes.
  assert.deepEqual(
    json.normalizer.normalizers.map((n: { type: string }) => n.type),
    ["Strip", "Precompiled", "Replace"],
  );
  assert.deepEqual(json.normalizer.normalizers[0], { type: "Strip", strip_left: true, strip_right: true });
  assert.deepEqual(json.normalizer.normalizers[2], { type: "Replace", pattern: { Regex: " {2,}" }, content: " " });
  const charsmap = parseSentencePieceModel(SPM, "spm.model").normalizer.precompiledCharsmap;
  assert.ok(Buffer.from(json.normalizer.normalizers[1].precompiled_charsmap, "base64").equals(charsmap));
  assert.deepEqual(json.pre_tokenizer, {
    type: "Sequence",
    pretokenizers: [{ type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true }],
  });
  assert.deepEqual(json.decoder, { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true });
  assert.equal(json.model.type, "Unigram");
  assert.equal(json.model.unk_id, 3);
  assert.equal(json.model.byte_fallback, false);
  assert.equal(json.model.vocab.length, 256);
  assert.deepEqual(json.model.vocab[0], ["[PAD]", 0]);
  assert.equal(json.post_processor.type, "TemplateProcessing");
  assert.deepEqual(
    json.added_tokens.map((t: { id: number; content: string; special: boolean; normalized: boolean }) => [
      t.id,
      t.content,
      t.special,
      t.normalized,
    ]),
    [
      [0, "[PAD]", true, false],
      [1, "[CLS]", true, false],
      [2, "[SEP]", true, false],
      [3, "[UNK]", true, false],
      [4, "[MASK]", true, false],
    ],
  );
  await assertGolden(await Tokenizer.load(out), "saved folder");
  // transformers.js reads tokenizer.json (and tokenizer_config.json) only.
  const alone = new MemoryFiles("alone", [
    ["tokenizer.json", out.read("tokenizer.json")],
    ["tokenizer_config.json", out.read("tokenizer_config.json")],
  ]);
  await assertGolden(await Tokenizer.load(alone), "tokenizer.json alone");
});

test("pairs, padding and truncation: [CLS] A [SEP] B [SEP] with type ids 0 then 1", async () => {
  const tok = await Tokenizer.load(dirFiles(DEBERTA));
  const a = await tok.encode("the film");
  const b = await tok.encode("was fun");
  assert.deepEqual(a, [1, 11, 30, 2]);
  const enc2 = await tok.encodeBatch(["the film", "the"], ["was fun", "film"], { maxLength: 16, padding: "longest" });
  const pair = [...a, ...b.slice(1)];
  assert.equal(enc2.seq, pair.length);
  assert.deepEqual(row(enc2, 0, "inputIds"), pair);
  assert.deepEqual(row(enc2, 0, "tokenTypeIds"), [...a.map(() => 0), ...b.slice(1).map(() => 1)]);
  const pad = (r: number[], v: number) => [...r, ...Array<number>(pair.length - r.length).fill(v)];
  assert.deepEqual(row(enc2, 1, "inputIds"), pad([1, 11, 2, 30, 2], 0));
  assert.deepEqual(row(enc2, 1, "tokenTypeIds"), pad([0, 0, 0, 1, 1], 0));
  assert.deepEqual(row(enc2, 1, "attentionMask"), pad([1, 1, 1, 1, 1], 0));
  assert.deepEqual(await tok.encode("the film", "was fun"), pair);

  const long = SAMPLES[1]!; // 16 pieces
  const text = long.input_ids.slice(1, -1);
  const head = await tok.encodeBatch([long.text], null, { maxLength: 6, padding: "max_length" });
  assert.deepEqual(row(head, 0, "inputIds"), [1, ...text.slice(0, 4), 2]);
  const tail = await tok.encodeBatch([long.text], null, { maxLength: 6, padding: "longest", truncation: "tail" });
  assert.deepEqual(row(tail, 0, "inputIds"), [1, ...text.slice(-4), 2]);
  const both = await tok.encodeBatch([long.text], null, { maxLength: 7, padding: "longest", truncation: "head+tail" });
  assert.deepEqual(row(both, 0, "inputIds"), [1, ...text.slice(0, 3), ...text.slice(-2), 2]);
  const pairs = await tok.encodeBatch([long.text], ["the film"], { maxLength: 8, padding: "longest" });
  assert.deepEqual(row(pairs, 0, "inputIds"), [1, ...text.slice(0, 3), 2, 11, 30, 2]);
});

test("a truncated or corrupt spm.model is refused with one line naming the file", async () => {
  const cuts = [0, 1, 2, 7, 100, 3000, 3290, Math.floor(SPM.length / 2), SPM.length - 1];
  for (const n of cuts) {
    await assert.rejects(
      Tokenizer.load(goldenFiles({ "spm.model": SPM.subarray(0, n) })),
      (e: Error) => e instanceof FormatError && e.message.startsWith("mem/spm.model: ") && !e.message.includes("\n"),
      `cut at ${n}`,
    );
  }
  const refused = async (bytes: Uint8Array | string, pattern: RegExp) =>
    assert.rejects(Tokenizer.load(goldenFiles({ "spm.model": bytes })), (e: Error) => {
      assert.ok(e instanceof FormatError, e.message);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  await refused(
    '{"version": "1.0"}',
    /^mem\/spm\.model: unsupported wire type 3 at byte 1 \(a truncated file, or not a SentencePiece model\)$/,
  );
  await refused(readFileSync(join(DEBERTA, "tokenizer_config.json")), /^mem\/spm\.model: /);
  // A charsmap the tokenizers library would index out of bounds (it aborts the process on that).
  const pieces: SyntheticSpm["pieces"] = [["<unk>", 0, PIECE_TYPES.unknown], ...WORDS];
  await refused(spmBytes({ pieces, charsmap: [1, 2, 3] }), /precompiled_charsmap: shorter than its 4-byte header/);
  await refused(spmBytes({ pieces, charsmap: [255, 255, 0, 0, 1, 2, 3, 4] }), /precompiled_charsmap: a trie of 16383 units does not fit/);
  await refused(
    spmBytes({ pieces, charsmap: [8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }),
    /precompiled_charsmap: trie node 0 has children past the end/,
  );
  // The golden charsmap with its trie's root unit pointing far outside the trie.
  const charsmap = parseSentencePieceModel(SPM, "spm.model").normalizer.precompiledCharsmap;
  const corrupt = Uint8Array.from(SPM);
  corrupt.fill(0xff, charsmap.byteOffset - SPM.byteOffset + 4, charsmap.byteOffset - SPM.byteOffset + 8);
  await refused(corrupt, /^mem\/spm\.model: normalizer_spec\.precompiled_charsmap: trie node \d+ has children past the end of the trie$/);
  await refused(
    spmBytes({ pieces: [["<unk>", 0, PIECE_TYPES.normal], ...WORDS] }),
    /unk_id 0 names "<unk>", which is not the unknown piece/,
  );
  await refused(spmBytes({ pieces: [...pieces, ["▁a", -5]] }), /pieces 1 and 8 are both "▁a"/);
  await refused(spmBytes({ pieces, unkId: 99 }), /unk_id 99 is not one of the 8 pieces/);
  await refused(spmBytes({ pieces, modelType: 2 }), /a bpe SentencePiece model; rose reads unigram models only/);
  await refused(spmBytes({ pieces: [["<unk>", 0, 9], ...WORDS] }), /unknown piece type 9/);
  const badUtf8 = spmBytes({
    pieces: [
      ["<unk>", 0, PIECE_TYPES.unknown],
      ["▁\u00e9", -1],
    ],
  });
  badUtf8[badUtf8.indexOf(0xc3)] = 0xff;
  await refused(badUtf8, /a piece is not UTF-8/);
  await assert.rejects(
    Tokenizer.load(goldenFiles({ "tokenizer_config.json": JSON.stringify({ tokenizer_class: "AlbertTokenizer" }) })),
    /^FormatError: mem\/tokenizer_config\.json: tokenizer_class "AlbertTokenizer" with spm\.model: rose reads SentencePiece models of DebertaV2Tokenizer and XLMRobertaTokenizer$/,
  );
});

test("DeBERTa-v3 as shipped: [MASK] not among the pieces is added after them; do_lower_case and split_by_punct", async () => {
  const pieces: SyntheticSpm["pieces"] = [
    ["[PAD]", 0, PIECE_TYPES.control],
    ["[CLS]", 0, PIECE_TYPES.control],
    ["[SEP]", 0, PIECE_TYPES.control],
    ["[UNK]", 0, PIECE_TYPES.unknown],
    ...WORDS,
  ];
  const files = new MemoryFiles("deberta", [["spm.model", spmBytes({ pieces, unkId: 3 })]]);
  const tok = await Tokenizer.load(files);
  assert.equal(tok.vocabSize, pieces.length + 1);
  assert.deepEqual(tok.specialIds, { pad: 0, cls: 1, sep: 2, unk: 3, mask: pieces.length });
  assert.deepEqual(await tok.tokenize("ab  b,a"), ["▁ab", "▁b", ",", "a"]);
  assert.deepEqual(await tok.encode("a [MASK]"), [1, 4, pieces.length, 2]);
  assert.deepEqual(await tok.encode("A"), [1, 8, 3, 2]);

  files.write(
    "tokenizer_config.json",
    JSON.stringify({ tokenizer_class: "DebertaV2Tokenizer", do_lower_case: true, split_by_punct: true }),
  );
  const lower = await Tokenizer.load(files);
  assert.deepEqual(await lower.tokenize("AB  B,A"), ["▁ab", "▁b", "▁", ",", "▁a"]);
  const saved = new MemoryFiles("saved");
  lower.save(saved);
  const json = JSON.parse(new TextDecoder().decode(saved.read("tokenizer.json")));
  assert.deepEqual(
    json.normalizer.normalizers.map((n: { type: string }) => n.type),
    ["Lowercase", "Strip", "Replace"],
  );
  assert.deepEqual(json.pre_tokenizer.pretokenizers[0], { type: "Punctuation", behavior: "Isolated" });
  assert.deepEqual(json.added_tokens.at(-1), {
    id: pieces.length,
    content: "[MASK]",
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
});

test("XLM-RoBERTa's sentencepiece.bpe.model: fairseq ids (<s> <pad> </s> <unk> first, <mask> last) and its pair template", async () => {
  const pieces: SyntheticSpm["pieces"] = [
    ["<unk>", 0, PIECE_TYPES.unknown],
    ["<s>", 0, PIECE_TYPES.control],
    ["</s>", 0, PIECE_TYPES.control],
    ...WORDS,
  ];
  const files = new MemoryFiles("xlmr", [["sentencepiece.bpe.model", spmBytes({ pieces })]]);
  const tok = await Tokenizer.load(files);
  assert.deepEqual(tok.specialTokens, { pad: "<pad>", cls: "<s>", sep: "</s>", mask: "<mask>", unk: "<unk>" });
  assert.deepEqual(tok.specialIds, { pad: 1, cls: 0, sep: 2, unk: 3, mask: pieces.length + 1 });
  assert.equal(tok.vocabSize, pieces.length + 2);
  // SentencePiece id i is fairseq id i + 1.
  const spmId = (p: string) => pieces.findIndex(([q]) => q === p);
  assert.deepEqual(await tok.encode("ab b"), [0, spmId("▁ab") + 1, spmId("▁b") + 1, 2]);
  assert.deepEqual(await tok.encode("A"), [0, spmId("▁") + 1, 3, 2]);
  const pair = await tok.encodeBatch(["a"], ["b"], { maxLength: 10, padding: "longest" });
  assert.deepEqual(row(pair, 0, "inputIds"), [0, spmId("▁a") + 1, 2, 2, spmId("▁b") + 1, 2]);
  assert.deepEqual(row(pair, 0, "tokenTypeIds"), [0, 0, 0, 0, 0, 0]);
  // <mask> takes the space before it, as XLMRobertaTokenizer's does.
  assert.deepEqual(await tok.encode("a <mask>"), [0, spmId("▁a") + 1, pieces.length + 1, 2]);
  assert.deepEqual(await tok.encode("a<mask>"), await tok.encode("a <mask>"));
  const saved = new MemoryFiles("saved");
  tok.save(saved);
  assert.ok(saved.has("sentencepiece.bpe.model"));
  const json = JSON.parse(new TextDecoder().decode(saved.read("tokenizer.json")));
  assert.deepEqual(json.model.vocab.slice(0, 5), [
    ["<s>", 0],
    ["<pad>", 0],
    ["</s>", 0],
    ["<unk>", 0],
    ["▁a", -1],
  ]);
  assert.deepEqual(json.model.vocab.at(-1), ["<mask>", 0]);
  assert.equal(json.model.unk_id, 3);
  // The fairseq shift assumes SentencePiece's <unk> <s> </s> at 0 1 2.
  const moved: SyntheticSpm["pieces"] = [
    ["<s>", 0, PIECE_TYPES.control],
    ["<unk>", 0, PIECE_TYPES.unknown],
    ["</s>", 0, PIECE_TYPES.control],
    ...WORDS,
  ];
  await assert.rejects(
    Tokenizer.load(new MemoryFiles("xlmr", [["sentencepiece.bpe.model", spmBytes({ pieces: moved, unkId: 1 })]])),
    /^FormatError: xlmr\/sentencepiece\.bpe\.model: unk, bos and eos ids are 1, 1, 2; XLM-RoBERTa's fairseq ids need 0, 1, 2$/,
  );
});

test("a folder with tokenizer.json ignores spm.model; without any tokenizer file the error names spm.model too", async () => {
  const tok = await Tokenizer.load(dirFiles(DEBERTA));
  const out = new MemoryFiles("both");
  tok.save(out);
  out.write("spm.model", new Uint8Array([0xff])); // not read: tokenizer.json comes first
  await assertGolden(await Tokenizer.load(out), "tokenizer.json over spm.model");
  await assert.rejects(
    Tokenizer.load(new MemoryFiles("empty", [["config.json", new Uint8Array(2)]])),
    /empty: no tokenizer\.json, vocab\.txt, vocab\.json \+ merges\.txt or spm\.model/,
  );
  // The golden folder itself has no stray tokenizer files this test relies on.
  assert.ok(!readdirSync(DEBERTA).includes("tokenizer.json"));
});
