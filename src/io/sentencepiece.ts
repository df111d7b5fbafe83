// SentencePiece models (spm.model, sentencepiece.bpe.model): the ModelProto protobuf read with a small
// bounds-checked wire-format reader (only the fields a tokenizer needs), and converted to the tokenizer.json
// that transformers' slow->fast converters (DebertaV2Converter, XLMRobertaConverter) build from it, so the
// model runs on the same `tokenizers` pipeline as every other tokenizer and is saved in a form that
// transformers and transformers.js read.
import { FormatError } from "../errors.ts";

/** SentencePiece piece types (sentencepiece_model.proto, ModelProto.SentencePiece.Type). */
export const PIECE_TYPES = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
export type PieceType = (typeof PIECE_TYPES)[keyof typeof PIECE_TYPES];

export interface SentencePiece {
  piece: string;
  /** Log-probability for unigram models (a float32 in the file). */
  score: number;
  type: PieceType;
}

export type SentencePieceModelType = "unigram" | "bpe" | "word" | "char";

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainer: {
    modelType: SentencePieceModelType;
    unkId: number;
    bosId: number;
    eosId: number;
    /** -1: no padding piece. */
    padId: number;
    byteFallback: boolean;
  };
  normalizer: {
    /** The rule the charsmap was compiled from ("nmt_nfkc", "identity", ...). */
    name: string;
    /** Compiled normalisation rules (empty: none), as the `tokenizers` Precompiled normaliser reads them. */
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

/** File names SentencePiece models are shipped under: DeBERTa-v2/v3, XLM-RoBERTa. */
export const SENTENCEPIECE_FILES = ["spm.model", "sentencepiece.bpe.model"] as const;

const MODEL_TYPES: Record<number, SentencePieceModelType> = { 1: "unigram", 2: "bpe", 3: "word", 4: "char" };

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/). */
const VARINT = 0,
  FIXED64 = 1,
  LEN = 2,
  FIXED32 = 5;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A view of one message's bytes; every read is checked against the message's end. */
class WireReader {
  private pos: number;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(problem: string): FormatError {
    return new FormatError(this.file, `${problem} at byte ${this.pos} (a truncated file, or not a SentencePiece model)`);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint's low and high 32 bits (unsigned). */
  varint(): [number, number] {
    let lo = 0,
      hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.fail("truncated varint");
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw this.fail("varint longer than 10 bytes");
  }

  /** An int32 field: negative values are written as 64-bit two's complement, whose low half is the value. */
  int32(): number {
    return this.varint()[0] | 0;
  }

  bool(): boolean {
    const [lo, hi] = this.varint();
    return lo !== 0 || hi !== 0;
  }

  float32(): number {
    if (this.end - this.pos < 4) throw this.fail("truncated float");
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** The [start, end) byte range of a length-delimited field, which must lie inside this message. */
  span(): [number, number] {
    const [len, hi] = this.varint();
    if (hi !== 0 || len > this.end - this.pos) throw this.fail(`a field of ${hi !== 0 ? "over 4 GiB" : `${len} bytes`} runs past the end`);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  string(what: string): string {
    const [s, e] = this.span();
    try {
      return utf8.decode(this.buf.subarray(s, e));
    } catch {
      this.pos = s;
      throw this.fail(`${what} is not UTF-8`);
    }
  }

  message(): WireReader {
    const [s, e] = this.span();
    return new WireReader(this.buf, this.file, s, e);
  }

  /** Reads a tag: field number and wire type. */
  tag(): [number, number] {
    const [v, hi] = this.varint();
    const field = hi === 0 ? v >>> 3 : 0;
    if (field === 0) throw this.fail("field number 0");
    return [field, v & 7];
  }

  /** Skips a field of an unknown number; groups (wire types 3 and 4) are not used by SentencePiece. */
  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LEN) this.span();
    else if (wireType === FIXED64 || wireType === FIXED32) {
      const n = wireType === FIXED64 ? 8 : 4;
      if (this.end - this.pos < n) throw this.fail("truncated fixed-size field");
      this.pos += n;
    } else throw this.fail(`unsupported wire type ${wireType}`);
  }

  /** Checks that a known field has the wire type the schema gives it. */
  expect(field: number, wireType: number, want: number): void {
    if (wireType !== want) throw this.fail(`field ${field} has wire type ${wireType}, expected ${want}`);
  }
}

function readPiece(r: WireReader): SentencePiece {
  const out: SentencePiece = { piece: "", score: 0, type: PIECE_TYPES.normal };
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1) {
      r.expect(field, wt, LEN);
      out.piece = r.string("a piece");
    } else if (field === 2) {
      r.expect(field, wt, FIXED32);
      out.score = r.float32();
    } else if (field === 3) {
      r.expect(field, wt, VARINT);
      const t = r.int32();
      if (t < 1 || t > 6) throw r.fail(`unknown piece type ${t}`);
      out.type = t as PieceType;
    } else r.skip(wt);
  }
  return out;
}

