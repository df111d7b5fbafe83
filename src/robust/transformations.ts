// Word-level transformations: for one word of the current text, the replacement words to try.
// The attack removes duplicates and no-op candidates and applies the constraints afterwards.

import type { Rng } from "../engine/rng.ts";
import type { ExampleContext } from "./context.ts";
import type { NeighborTable } from "./neighbors.ts";
import type { MaskedWordFiller } from "./types.ts";
import { WordNet } from "./wordnet.ts";
import { isOneWord, matchCase, type PerturbedText } from "./words.ts";

export interface Transformation {
  readonly name: string;
  candidates(state: PerturbedText, index: number, ctx: ExampleContext): string[] | Promise<string[]>;
}

/** WordNet synonyms (PWWS; TextAttack's WordSwapWordNet). WordNet is loaded on first use. */
export class WordNetSwap implements Transformation {
  readonly name = "wordnet-synonyms";
  private wn: WordNet | undefined;
  constructor(wordnet?: WordNet) {
    this.wn = wordnet;
  }
  candidates(state: PerturbedText, index: number): string[] {
    this.wn ??= WordNet.load();
    const word = state.words[index]!;
    return this.wn.synonyms(word).map((s) => matchCase(word, s));
  }
}

/** Counter-fitted embedding neighbours (TextFooler's WordSwapEmbedding). */
export class EmbeddingSwap implements Transformation {
  readonly name = "embedding-neighbors";
  constructor(
    private readonly table: NeighborTable,
    private readonly maxCandidates = 50,
    /** Cosine bound, applied when the neighbour file carries cosines (TextFooler: 0.5). */
    private readonly minCos?: number,
  ) {}
  candidates(state: PerturbedText, index: number): string[] {
    const word = state.words[index]!;
    return this.table.neighbors(word, this.maxCandidates, this.minCos).map((n) => matchCase(word, n.word));
  }
}

export interface CharOptions {
  skipFirst?: boolean;
  skipLast?: boolean;
  /** One random position per word (TextAttack's default random_one=True) rather than every position. */
  randomOne?: boolean;
}

/** Picks one position from [start, end) or all of them. */
function positions(start: number, end: number, rng: Rng, randomOne: boolean): number[] {
  if (start >= end) return [];
  if (randomOne) return [start + rng.int(end - start)];
  const out: number[] = [];
  for (let i = start; i < end; i++) out.push(i);
  return out;
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";

/** A random letter other than `avoid`, in the case of `avoid` when it is a capital. */
function randomLetter(rng: Rng, avoid?: string): string {
  let c = LOWER[rng.int(26)]!;
  if (avoid !== undefined && c === avoid.toLowerCase()) c = LOWER[(LOWER.indexOf(c) + 1 + rng.int(25)) % 26]!;
  return avoid !== undefined && avoid !== avoid.toLowerCase() ? c.toUpperCase() : c;
}

/** Swap two adjacent characters (DeepWordBug "swap", TextBugger "swap"). */
export class CharSwap implements Transformation {
  readonly name = "char-swap";
  constructor(private readonly opt: CharOptions = {}) {}
  candidates(state: PerturbedText, index: number, ctx: ExampleContext): string[] {
    const w = state.words[index]!;
    if (w.length <= 1) return [];
    const start = this.opt.skipFirst ? 1 : 0;
    const end = this.opt.skipLast ? w.length - 2 : w.length - 1;
    return positions(start, end, ctx.rng(index, 1), this.opt.randomOne ?? true).map(
      (i) => w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2),
    );
  }
}

/** QWERTY neighbours of each lower-case letter (rows are staggered right going down). */
const KEY_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
export const KEYBOARD_NEIGHBORS: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  KEY_ROWS.forEach((row, r) => {
    for (let c = 0; c < row.length; c++) {
      let s = (row[c - 1] ?? "") + (row[c + 1] ?? "");
      const up = KEY_ROWS[r - 1];
      const down = KEY_ROWS[r + 1];
      if (up !== undefined) s += up.slice(c, c + 2);
      if (down !== undefined) s += down.slice(Math.max(0, c - 1), c + 1);
      m.set(row[c]!, s);
    }
  });
  return m;
})();

/** Substitute one character by a random letter or a keyboard neighbour (DeepWordBug "substitute"). */
export class CharSubstitute implements Transformation {
  readonly name = "char-substitute";
  constructor(private readonly opt: CharOptions & { mode?: "random" | "keyboard" } = {}) {}
  candidates(state: PerturbedText, index: number, ctx: ExampleContext): string[] {
    const w = state.words[index]!;
    if (w.length <= 1) return [];
    const rng = ctx.rng(index, 2);
    const start = this.opt.skipFirst ? 1 : 0;
    const end = this.opt.skipLast ? w.length - 1 : w.length;
    const out: string[] = [];
    for (const i of positions(start, end, rng, this.opt.randomOne ?? true)) {
      const ch = w[i]!;
      let sub: string;
      if (this.opt.mode === "keyboard") {
        const near = KEYBOARD_NEIGHBORS.get(ch.toLowerCase());
        if (near === undefined) continue;
        sub = near[rng.int(near.length)]!;
        if (ch !== ch.toLowerCase()) sub = sub.toUpperCase();
      } else {
        sub = randomLetter(rng, ch);
      }
      out.push(w.slice(0, i) + sub + w.slice(i + 1));
    }
    return out;
  }
}

