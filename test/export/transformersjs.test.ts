// `rose export` folders loaded by transformers.js (@huggingface/transformers) in this process, strictly
// offline, for every architecture rose supports: AutoTokenizer gives rose's token ids (and token types where
// the model reads them), AutoModelForSequenceClassification and the text-classification pipeline give rose's
// probabilities (Predictor, predictText) within 1e-4, for single texts and pairs; a text longer than the model
// takes is cut at the model's limit. The golden RoBERTa and ModernBERTs are ids-only, so the test gives them
// tokenizers over their ids: a byte-level BPE (RoBERTa), a SentencePiece model (XLM-RoBERTa, CamemBERT: the
// golden RoBERTa's weights under those model types) and a WordPiece vocabulary (ModernBERT, as
// test/models/modernbert-e2e.test.ts does).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportModel, withModelMaxLength } from "../../src/app/export.ts";
import { predictText } from "../../src/app/predict.ts";
import { Predictor, softmax } from "../../src/infer/predictor.ts";
import { maxInputLength } from "../../src/io/config.ts";
import { MemoryFiles } from "../../src/io/files.ts";
import { PIECE_TYPES } from "../../src/io/sentencepiece.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";
import { spmBytes } from "../helpers/sentencepiece.ts";

type TransformersJs = typeof import("@huggingface/transformers");

const GOLDEN = new URL("../fixtures/golden/models/", import.meta.url).pathname;
const TOLERANCE = 1e-4;

// Short enough for the golden DeBERTa-v3's 16 positions and the RoBERTa's 24 tokens (checked below: rose
// must not truncate them, as transformers.js does not).
const TEXTS = ["the movie was good", "this plot is dull", "a great film"];
const PAIRS: [string, string][] = [
  ["the film was fun", "the story is bad"],
  ["a good film", "this plot is bad"],
];
const ALL_TEXTS = [...TEXTS, ...PAIRS.flat()];
/** Longer than every model here takes: both sides must cut it to the model's limit, keeping its head. */
const LONG = Array.from({ length: 12 }, (_, i) => (i % 2 ? "this plot is dull" : "the movie was good")).join(" ");

const root = mkdtempSync(join(tmpdir(), "rose-transformersjs-"));
after(() => rmSync(root, { recursive: true, force: true }));
const sources = join(root, "sources");
const exports = join(root, "exports");
const cacheDir = join(root, "cache");

/** The golden `name`'s config (with `config` merged in) and weights in a new folder under sources/. */
function goldenWeights(name: string, as: string, config: Record<string, unknown> = {}): string {
  const dir = join(sources, as);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(GOLDEN, name, "model.safetensors"), join(dir, "model.safetensors"));
  const cfg = { ...(JSON.parse(readFileSync(join(GOLDEN, name, "config.json"), "utf8")) as Record<string, unknown>), ...config };
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  return dir;
}

/** Words of the test texts, each with `space` before it unless it starts a text, most frequent first. */
function words(space: string): string[] {
  const count = new Map<string, number>();
  for (const t of ALL_TEXTS) {
    for (const [i, w] of t.split(" ").entries()) {
      const form = i ? space + w : w;
      count.set(form, (count.get(form) ?? 0) + 1);
    }
  }
  return [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)!);
}

/**
 * A byte-level BPE over the golden RoBERTa's 61 ids: <s> <pad> </s> <unk> <mask>, the symbols of the test
 * texts (Ġ for the space) and merges building their words left to right, most frequent first.
 */
