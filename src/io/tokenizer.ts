// Tokenizers for BERT / DistilBERT (WordPiece) and RoBERTa (byte-level BPE), on the official Hugging Face
// `tokenizers` binding. A directory with tokenizer.json is loaded as is; otherwise the same tokenizer.json that
// transformers' slow->fast converter would produce is built from vocab.txt or vocab.json + merges.txt, so both
// paths run the identical Rust pipeline and save() always writes a tokenizer.json that Hugging Face can load.
import { ConfigError, FormatError, RoseError } from "../errors.ts";
import { fileLabel, type FileSink, type ModelFiles } from "./files.ts";
import { parseJsonBytes } from "./json.ts";
import { padRows, type PaddedBatch } from "./padding.ts";
import { parseSentencePieceModel, SENTENCEPIECE_FILES, type SentencePieceFlavour, sentencePieceTokenizerJson } from "./sentencepiece.ts";
import { type Encoding, requireTokenizerEngine, type TokenizerEngine } from "./tokenizer-engine.ts";
import { decodeTextStrict } from "./text.ts";

export interface SpecialTokens {
  pad: string;
  cls: string;
  sep: string;
  mask: string;
  unk: string;
}

export type SpecialIds = { [K in keyof SpecialTokens]: number };

/** Row-major [batch, seq] int64 tensors, right-padded. */
export type EncodedBatch = PaddedBatch;

export interface EncodeBatchOptions {
  /** Longer inputs are truncated ("longest_first" for pairs) so that, special tokens included, they fit. */
  maxLength: number;
  /** "longest": pad to the longest row of this batch; "max_length": pad every row to maxLength. */
  padding: "longest" | "max_length";
  /**
   * Which tokens of a long single text are kept: "head" (the first; the default, as Hugging Face truncates),
   * "tail" (the last) or "head+tail" (the first and last halves, Sun et al. 2019). Pairs are always
   * truncated "longest_first" from the end.
   */
  truncation?: Truncation;
}

export const TRUNCATIONS = ["head", "tail", "head+tail"] as const;
export type Truncation = (typeof TRUNCATIONS)[number];

export interface TokenizerFromDirOptions {
  /** Overrides tokenizer_config.json `do_lower_case` when building from vocab.txt or a SentencePiece model. */
  doLowerCase?: boolean;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type JsonObj = { [k: string]: Json };
type Kind = "wordpiece" | "bpe" | "unigram" | "other";

/** Files save() copies next to tokenizer.json when the source directory had them. */
const COMPANIONS = ["vocab.txt", "vocab.json", "merges.txt", ...SENTENCEPIECE_FILES, "special_tokens_map.json"];

const TOKENIZER_JSON = "tokenizer.json";
const TOKENIZER_CONFIG = "tokenizer_config.json";

const FALLBACK_NAMES: Record<keyof SpecialTokens, string[]> = {
  pad: ["[PAD]", "<pad>"],
  cls: ["[CLS]", "<s>"],
  sep: ["[SEP]", "</s>"],
  mask: ["[MASK]", "<mask>"],
  unk: ["[UNK]", "<unk>"],
};

/** Keys of tokenizer_config.json / special_tokens_map.json naming each special token, in order of preference. */
const CONFIG_KEYS: Record<keyof SpecialTokens, string[]> = {
  pad: ["pad_token"],
  cls: ["cls_token", "bos_token"],
  sep: ["sep_token", "eos_token"],
  mask: ["mask_token"],
  unk: ["unk_token"],
};

const SPECIAL_KEYS = Object.keys(FALLBACK_NAMES) as (keyof SpecialTokens)[];

function readJsonObject(files: ModelFiles, name: string): JsonObj {
  const file = fileLabel(files.origin, name);
  const v = parseJsonBytes<Json>(files.read(name), file);
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new FormatError(file, "not a JSON object");
  return v;
}

/** A special token entry is a string or a serialised AddedToken {content, lstrip, ...}. */
function tokenContent(v: Json | undefined): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && !Array.isArray(v) && typeof v.content === "string") return v.content;
  return undefined;
}

/** Reads tokenizer_config.json and special_tokens_map.json (either may be absent); the former wins. */
function readTokenizerConfig(files: ModelFiles): JsonObj {
  const out: JsonObj = {};
  for (const f of ["special_tokens_map.json", TOKENIZER_CONFIG]) {
    if (files.has(f)) Object.assign(out, readJsonObject(files, f));
  }
  return out;
}