function readTrainer(r: WireReader, out: SentencePieceModel["trainer"]): void {
  const ints: Record<number, "unkId" | "bosId" | "eosId" | "padId"> = { 40: "unkId", 41: "bosId", 42: "eosId", 43: "padId" };
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 3) {
      r.expect(field, wt, VARINT);
      const t = r.int32();
      const type = MODEL_TYPES[t];
      if (type === undefined) throw r.fail(`unknown model type ${t}`);
      out.modelType = type;
    } else if (field === 35) {
      r.expect(field, wt, VARINT);
      out.byteFallback = r.bool();
    } else if (ints[field] !== undefined) {
      r.expect(field, wt, VARINT);
      out[ints[field]] = r.int32();
    } else r.skip(wt);
  }
}

function readNormalizer(r: WireReader, out: SentencePieceModel["normalizer"]): void {
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1) {
      r.expect(field, wt, LEN);
      out.name = r.string("the normalizer name");
    } else if (field === 2) {
      r.expect(field, wt, LEN);
      out.precompiledCharsmap = r.bytes();
    } else if (field >= 3 && field <= 5) {
      r.expect(field, wt, VARINT);
      const v = r.bool();
      if (field === 3) out.addDummyPrefix = v;
      else if (field === 4) out.removeExtraWhitespaces = v;
      else out.escapeWhitespaces = v;
    } else r.skip(wt);
  }
}

/** Parses a SentencePiece ModelProto; a FormatError naming `file` when it is truncated, corrupt or unusable. */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    // Defaults of sentencepiece_model.proto for fields a file leaves out.
    trainer: { modelType: "unigram", unkId: 0, bosId: 1, eosId: 2, padId: -1, byteFallback: false },
    normalizer: {
      name: "",
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  };
  const r = new WireReader(bytes, file);
  let sawTrainer = false,
    sawNormalizer = false;
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field >= 1 && field <= 3) r.expect(field, wt, LEN);
    if (field === 1) model.pieces.push(readPiece(r.message()));
    else if (field === 2) {
      readTrainer(r.message(), model.trainer);
      sawTrainer = true;
    } else if (field === 3) {
      readNormalizer(r.message(), model.normalizer);
      sawNormalizer = true;
    } else r.skip(wt);
  }
  // SentencePiece always writes both specs: a file cut short at a field boundary lacks them.
  const missing = model.pieces.length === 0 ? "pieces" : !sawTrainer ? "trainer_spec" : !sawNormalizer ? "normalizer_spec" : null;
  if (missing) throw new FormatError(file, `no ${missing} (a truncated file, or not a SentencePiece model)`);
  checkModel(model, file);
  if (model.normalizer.precompiledCharsmap.length > 0) checkCharsmap(model.normalizer.precompiledCharsmap, file);
  return model;
}

/**
 * Checks the precompiled charsmap the way the `tokenizers` library walks it: [u32 trie size][double-array trie of
 * u32 units][NUL-separated UTF-8 replacements]. The library indexes the trie and slices the replacements without
 * bounds checks and aborts the process on a bad index, so every node a text can reach, for every byte, must stay
 * inside the trie and every replacement offset must start a character inside the replacements.
 */