/** Delete one character (DeepWordBug "delete", TextBugger "delete"). */
export class CharDelete implements Transformation {
  readonly name = "char-delete";
  constructor(private readonly opt: CharOptions = {}) {}
  candidates(state: PerturbedText, index: number, ctx: ExampleContext): string[] {
    const w = state.words[index]!;
    if (w.length <= 1) return [];
    const start = this.opt.skipFirst ? 1 : 0;
    const end = this.opt.skipLast ? w.length - 1 : w.length;
    return positions(start, end, ctx.rng(index, 3), this.opt.randomOne ?? true).map((i) => w.slice(0, i) + w.slice(i + 1));
  }
}

/** Insert one character: a random letter (DeepWordBug) or a fixed one such as a space (TextBugger). */
export class CharInsert implements Transformation {
  readonly name: string;
  constructor(private readonly opt: CharOptions & { insert?: string } = {}) {
    this.name = opt.insert === " " ? "char-insert-space" : "char-insert";
  }
  candidates(state: PerturbedText, index: number, ctx: ExampleContext): string[] {
    const w = state.words[index]!;
    if (w.length <= 1) return [];
    const rng = ctx.rng(index, this.opt.insert === undefined ? 4 : 5);
    const start = this.opt.skipFirst ? 1 : 0;
    const end = this.opt.skipLast ? w.length - 1 : w.length;
    return positions(start, end, rng, this.opt.randomOne ?? true).map(
      (i) => w.slice(0, i) + (this.opt.insert ?? randomLetter(rng)) + w.slice(i),
    );
  }
}

/** Visually similar characters of TextBugger's Sub-C ("o" -> "0", "l" -> "1", "a" -> "@"). */
export const VISUAL_SUBSTITUTES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    o: "0",
    O: "0",
    l: "1",
    I: "1",
    i: "1",
    a: "@",
    A: "@",
    e: "3",
    E: "3",
    s: "$",
    S: "$",
    t: "7",
    b: "8",
    B: "8",
    g: "9",
    z: "2",
    Z: "2",
  }),
);

/** Replace one character by a look-alike, at every position that has one. */
export class VisualSubstitute implements Transformation {
  readonly name = "visual-substitute";
  candidates(state: PerturbedText, index: number): string[] {
    const w = state.words[index]!;
    const out: string[] = [];
    for (let i = 0; i < w.length; i++) {
      const sub = VISUAL_SUBSTITUTES.get(w[i]!);
      if (sub !== undefined) out.push(w.slice(0, i) + sub + w.slice(i + 1));
    }
    return out;
  }
}

/**
 * Masked-LM replacements (BERT-Attack, BAE-R): the word is replaced by the mask token and the
 * filler's top-k words become candidates. Deviation: TextAttack's BERT-Attack reads the LM's
 * predictions at the unmasked word; our filler interface only fills masks, so both recipes mask.
 */
export class MaskedLMSwap implements Transformation {
  readonly name: string;
  private readonly cache = new Map<string, string[]>();
  constructor(
    private readonly filler: MaskedWordFiller,
    private readonly k: number,
    method: "bert-attack" | "bae",
  ) {
    this.name = `masked-lm-${method}`;
  }
  async candidates(state: PerturbedText, index: number, ctx: ExampleContext): Promise<string[]> {
    const masked = state.textWith(index, this.filler.maskToken);
    let words = this.cache.get(masked);
    if (words === undefined) {
      const [filled] = await ctx.clock.aux(() => this.filler.fill([masked], this.k));
      words = filled ?? [];
      if (this.cache.size > 20000) this.cache.clear();
      this.cache.set(masked, words);
    }
    const original = state.words[index]!;
    const out: string[] = [];
    for (const w of words.slice(0, this.k)) {
      // Whole words only: no "##" pieces, no punctuation, nothing that would split into two words.
      if (w.startsWith("##") || !isOneWord(w)) continue;
      out.push(matchCase(original, w));
    }
    return out;
  }
}

/** Union of several transformations' candidates, in order. */
export class CompositeTransformation implements Transformation {
  readonly name: string;
  constructor(readonly parts: readonly Transformation[]) {
    this.name = parts.map((p) => p.name).join("+");
  }
  async candidates(state: PerturbedText, index: number, ctx: ExampleContext): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.parts) out.push(...(await p.candidates(state, index, ctx)));
    return out;
  }
}
