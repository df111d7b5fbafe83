// Deterministic stand-ins for the models: a bag-of-words sentiment classifier, a masked-word filler
// with a fixed vocabulary and a bag-of-words sentence encoder. They record every call.

import type { AttackInput, MaskedWordFiller, SentenceEncoder, TextClassifier } from "../../src/robust/types.ts";

export const SENTIMENT: Record<string, number> = {
  good: 3,
  great: 3,
  excellent: 4,
  wonderful: 3,
  charming: 2,
  fine: 0.2,
  nice: 0.4,
  love: 3,
  enjoyable: 2,
  bad: -3,
  terrible: -4,
  awful: -3,
  boring: -2,
  dull: -2,
  hate: -3,
  worst: -4,
  not: -1,
};

export const tokens = (s: string): string[] =>
  s
    .toLowerCase()
    .split(/[^a-z']+/)
    .filter((w) => w.length > 0);

/** p(positive) = sigmoid(sum of word weights - 0.5), label 1 = positive; reads `pair` when `usePair`. */
export class BowClassifier implements TextClassifier {
  readonly numLabels = 2;
  calls: AttackInput[][] = [];
  constructor(
    readonly weights: Record<string, number> = SENTIMENT,
    readonly usePair = false,
  ) {}
  get inputs(): number {
    return this.calls.reduce((a, c) => a + c.length, 0);
  }
  async predictProba(inputs: AttackInput[]): Promise<Float32Array[]> {
    this.calls.push(inputs);
    return inputs.map((x) => {
      const text = this.usePair ? (x.pair ?? "") : x.text;
      let s = -0.5;
      for (const w of tokens(text)) s += this.weights[w] ?? 0;
      const p = 1 / (1 + Math.exp(-s));
      return Float32Array.from([1 - p, p]);
    });
  }
}

/** Fills [MASK] with a fixed list of words (plus a subword piece and punctuation it must filter). */
export class FixedFiller implements MaskedWordFiller {
  readonly maskToken = "[MASK]";
  calls: string[][] = [];
  constructor(readonly words: string[] = ["##ish", "fine", "!", "nice", "okay", "decent", "good", "bad"]) {}
  async fill(texts: string[], k: number): Promise<string[][]> {
    this.calls.push(texts);
    for (const t of texts) if (t.split(this.maskToken).length !== 2) throw new Error(`not exactly one mask: ${t}`);
    return texts.map(() => this.words.slice(0, k));
  }
}

/** Bag-of-letters embedding: similar spelling -> similar vector. */
export class LetterEncoder implements SentenceEncoder {
  calls = 0;
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls++;
    return texts.map((t) => {
      const v = new Float32Array(27);
      for (const c of t.toLowerCase()) {
        const k = c.charCodeAt(0) - 97;
        v[k >= 0 && k < 26 ? k : 26]! += 1;
      }
      return v;
    });
  }
}