function configuredName(cfg: JsonObj, key: keyof SpecialTokens): string | undefined {
  for (const k of CONFIG_KEYS[key]) {
    const c = tokenContent(cfg[k]);
    if (c !== undefined) return c;
  }
  return undefined;
}

/** Special token names: configured ones, else the conventional BERT or RoBERTa names present in `has`. */
function resolveSpecialNames(cfg: JsonObj, has: (t: string) => boolean, file: string): SpecialTokens {
  const out = {} as SpecialTokens;
  for (const key of SPECIAL_KEYS) {
    const configured = configuredName(cfg, key);
    const name = configured ?? FALLBACK_NAMES[key].find(has);
    if (name === undefined || !has(name)) {
      throw new FormatError(file, `no ${key} token${configured ? ` (${configured} from tokenizer_config.json)` : ""} in the vocabulary`);
    }
    out[key] = name;
  }
  return out;
}

function readLines(files: ModelFiles, name: string): string[] {
  const lines = decodeTextStrict(files.read(name), fileLabel(files.origin, name)).split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function addedToken(id: number, content: string, lstrip = false): JsonObj {
  return { id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true };
}

/** Special tokens as added_tokens, sorted by id, each once. */
function addedTokens(special: SpecialTokens, vocab: Record<string, number>, lstripMask: boolean): JsonObj[] {
  const seen = new Map<string, number>();
  for (const key of SPECIAL_KEYS) seen.set(special[key], vocab[special[key]]!);
  return [...seen].sort((a, b) => a[1] - b[1]).map(([c, id]) => addedToken(id, c, lstripMask && c === special.mask));
}

/** tokenizer.json equivalent to transformers' BertTokenizerFast built from vocab.txt. */
function wordPieceJson(files: ModelFiles, cfg: JsonObj, opts: TokenizerFromDirOptions): { json: JsonObj; special: SpecialTokens } {
  const file = fileLabel(files.origin, "vocab.txt");
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  // As the Rust reader does: one token per line, trailing whitespace dropped, the line number is the id.
  readLines(files, "vocab.txt").forEach((line, i) => {
    vocab[line.trimEnd()] = i;
  });
  if (Object.keys(vocab).length === 0) throw new FormatError(file, "empty vocabulary");
  const special = resolveSpecialNames(cfg, (t) => t in vocab, file);
  const lowercase = opts.doLowerCase ?? (typeof cfg.do_lower_case === "boolean" ? cfg.do_lower_case : true);
  const stripAccents = typeof cfg.strip_accents === "boolean" ? cfg.strip_accents : null;
  const chinese = typeof cfg.tokenize_chinese_chars === "boolean" ? cfg.tokenize_chinese_chars : true;
  const cls = special.cls;
  const sep = special.sep;
  const json: JsonObj = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens(special, vocab, false),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: chinese, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [vocab[cls]!], tokens: [cls] },
        [sep]: { id: sep, ids: [vocab[sep]!], tokens: [sep] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: special.unk, continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  };
  return { json, special };
}

/** tokenizer.json equivalent to transformers' RobertaTokenizerFast built from vocab.json + merges.txt. */
function byteLevelBpeJson(files: ModelFiles, cfg: JsonObj): { json: JsonObj; special: SpecialTokens } {
  const vocabFile = fileLabel(files.origin, "vocab.json");
  const mergesFile = fileLabel(files.origin, "merges.txt");
  if (!files.has("merges.txt")) throw new FormatError(mergesFile, "missing: vocab.json needs merges.txt next to it");
  const raw = readJsonObject(files, "vocab.json");
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [tok, id] of Object.entries(raw)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0)
      throw new FormatError(vocabFile, `token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}, not a non-negative integer`);
    vocab[tok] = id;
  }
  const merges: [string, string][] = [];
  readLines(files, "merges.txt").forEach((line, i) => {
    if (line.startsWith("#version") || line.trim() === "") return;
    const parts = line.split(" ");
    if (parts.length !== 2)
      throw new FormatError(mergesFile, `line ${i + 1}: expected two space-separated tokens, got ${JSON.stringify(line)}`);
    merges.push([parts[0]!, parts[1]!]);
  });
  const special = resolveSpecialNames(cfg, (t) => t in vocab, vocabFile);
  const addPrefixSpace = typeof cfg.add_prefix_space === "boolean" ? cfg.add_prefix_space : false;
  // RoBERTa's <mask> strips the space before it, so "a <mask>" tokenizes like "a" + " word".
  const maskCfg = readMaskLstrip(cfg);
  const json: JsonObj = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens(special, vocab, maskCfg),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "RobertaProcessing",
      sep: [special.sep, vocab[special.sep]!],
      cls: [special.cls, vocab[special.cls]!],
      trim_offsets: true,
      add_prefix_space: addPrefixSpace,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return { json, special };
}