function writeRobertaBpe(dir: string, size: number): void {
  const vocab: Record<string, number> = { "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4 };
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (const c of [...new Set(ALL_TEXTS.join(" ").replaceAll(" ", "Ġ"))].sort()) add(c);
  const merges: [string, string][] = [];
  for (const w of words("Ġ")) {
    let left = w[0]!;
    for (const c of w.slice(1)) {
      if (Object.keys(vocab).length >= size) break;
      if (!(left + c in vocab)) merges.push([left, c]);
      add(left + c);
      left += c;
    }
  }
  assert.equal(Object.keys(vocab).length, size);
  writeFileSync(join(dir, "vocab.json"), JSON.stringify(vocab));
  writeFileSync(join(dir, "merges.txt"), `#version: 0.2\n${merges.map((m) => m.join(" ")).join("\n")}\n`);
}

/**
 * A unigram sentencepiece.bpe.model for XLM-RoBERTa's fairseq ids (SentencePiece id + 1, <pad> 1, <mask>
 * last) within `size` ids: <unk> <s> </s>, the test words as ▁word, then single characters as a fallback.
 */
function writeSentencePiece(dir: string, size: number): void {
  const pieces: [string, number, number][] = [
    ["<unk>", 0, PIECE_TYPES.unknown],
    ["<s>", 0, PIECE_TYPES.control],
    ["</s>", 0, PIECE_TYPES.control],
    ["▁", -3, PIECE_TYPES.normal],
  ];
  for (const c of [...new Set(ALL_TEXTS.join("").replaceAll(" ", ""))].sort()) pieces.push([c, -5, PIECE_TYPES.normal]);
  const whole = [...new Set(words("").map((w) => `▁${w}`))];
  for (const [i, w] of whole.entries()) if (pieces.length < size - 2) pieces.push([w, -1 - i / 100, PIECE_TYPES.normal]);
  writeFileSync(join(dir, "sentencepiece.bpe.model"), spmBytes({ pieces }));
}

/** A WordPiece vocabulary over ModernBERT's 64 ids: [UNK] 0, [CLS] 1, [SEP] 2, [PAD] 3 (the config's pad id), [MASK] 4. */
function writeModernBertWordPiece(dir: string): void {
  const rest = readFileSync(join(GOLDEN_BERT, "vocab.txt"), "utf8").trim().split("\n").slice(5);
  const vocab = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", ...rest];
  while (vocab.length < 64) vocab.push(`[unused${vocab.length}]`);
  writeFileSync(join(dir, "vocab.txt"), `${vocab.join("\n")}\n`);
  const special = { unk_token: "[UNK]", cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", mask_token: "[MASK]" };
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "BertTokenizer", do_lower_case: true, ...special }));
}

interface Case {
  name: string;
  /** The class transformers.js must pick from the exported config.json. */
  modelClass: string;
  /** Whether the exported ONNX model reads token_type_ids. */
  tokenTypes: boolean;
  /** The folder `rose export` reads. */
  source: () => string;
}

const CASES: Case[] = [
  { name: "bert", modelClass: "BertForSequenceClassification", tokenTypes: true, source: () => join(GOLDEN, "bert") },
  { name: "distilbert", modelClass: "DistilBertForSequenceClassification", tokenTypes: false, source: () => join(GOLDEN, "distilbert") },
  { name: "electra", modelClass: "ElectraForSequenceClassification", tokenTypes: true, source: () => join(GOLDEN, "electra") },
  { name: "deberta-v3", modelClass: "DebertaV2ForSequenceClassification", tokenTypes: false, source: () => join(GOLDEN, "deberta-v3") },
  {
    name: "roberta",
    modelClass: "RobertaForSequenceClassification",
    tokenTypes: false,
    source: () => {
      const dir = goldenWeights("roberta", "roberta");
      writeRobertaBpe(dir, 61);
      return dir;
    },
  },
  ...(["xlm-roberta", "camembert"] as const).map(
    (type): Case => ({
      name: type,
      modelClass: type === "camembert" ? "CamembertForSequenceClassification" : "XLMRobertaForSequenceClassification",
      tokenTypes: false,
      source: () => {
        const arch = type === "camembert" ? "CamembertForSequenceClassification" : "XLMRobertaForSequenceClassification";
        const dir = goldenWeights("roberta", type, { model_type: type, architectures: [arch] });
        writeSentencePiece(dir, 61);
        return dir;
      },
    }),
  ),
  ...["modernbert", "modernbert-mean"].map(
    (name): Case => ({
      name,
      modelClass: "ModernBertForSequenceClassification",
      tokenTypes: false,
      source: () => {
        const dir = goldenWeights(name, name);
        writeModernBertWordPiece(dir);
        return dir;
      },
    }),
  ),
];

let tjs: TransformersJs | null = null;
let unavailable = "";

before(async () => {
  try {
    tjs = await import("@huggingface/transformers");
  } catch (e) {
    // CI installs the devDependencies and must run these tests; a partial install elsewhere skips them.
    if (process.env.ROSE_REQUIRE_SERVICES === "1") throw e;
    unavailable = `@huggingface/transformers cannot be loaded here (${(e as Error).message.split("\n")[0]})`;
    return;
  }
  const { env } = tjs;
  // Strictly offline: model ids resolve under exports/ only, nothing is cached, and any network request fails.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = exports;
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.cacheDir = cacheDir;
  env.fetch = async (input: string | URL) => {
    throw new Error(`transformers.js tried the network: ${String(input)}`);
  };
  env.logLevel = tjs.LogLevel.ERROR;
});

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const numbers = (rows: unknown) => (rows as (bigint | number)[][]).map((r) => r.map(Number));

