// Hand-made SentencePiece models (the ModelProto protobuf; wire format: tag = field << 3 | wire type).
import { PIECE_TYPES } from "../../src/io/sentencepiece.ts";

const utf8 = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const lenField = (field: number, body: number[]) => [...varint(field * 8 + 2), ...varint(body.length), ...body];
const intField = (field: number, v: number) => [...varint(field * 8), ...varint(v)];
function floatField(field: number, x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...varint(field * 8 + 5), ...b];
}

export interface SyntheticSpm {
  /** [piece, score, type (default normal)] in id order. */
  pieces: [string, number, number?][];
  /** trainer_spec.model_type: 1 unigram (default), 2 bpe. */
  modelType?: number;
  unkId?: number;
  /** normalizer_spec.precompiled_charsmap bytes; none by default (normalizer "identity"). */
  charsmap?: number[];
}

/** The bytes of a SentencePiece model: the pieces, trainer_spec (model type, unk_id, pad_id -1), normalizer_spec. */
export function spmBytes(m: SyntheticSpm): Uint8Array {
  const piece = ([p, score, type]: [string, number, number?]) =>
    lenField(1, [...lenField(1, [...utf8.encode(p)]), ...floatField(2, score), ...intField(3, type ?? PIECE_TYPES.normal)]);
  const trainer = [...intField(3, m.modelType ?? 1), ...intField(40, m.unkId ?? 0), ...intField(43, -1)];
  const normalizer = [...lenField(1, [...utf8.encode("identity")]), ...(m.charsmap ? lenField(2, m.charsmap) : [])];
  return Uint8Array.from([...m.pieces.flatMap(piece), ...lenField(2, trainer), ...lenField(3, normalizer)]);
}