/** The transformers class whose converter a SentencePiece model is read like: tokenizer_class, else the file name. */
function sentencePieceFlavour(cfg: JsonObj, name: string, files: ModelFiles): SentencePieceFlavour {
  const cls = cfg.tokenizer_class;
  if (cls === undefined) return name === "spm.model" ? "deberta-v2" : "xlm-roberta";
  if (cls === "DebertaV2Tokenizer" || cls === "DebertaV2TokenizerFast") return "deberta-v2";
  if (cls === "XLMRobertaTokenizer" || cls === "XLMRobertaTokenizerFast") return "xlm-roberta";
  throw new FormatError(
    fileLabel(files.origin, TOKENIZER_CONFIG),
    `tokenizer_class ${JSON.stringify(cls)} with ${name}: rose reads SentencePiece models of DebertaV2Tokenizer and XLMRobertaTokenizer`,
  );
}

const SENTENCEPIECE_NAMES: Record<SentencePieceFlavour, SpecialTokens> = {
  "deberta-v2": { pad: "[PAD]", cls: "[CLS]", sep: "[SEP]", mask: "[MASK]", unk: "[UNK]" },
  "xlm-roberta": { pad: "<pad>", cls: "<s>", sep: "</s>", mask: "<mask>", unk: "<unk>" },
};

/** tokenizer.json equivalent to transformers' DebertaV2TokenizerFast / XLMRobertaTokenizerFast built from the model. */
function sentencePieceJson(
  files: ModelFiles,
  name: string,
  cfg: JsonObj,
  opts: TokenizerFromDirOptions,
): { json: JsonObj; special: SpecialTokens } {
  const file = fileLabel(files.origin, name);
  const model = parseSentencePieceModel(files.read(name), file);
  const flavour = sentencePieceFlavour(cfg, name, files);
  const special = {} as SpecialTokens;
  for (const key of SPECIAL_KEYS) special[key] = configuredName(cfg, key) ?? SENTENCEPIECE_NAMES[flavour][key];
  const json = sentencePieceTokenizerJson(model, file, {
    flavour,
    special,
    doLowerCase: opts.doLowerCase ?? cfg.do_lower_case === true,
    splitByPunct: cfg.split_by_punct === true,
    maskLstrip: flavour === "xlm-roberta" ? readMaskLstrip(cfg) : isObj(cfg.mask_token) && cfg.mask_token.lstrip === true,
  });
  return { json, special };
}

function readMaskLstrip(cfg: JsonObj): boolean {
  const m = cfg.mask_token;
  if (typeof m === "object" && m !== null && !Array.isArray(m) && typeof m.lstrip === "boolean") return m.lstrip;
  return true;
}

/** Whether a tokenizer.json normalizer lower-cases (BertNormalizer's flag, Lowercase, or either in a Sequence). */
function lowercases(n: Json | undefined): boolean {
  if (!isObj(n)) return false;
  if (n.type === "BertNormalizer") return n.lowercase === true;
  if (n.type === "Lowercase") return true;
  return n.type === "Sequence" && Array.isArray(n.normalizers) && n.normalizers.some(lowercases);
}

function kindOf(json: JsonObj): Kind {
  const model = json.model;
  const type = typeof model === "object" && model !== null && !Array.isArray(model) ? model.type : undefined;
  if (type === "WordPiece") return "wordpiece";
  if (type === "BPE") return "bpe";
  if (type === "Unigram") return "unigram";
  return "other";
}

function engineFromJson(json: JsonObj, file: string): TokenizerEngine {
  const build = requireTokenizerEngine();
  try {
    return build(JSON.stringify(json));
  } catch (e) {
    throw new FormatError(file, `not a tokenizer the tokenizers library accepts (${(e as Error).message})`);
  }
}

/**
 * The library accepts some broken tokenizer.json files and fails only when encoding (e.g. a WordPiece unk
 * token missing from the vocabulary): check that here, so the error names the file at load time.
 */