function checkCharsmap(cm: Uint8Array, file: string): void {
  const bad = (problem: string) => new FormatError(file, `normalizer_spec.precompiled_charsmap: ${problem}`);
  const view = new DataView(cm.buffer, cm.byteOffset, cm.byteLength);
  if (cm.length < 4) throw bad("shorter than its 4-byte header");
  const units = view.getUint32(0, true) >>> 2;
  if (units === 0 || 4 + units * 4 > cm.length) throw bad(`a trie of ${units} units does not fit in ${cm.length} bytes`);
  const unit = (i: number) => view.getUint32(4 + i * 4, true);
  const replacements = cm.subarray(4 + units * 4);
  try {
    utf8.decode(replacements);
  } catch {
    throw bad("the replacement strings are not UTF-8");
  }
  // Darts-clone units: bits 0-7 label (bit 31 marks a leaf's value), bit 8 has-leaf, bit 9 offset scale, 10-31 offset.
  const offset = (u: number) => (u >>> 10) * (u & 0x200 ? 256 : 1);
  const seen = new Set<number>();
  const stack = [offset(unit(0))];
  while (stack.length > 0) {
    const pos = stack.pop()!;
    if (seen.has(pos)) continue;
    seen.add(pos);
    if ((pos | 0xff) >= units) throw bad(`trie node ${pos} has children past the end of the trie`);
    for (let c = 1; c < 256; c++) {
      const child = pos ^ c;
      const u = unit(child);
      if ((u & 0x800000ff) >>> 0 !== c) continue;
      const next = child ^ offset(u);
      if (next >= units) throw bad(`trie node ${pos} links past the end of the trie`);
      if ((u >>> 8) & 1) {
        const at = unit(next) & 0x7fffffff;
        if (at > replacements.length)
          throw bad(`replacement offset ${at} is past the end of the ${replacements.length} bytes of replacements`);
        if (at < replacements.length && (replacements[at]! & 0xc0) === 0x80) throw bad(`replacement offset ${at} is inside a character`);
      }
      stack.push(next);
    }
  }
}