for (const c of CASES) {
  describe(`transformers.js loads rose export's ${c.name}`, () => {
    const out = join(exports, c.name);
    let rose: PretrainedModel;

    before(async () => {
      if (!tjs) return;
      const r = await exportModel({ model: c.source(), out });
      assert.equal(r.tokenizer, true);
      rose = await PretrainedModel.load(dirFiles(out));
    });

    test("AutoTokenizer gives rose's ids (and token types where the model reads them), singles and pairs", async (t) => {
      if (!tjs) return t.skip(unavailable);
      const tok = await tjs.AutoTokenizer.from_pretrained(c.name);
      const pred = new Predictor(rose);
      const encoded = await pred.encode([...TEXTS.map((text) => ({ text })), ...PAIRS.map(([text, pair]) => ({ text, pair }))]);
      const inputs = [...TEXTS.map((text) => [text] as const), ...PAIRS];
      for (const [i, [text, pair]] of inputs.entries()) {
        const theirs = tok(text, pair === undefined ? {} : { text_pair: pair });
        const ids = numbers(theirs.input_ids.tolist())[0]!;
        const what = JSON.stringify(pair === undefined ? text : [text, pair]);
        assert.deepEqual(ids, await rose.tokenizer!.encode(text, pair), `${what}: ids`);
        // Rose's predictor ids: untruncated, so the probabilities below compare whole inputs.
        assert.deepEqual([...encoded[i]!.ids], ids, `${what}: predictor ids`);
        if (c.tokenTypes) {
          const types = numbers(theirs.token_type_ids!.tolist())[0]!;
          assert.deepEqual([...encoded[i]!.typeIds], types, `${what}: token types`);
        }
      }
    });

    test(`AutoModelForSequenceClassification is ${c.modelClass} and gives rose's probabilities within ${TOLERANCE}`, async (t) => {
      if (!tjs) return t.skip(unavailable);
      const tok = await tjs.AutoTokenizer.from_pretrained(c.name);
      const model = await tjs.AutoModelForSequenceClassification.from_pretrained(c.name, { dtype: "fp32", device: "cpu" });
      try {
        assert.equal(model.constructor.name, c.modelClass);
        // Padded batches: transformers.js pads to the longest row, rose runs length buckets.
        const singles = await model(tok(TEXTS, { padding: true }));
        const pairs = await model(
          tok(
            PAIRS.map((p) => p[0]),
            { text_pair: PAIRS.map((p) => p[1]), padding: true },
          ),
        );
        const theirs = [...(singles.logits.tolist() as number[][]), ...(pairs.logits.tolist() as number[][])].map((l) => softmax(l));
        const pred = new Predictor(rose, { threads: 1 });
        const ours = await pred.probabilities([...TEXTS.map((text) => ({ text })), ...PAIRS.map(([text, pair]) => ({ text, pair }))]);
        await pred.release();
        let worst = 0;
        for (const [i, p] of ours.entries()) worst = Math.max(worst, maxAbs(p, theirs[i]!));
        t.diagnostic(`${c.name}: max probability difference ${worst.toExponential(2)}`);
        assert.ok(worst < TOLERANCE, `probabilities off by ${worst}`);
      } finally {
        await model.dispose();
      }
    });

    // transformers.js 4.3.2's text-classification pipeline tokenizes single texts only (no text_pair): pairs
    // are compared through AutoTokenizer above.
    test("the text-classification pipeline (top_k null) gives predictText's labels and probabilities", async (t) => {
      if (!tjs) return t.skip(unavailable);
      const classify = await tjs.pipeline("text-classification", c.name);
      try {
        const all = (await classify(TEXTS, { top_k: null })) as { label: string; score: number }[][];
        assert.equal(all.length, TEXTS.length);
        for (const [i, text] of TEXTS.entries()) {
          const r = await predictText({ model: out, text, threads: 1 });
          assert.equal(r.kind, "label");
          if (r.kind !== "label") return;
          const scores = all[i]!;
          assert.deepEqual(scores.map((s) => s.label).sort(), r.probabilities.map(([l]) => l).sort());
          assert.equal(scores[0]!.label, r.label, JSON.stringify(text));
          for (const [label, p] of r.probabilities) {
            const s = scores.find((x) => x.label === label)!.score;
            assert.ok(Math.abs(s - p) < TOLERANCE, `${JSON.stringify(text)} ${label}: ${s} vs rose ${p}`);
          }
        }
      } finally {
        await classify.dispose();
      }
    });

    // transformers.js 4.3.2 truncates an encoded text (special tokens included) to model_max_length, so it loses
    // the final [SEP] / </s> that rose (and Python transformers) keep: the two differ on texts longer than the
    // model takes. What must hold is that transformers.js truncates at the model's limit, which the export
    // states (no position past the table), and that the model gives rose's probabilities on the ids it ran.
    test("a text longer than the model takes: cut at the model's limit, rose's probabilities on the ids transformers.js ran", async (t) => {
      if (!tjs) return t.skip(unavailable);
      const limit = maxInputLength(rose.cfg, Number.POSITIVE_INFINITY);
      const tok = await tjs.AutoTokenizer.from_pretrained(c.name);
      assert.equal(tok.model_max_length, limit);
      const whole = await rose.tokenizer!.encode(LONG);
      assert.ok(whole.length > limit, `${whole.length} tokens`);
      const classify = await tjs.pipeline("text-classification", c.name);
      try {
        const theirs = tok(LONG, { truncation: true });
        const ids = numbers(theirs.input_ids.tolist())[0]!;
        assert.deepEqual(ids, whole.slice(0, limit), "transformers.js keeps the first model_max_length ids");
        const pred = new Predictor(rose, { threads: 1 });
        const [ours] = await pred.encode([{ text: LONG }]);
        assert.deepEqual([...ours!.ids], [...whole.slice(0, limit - 1), whole.at(-1)!], "rose keeps the final special token");
        const typeIds = c.tokenTypes ? Uint8Array.from(numbers(theirs.token_type_ids!.tolist())[0]!) : new Uint8Array(ids.length);
        const [logits] = await pred.logitsEncoded([{ ids: Int32Array.from(ids), typeIds, label: null }]);
        await pred.release();
        const scores = (await classify(LONG, { top_k: null })) as { label: string; score: number }[];
        const p = softmax(logits!);
        for (const [k, label] of Object.entries(rose.cfg.id2label)) {
          const s = scores.find((x) => x.label === label)!.score;
          assert.ok(Math.abs(s - p[Number(k)]!) < TOLERANCE, `${label}: ${s} vs rose ${p[Number(k)]}`);
        }
      } finally {
        await classify.dispose();
      }
      // Nothing was cached: the temp cache folder was never made, and the export holds only what rose wrote.
      assert.equal(existsSync(cacheDir), false);
      assert.deepEqual(readdirSync(join(out, "onnx")), ["model.onnx"]);
    });
  });
}