async function checkUsable(native: TokenizerEngine, json: JsonObj, file: string): Promise<void> {
  checkPostProcessor(json.post_processor, file);
  const model = json.model;
  const unk = typeof model === "object" && model !== null && !Array.isArray(model) ? model.unk_token : undefined;
  if (typeof unk === "string" && native.tokenToId(unk) === null)
    throw new FormatError(file, `the unk_token ${JSON.stringify(unk)} is not in the vocabulary`);
  try {
    await native.encode("Rose checks 1 tokenizer, é!", "and a pair", true);
  } catch (e) {
    throw new FormatError(file, `the tokenizer fails on a test sentence (${(e as Error).message})`);
  }
}

const isObj = (v: Json | undefined): v is JsonObj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The tokenizers library loads a TemplateProcessing whose template names a special token it does not
 * define, then panics while encoding, which aborts the process: refuse such a file here instead.
 */
function checkPostProcessor(pp: Json | undefined, file: string): void {
  if (!isObj(pp)) return;
  if (pp.type === "Sequence" && Array.isArray(pp.processors)) {
    for (const p of pp.processors) checkPostProcessor(p, file);
    return;
  }
  if (pp.type !== "TemplateProcessing") return;
  const special = pp.special_tokens;
  if (!isObj(special)) throw new FormatError(file, "post_processor.special_tokens is not an object");
  for (const [name, t] of Object.entries(special)) {
    const ok = isObj(t) && Array.isArray(t.ids) && Array.isArray(t.tokens) && t.ids.length === t.tokens.length;
    if (!ok) throw new FormatError(file, `post_processor.special_tokens[${JSON.stringify(name)}] needs ids and tokens of equal length`);
  }
  for (const key of ["single", "pair"]) {
    const pieces = pp[key];
    if (!Array.isArray(pieces)) continue;
    for (const piece of pieces) {
      const id = isObj(piece) && isObj(piece.SpecialToken) ? piece.SpecialToken.id : undefined;
      if (typeof id === "string" && !Object.hasOwn(special, id)) {
        throw new FormatError(
          file,
          `post_processor.${key} uses the special token ${JSON.stringify(id)}, which post_processor.special_tokens does not define`,
        );
      }
    }
  }
}

/** tokenizer_config.json key for head + tail truncation, which Hugging Face's truncation_side cannot say. */
const HEAD_TAIL_KEY = "rose_truncation";

function truncationOf(cfg: JsonObj, file: string): Truncation {
  const rose = cfg[HEAD_TAIL_KEY],
    side = cfg.truncation_side;
  if (rose !== undefined) {
    if (rose !== "head+tail") throw new FormatError(file, `${HEAD_TAIL_KEY} must be "head+tail", got ${JSON.stringify(rose)}`);
    return "head+tail";
  }
  if (side === undefined || side === "right") return "head";
  if (side === "left") return "tail";
  throw new FormatError(file, `truncation_side must be "right" or "left", got ${JSON.stringify(side)}`);
}

interface Row {
  ids: number[];
  types: number[];
}

/**
 * An untruncated single-text encoding cut to maxLength by keeping its special tokens and the last ("tail") or
 * the first and last halves ("head+tail", the head getting the odd token) of the text's tokens.
 */
function keepEnds(e: Encoding, maxLength: number, keep: "tail" | "head+tail"): Row {
  const ids = e.getIds(),
    types = e.getTypeIds();
  if (ids.length <= maxLength) return { ids, types };
  const special = e.getSpecialTokensMask();
  let first = 0,
    last = ids.length;
  while (first < last && special[first] === 1) first++;
  while (last > first && special[last - 1] === 1) last--;
  const budget = maxLength - (ids.length - (last - first));
  // Too short for even the special tokens: left whole, for pack() to report.
  if (budget < 0) return { ids, types };
  const head = keep === "tail" ? 0 : Math.ceil(budget / 2);
  const pick = (a: number[]) => [...a.slice(0, first + head), ...a.slice(last - (budget - head), ids.length)];
  return { ids: pick(ids), types: pick(types) };
}