function checkModel(model: SentencePieceModel, file: string): void {
  const n = model.pieces.length;
  const seen = new Map<string, number>();
  model.pieces.forEach((p, i) => {
    if (p.piece === "") throw new FormatError(file, `piece ${i} is empty`);
    if (!Number.isFinite(p.score)) throw new FormatError(file, `piece ${i} (${JSON.stringify(p.piece)}) has score ${p.score}`);
    const first = seen.get(p.piece);
    if (first !== undefined) throw new FormatError(file, `pieces ${first} and ${i} are both ${JSON.stringify(p.piece)}`);
    seen.set(p.piece, i);
  });
  const { unkId } = model.trainer;
  if (unkId < 0 || unkId >= n) throw new FormatError(file, `unk_id ${unkId} is not one of the ${n} pieces`);
  if (model.pieces[unkId]!.type !== PIECE_TYPES.unknown)
    throw new FormatError(file, `unk_id ${unkId} names ${JSON.stringify(model.pieces[unkId]!.piece)}, which is not the unknown piece`);
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type JsonObj = { [k: string]: Json };

/** Which transformers converter the tokenizer.json reproduces. */
export type SentencePieceFlavour = "deberta-v2" | "xlm-roberta";

export interface SentencePieceJsonOptions {
  flavour: SentencePieceFlavour;
  /** Special token names (from tokenizer_config.json / special_tokens_map.json). */
  special: { cls: string; sep: string; pad: string; unk: string; mask: string };
  /** DeBERTa-v2: lower-case before the charsmap. */
  doLowerCase?: boolean;
  /** DeBERTa-v2: split punctuation into tokens of its own. */
  splitByPunct?: boolean;
  /** XLM-RoBERTa's <mask> takes the space before it. */
  maskLstrip?: boolean;
}

const METASPACE = "\u2581";

/** Base64 without Node's Buffer: the `tokenizers` library stores the charsmap so in tokenizer.json. */
function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The vocabulary as the converter lays it out: DeBERTa keeps SentencePiece's ids, XLM-R shifts them for fairseq. */
function converterVocab(
  model: SentencePieceModel,
  file: string,
  opts: SentencePieceJsonOptions,
): { vocab: [string, number][]; unkId: number } {
  const pieces: [string, number][] = model.pieces.map((p) => [p.piece, p.score]);
  if (opts.flavour === "deberta-v2") return { vocab: pieces, unkId: model.trainer.unkId };
  // fairseq's dictionary puts <s> <pad> </s> <unk> first and <mask> last, over SentencePiece's <unk> <s> </s>.
  const { unkId, bosId, eosId } = model.trainer;
  if (unkId !== 0 || bosId !== 1 || eosId !== 2)
    throw new FormatError(file, `unk, bos and eos ids are ${unkId}, ${bosId}, ${eosId}; XLM-RoBERTa's fairseq ids need 0, 1, 2`);
  const s = opts.special;
  const head: [string, number][] = [
    [s.cls, 0],
    [s.pad, 0],
    [s.sep, 0],
    [s.unk, 0],
  ];
  return { vocab: [...head, ...pieces.slice(3), [s.mask, 0]], unkId: 3 };
}

function template(cls: string, sep: string, pairTypeId: number, doubleSep: boolean, ids: Map<string, number>): JsonObj {
  const tok = (id: string, type_id: number): JsonObj => ({ SpecialToken: { id, type_id } });
  const seq = (id: "A" | "B", type_id: number): JsonObj => ({ Sequence: { id, type_id } });
  const special = (t: string): JsonObj => ({ id: t, ids: [ids.get(t)!], tokens: [t] });
  return {
    type: "TemplateProcessing",
    single: [tok(cls, 0), seq("A", 0), tok(sep, 0)],
    pair: [tok(cls, 0), seq("A", 0), tok(sep, 0), ...(doubleSep ? [tok(sep, pairTypeId)] : []), seq("B", pairTypeId), tok(sep, pairTypeId)],
    special_tokens: { [cls]: special(cls), [sep]: special(sep) },
  };
}

/**
 * The tokenizer.json transformers' converter builds from this model (DebertaV2Converter or
 * XLMRobertaConverter over SpmConverter): a Unigram model over the pieces and their scores, the charsmap as a
 * Precompiled normaliser, Metaspace pre-tokenizer and decoder, and the [CLS] A [SEP] (B [SEP]) template.
 * Control and user-defined pieces and the configured special tokens become added tokens.
 */
export function sentencePieceTokenizerJson(model: SentencePieceModel, file: string, opts: SentencePieceJsonOptions): JsonObj {
  if (model.trainer.modelType !== "unigram")
    throw new FormatError(file, `a ${model.trainer.modelType} SentencePiece model; rose reads unigram models only`);
  const { vocab, unkId } = converterVocab(model, file, opts);
  const ids = new Map<string, number>();
  vocab.forEach(([p], i) => {
    if (!ids.has(p)) ids.set(p, i);
  });
  const s = opts.special;
  // In transformers' order of special token attributes. One missing from the pieces (DeBERTa-v3 ships
  // [MASK] so) is added after the vocabulary, as transformers adds it.
  const specials = new Set([s.cls, s.sep, s.unk, s.pad, s.mask]);
  let next = vocab.length;
  for (const t of specials) if (!ids.has(t)) ids.set(t, next++);

  // Control pieces are special, user-defined ones are not (SpmConverter); the configured special tokens are.
  const added = new Map<string, boolean>();
  for (const p of model.pieces) {
    if ((p.type === PIECE_TYPES.control || p.type === PIECE_TYPES.userDefined) && ids.has(p.piece))
      added.set(p.piece, p.type === PIECE_TYPES.control || specials.has(p.piece));
  }
  for (const t of specials) added.set(t, true);
  const addedTokens: JsonObj[] = [...added]
    .map(([content, special]) => ({ id: ids.get(content)!, content, special }))
    .sort((a, b) => a.id - b.id)
    .map(({ id, content, special }) => ({
      id,
      content,
      single_word: false,
      lstrip: opts.maskLstrip === true && content === s.mask,
      rstrip: false,
      normalized: false,
      special,
    }));

  const charsmap = model.normalizer.precompiledCharsmap;
  const precompiled: JsonObj[] = charsmap.length > 0 ? [{ type: "Precompiled", precompiled_charsmap: base64(charsmap) }] : [];
  const prepend_scheme = model.normalizer.addDummyPrefix ? "always" : "never";
  const metaspace: JsonObj = { type: "Metaspace", replacement: METASPACE, prepend_scheme, split: true };
  let normalizers: JsonObj[];
  let preTokenizer: JsonObj;
  let postProcessor: JsonObj;
  if (opts.flavour === "deberta-v2") {
    normalizers = [
      ...(opts.doLowerCase ? [{ type: "Lowercase" }] : []),
      { type: "Strip", strip_left: true, strip_right: true },
      ...precompiled,
      { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
    ];
    preTokenizer = {
      type: "Sequence",
      pretokenizers: [...(opts.splitByPunct ? [{ type: "Punctuation", behavior: "Isolated" }] : []), metaspace],
    };
    postProcessor = template(s.cls, s.sep, 1, false, ids);
  } else {
    normalizers = [
      ...precompiled,
      { type: "Strip", strip_left: false, strip_right: true },
      { type: "Replace", pattern: { Regex: " {2,}" }, content: METASPACE },
    ];
    preTokenizer = metaspace;
    postProcessor = template(s.cls, s.sep, 0, true, ids);
  }
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: { type: "Sequence", normalizers },
    pre_tokenizer: preTokenizer,
    post_processor: postProcessor,
    decoder: { ...metaspace },
    model: { type: "Unigram", unk_id: unkId, vocab, byte_fallback: false },
  };
}