test("export states the model's limit as model_max_length where the source gives none, an unbounded or a larger one", async () => {
  const model = await PretrainedModel.load(dirFiles(join(GOLDEN, "bert")));
  assert.equal(maxInputLength(model.cfg, Number.POSITIVE_INFINITY), 24);
  const written = (config: Record<string, unknown>) => {
    const sink = new MemoryFiles("out");
    const text = JSON.stringify(config);
    withModelMaxLength(sink, model.cfg).write("tokenizer_config.json", text);
    withModelMaxLength(sink, model.cfg).write("vocab.txt", "[PAD]\n");
    assert.equal(new TextDecoder().decode(sink.read("vocab.txt")), "[PAD]\n");
    const out = new TextDecoder().decode(sink.read("tokenizer_config.json"));
    return { same: out === text, json: JSON.parse(out) as Record<string, unknown> };
  };
  assert.deepEqual(written({ do_lower_case: true }).json, { do_lower_case: true, model_max_length: 24 });
  assert.equal(written({ model_max_length: 1e30 }).json.model_max_length, 24);
  assert.equal(written({ model_max_length: 512 }).json.model_max_length, 24);
  assert.equal(written({ model_max_length: 0 }).json.model_max_length, 24);
  // A limit the model can take is the user's choice: the file is written as it was.
  assert.equal(written({ model_max_length: 16, tokenizer_class: "BertTokenizer" }).same, true);
  assert.equal(written({ model_max_length: 24 }).same, true);
});