export class Tokenizer {
  /** Work on the native tokenizer is serialised: truncation is tokenizer state read when a task runs. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly native: TokenizerEngine,
    /** Special token strings as the vocabulary spells them ([CLS] or <s>, ...). */
    readonly specialTokens: SpecialTokens,
    readonly specialIds: SpecialIds,
    /** tokenizer_config.json model_max_length when it is a real limit, else null. */
    readonly modelMaxLength: number | null,
    readonly kind: Kind,
    /** The tokenizer.json this tokenizer runs (as loaded, or as built from vocab files). */
    private readonly json: JsonObj,
    /** The folder it was loaded from: save() copies its vocabulary and config files. */
    private readonly source: ModelFiles,
    private readonly config: JsonObj,
    /**
     * Which tokens of a long single text encodeBatch keeps unless told otherwise (see EncodeBatchOptions);
     * saved in tokenizer_config.json (Hugging Face's truncation_side "left" for "tail").
     */
    public truncation: Truncation = "head",
  ) {}

  /**
   * Loads a tokenizer directory: tokenizer.json if present, else vocab.txt (BERT WordPiece), else
   * vocab.json + merges.txt (RoBERTa byte-level BPE), else spm.model / sentencepiece.bpe.model (SentencePiece
   * unigram, as DeBERTa-v2/v3 and XLM-RoBERTa ship it). Special token names come from tokenizer_config.json /
   * special_tokens_map.json, or the conventional [CLS]/<s> names.
   */
  static async load(files: ModelFiles, opts: TokenizerFromDirOptions = {}): Promise<Tokenizer> {
    const cfg = readTokenizerConfig(files);
    let json: JsonObj;
    let name: string;
    let special: SpecialTokens | undefined;
    if (files.has(TOKENIZER_JSON)) {
      name = TOKENIZER_JSON;
      json = readJsonObject(files, name);
    } else if (files.has("vocab.txt")) {
      name = "vocab.txt";
      ({ json, special } = wordPieceJson(files, cfg, opts));
    } else if (files.has("vocab.json")) {
      name = "vocab.json";
      ({ json, special } = byteLevelBpeJson(files, cfg));
    } else if (SENTENCEPIECE_FILES.some((f) => files.has(f))) {
      name = SENTENCEPIECE_FILES.find((f) => files.has(f))!;
      ({ json, special } = sentencePieceJson(files, name, cfg, opts));
    } else {
      throw new FormatError(files.origin, "no tokenizer.json, vocab.txt, vocab.json + merges.txt or spm.model");
    }
    const file = fileLabel(files.origin, name);
    // Padding and truncation are done per batch here; settings saved in tokenizer.json would interfere.
    json = { ...json, truncation: null, padding: null };
    const native = engineFromJson(json, file);
    await checkUsable(native, json, file);
    special ??= resolveSpecialNames(cfg, (t) => native.tokenToId(t) !== null, file);
    const ids = {} as SpecialIds;
    for (const key of SPECIAL_KEYS) ids[key] = native.tokenToId(special[key])!;
    const mml = cfg.model_max_length;
    const modelMaxLength = typeof mml === "number" && Number.isInteger(mml) && mml > 0 && mml < 1e9 ? mml : null;
    const truncation = truncationOf(cfg, fileLabel(files.origin, TOKENIZER_CONFIG));
    return new Tokenizer(native, special, ids, modelMaxLength, kindOf(json), json, files, cfg, truncation);
  }

  /** Number of ids, added tokens included. */
  get vocabSize(): number {
    return this.native.getVocabSize(true);
  }

  get maskToken(): string {
    return this.specialTokens.mask;
  }

  tokenToId(token: string): number | null {
    return this.native.tokenToId(token);
  }

  idToToken(id: number): string | null {
    return this.native.idToToken(id);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async encodeOne(text: string, pair: string | null, addSpecialTokens: boolean): Promise<Encoding> {
    try {
      return await this.native.encode(text, pair, addSpecialTokens);
    } catch (e) {
      throw new RoseError(`tokenizer failed on ${JSON.stringify(text.slice(0, 80))}: ${(e as Error).message}`);
    }
  }

  /** Tokens of `text` without special tokens (e.g. ["the", "movie", "##s"]). */
  tokenize(text: string): Promise<string[]> {
    return this.exclusive(async () => (await this.encodeOne(text, null, false)).getTokens());
  }

  /** Ids of `text` (and `pair`) with special tokens, untruncated. */
  encode(text: string, pair?: string): Promise<number[]> {
    return this.exclusive(async () => (await this.encodeOne(text, pair ?? null, true)).getIds());
  }

  /** Text of `ids`; special tokens are left out unless `skipSpecialTokens` is false. */
  async decode(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    const n = this.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= n) throw new ConfigError(`cannot decode id ${id}: vocabulary has ${n} ids`);
    }
    return this.native.decode(ids, skipSpecialTokens);
  }

  /**
   * Encodes a batch (of pairs when `pairs` is given) into padded int64 tensors. Sequences are truncated
   * "longest_first" so each row, special tokens included, has at most maxLength tokens.
   */
  encodeBatch(texts: readonly string[], pairs: readonly string[] | null, opts: EncodeBatchOptions): Promise<EncodedBatch> {
    const { maxLength, padding } = opts;
    const truncation = opts.truncation ?? this.truncation;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new ConfigError(`maxLength must be a positive integer, got ${maxLength}`);
    if (!TRUNCATIONS.includes(truncation))
      throw new ConfigError(`truncation must be one of ${TRUNCATIONS.join(", ")}, got ${JSON.stringify(truncation)}`);
    if (padding !== "longest" && padding !== "max_length")
      throw new ConfigError(`padding must be "longest" or "max_length", got ${JSON.stringify(padding)}`);
    if (pairs !== null && pairs.length !== texts.length) throw new ConfigError(`${texts.length} texts but ${pairs.length} pair texts`);
    return this.exclusive(async () => {
      const keep = pairs === null ? truncation : "head";
      let encodings: Encoding[];
      try {
        encodings = await this.native.encodeBatch(texts, pairs, keep === "head" ? maxLength : null);
      } catch (e) {
        throw new RoseError(`tokenizer failed: ${(e as Error).message}`);
      }
      if (keep === "head") return this.pack(encodings, maxLength, padding);
      return this.pack(
        encodings.map((e) => keepEnds(e, maxLength, keep)),
        maxLength,
        padding,
      );
    });
  }

  private pack(encodings: readonly (Encoding | Row)[], maxLength: number, padding: EncodeBatchOptions["padding"]): EncodedBatch {
    const rows = encodings.map((e) => ("ids" in e ? e : { ids: e.getIds(), types: e.getTypeIds() }));
    let longest = 0;
    for (const r of rows) longest = Math.max(longest, r.ids.length);
    if (longest > maxLength) {
      // The library leaves sequences untruncated when maxLength cannot even hold the special tokens.
      throw new ConfigError(`maxLength ${maxLength} is too small: an encoded row has ${longest} tokens, special tokens included`);
    }
    return padRows(rows, this.specialIds.pad, padding === "max_length" ? maxLength : longest);
  }

  /**
   * Writes tokenizer.json (plus vocab/merges/config files the source directory had) so that transformers'
   * AutoTokenizer.from_pretrained(dir) loads the same tokenizer. Without a source tokenizer_config.json, a
   * minimal one naming the special tokens is written.
   */
  save(sink: FileSink): void {
    sink.write(TOKENIZER_JSON, `${JSON.stringify(this.json, null, 2)}\n`);
    for (const f of COMPANIONS) if (this.source.has(f)) sink.write(f, this.source.read(f));
    const had = this.source.has(TOKENIZER_CONFIG);
    const cfg = had ? readJsonObject(this.source, TOKENIZER_CONFIG) : this.minimalConfig();
    if (had && this.truncation === truncationOf(cfg, fileLabel(this.source.origin, TOKENIZER_CONFIG))) {
      sink.write(TOKENIZER_CONFIG, this.source.read(TOKENIZER_CONFIG));
      return;
    }
    // Hugging Face reads truncation_side (right / left); head + tail has no key of its own there.
    if (this.truncation !== "head" || cfg.truncation_side !== undefined)
      cfg.truncation_side = this.truncation === "tail" ? "left" : "right";
    if (this.truncation === "head+tail") cfg[HEAD_TAIL_KEY] = "head+tail";
    else delete cfg[HEAD_TAIL_KEY];
    sink.write(TOKENIZER_CONFIG, `${JSON.stringify(cfg, null, 2)}\n`);
  }

  private minimalConfig(): JsonObj {
    const s = this.specialTokens;
    const out: JsonObj = {
      tokenizer_class: this.kind === "wordpiece" ? "BertTokenizer" : this.kind === "bpe" ? "RobertaTokenizer" : "PreTrainedTokenizerFast",
      cls_token: s.cls,
      sep_token: s.sep,
      pad_token: s.pad,
      mask_token: s.mask,
      unk_token: s.unk,
    };
    if (this.kind === "bpe") {
      out.bos_token = s.cls;
      out.eos_token = s.sep;
      out.add_prefix_space = typeof this.config.add_prefix_space === "boolean" ? this.config.add_prefix_space : false;
    }
    if (this.kind === "wordpiece") out.do_lower_case = lowercases(this.json.normalizer);
    if (this.modelMaxLength !== null) out.model_max_length = this.modelMaxLength;
    return out;
  }
}
