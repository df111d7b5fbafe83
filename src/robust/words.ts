// Word handling for attacks: a text is split once into words and the separators between them, and
// every perturbed text is rebuilt from that split, so it equals the original except for the
// swapped words. Candidates are built from cached prefix/suffix strings, never by re-splitting.

/** A word: letters/digits, with inner apostrophes, hyphens or underscores ("don't", "well-made"). */
const WORD_RE = /[\p{L}\p{N}\p{M}]+(?:['’\-_][\p{L}\p{N}\p{M}]+)*/gu;
const ONE_WORD_RE = /^[\p{L}\p{N}\p{M}]+(?:['’\-_][\p{L}\p{N}\p{M}]+)*$/u;

/** True when `s` is exactly one word as the splitter sees it (used to filter synonym candidates). */
export function isOneWord(s: string): boolean {
  return ONE_WORD_RE.test(s);
}

/** A text split into words and separators: text = seps[0] + words[0] + seps[1] + ... + seps[n]. */
export class SegmentedText {
  readonly words: readonly string[];
  readonly seps: readonly string[];
  /** Lower-cased words, for stop-word and dictionary look-ups. */
  readonly lower: readonly string[];

  constructor(readonly text: string) {
    const words: string[] = [];
    const seps: string[] = [];
    let last = 0;
    for (const m of text.matchAll(WORD_RE)) {
      seps.push(text.slice(last, m.index));
      words.push(m[0]);
      last = m.index + m[0].length;
    }
    seps.push(text.slice(last));
    this.words = words;
    this.seps = seps;
    this.lower = words.map((w) => w.toLowerCase());
  }
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

/**
 * An immutable state of the attacked text: the original split plus the current words and the
 * indices modified so far. Built texts and prefix/suffix tables are cached per state.
 */
export class PerturbedText {
  private textCache: string | undefined;
  private prefixes: string[] | undefined;
  private suffixes: string[] | undefined;

  private constructor(
    readonly base: SegmentedText,
    readonly words: readonly string[],
    /** Modified word indices, in the order they were modified. */
    readonly modified: readonly number[],
    text?: string,
  ) {
    this.textCache = text;
  }

  static from(text: string): PerturbedText {
    const base = new SegmentedText(text);
    return new PerturbedText(base, base.words, [], text);
  }

  get numWords(): number {
    return this.words.length;
  }

  get text(): string {
    if (this.textCache === undefined) {
      const { seps } = this.base;
      let s = seps[0]!;
      for (let i = 0; i < this.words.length; i++) s += this.words[i]! + seps[i + 1]!;
      this.textCache = s;
    }
    return this.textCache;
  }

  isModified(index: number): boolean {
    return this.modified.includes(index);
  }

  /** Text before word `index` (separator included) and after it, cached for the whole state. */
  private table(): [string[], string[]] {
    if (this.prefixes === undefined || this.suffixes === undefined) {
      const n = this.words.length;
      const { seps } = this.base;
      const pre = new Array<string>(n);
      const suf = new Array<string>(n);
      let acc = seps[0]!;
      for (let i = 0; i < n; i++) {
        pre[i] = acc;
        acc += this.words[i]! + seps[i + 1]!;
      }
      let back = seps[n]!;
      for (let i = n - 1; i >= 0; i--) {
        suf[i] = back;
        back = seps[i]! + this.words[i]! + back;
      }
      this.prefixes = pre;
      this.suffixes = suf;
    }
    return [this.prefixes, this.suffixes];
  }

  /** The text with word `index` replaced by `word`, without making a new state (saliency probes). */
  textWith(index: number, word: string): string {
    const [pre, suf] = this.table();
    return pre[index]! + word + suf[index]!;
  }

  /** The text with word `index` deleted; a doubled space left behind is collapsed. */
  textWithout(index: number): string {
    const [pre, suf] = this.table();
    const p = pre[index]!;
    let s = suf[index]!;
    if ((p.length === 0 || isSpace(p[p.length - 1])) && isSpace(s[0])) s = s.slice(1);
    return p + s;
  }

  /** A new state with word `index` swapped for `word` (marks the index modified). */
  replaceWord(index: number, word: string): PerturbedText {
    const words = this.words.slice();
    words[index] = word;
    const modified = this.modified.includes(index) ? this.modified : [...this.modified, index];
    return new PerturbedText(this.base, words, modified, this.textWith(index, word));
  }

  /**
   * Words around `index` joined by spaces, `size` words in all where the text allows (TextAttack's
   * text_window_around_index).
   */
  window(index: number, size: number): string {
    const n = this.words.length;
    const half = Math.floor((size - 1) / 2);
    let start = Math.max(0, index - half);
    const end = Math.min(n, start + size);
    start = Math.max(0, end - size);
    return this.words.slice(start, end).join(" ");
  }
}

/** Levenshtein edit distance (insert, delete, substitute; UTF-16 units). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** Gives `replacement` the capitalisation pattern of `original` ("Good" -> "Fine", "GOOD" -> "FINE"). */
export function matchCase(original: string, replacement: string): string {
  if (original.length > 1 && original === original.toUpperCase() && original !== original.toLowerCase()) {
    return replacement.toUpperCase();
  }
  const first = original[0];
  if (first !== undefined && first !== first.toLowerCase() && first === first.toUpperCase()) {
    return replacement.charAt(0).toUpperCase() + replacement.slice(1);
  }
  return replacement;
}

/** NLTK's English stop-word list (179 words), the default of TextAttack's StopwordModification. */
export const NLTK_STOPWORDS: ReadonlySet<string> = new Set(
  `i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves
  he him his himself she she's her hers herself it it's its itself they them their theirs themselves
  what which who whom this that that'll these those am is are was were be been being have has had
  having do does did doing a an the and but if or because as until while of at by for with about
  against between into through during before after above below to from up down in out on off over
  under again further then once here there when where why how all any both each few more most other
  some such no nor not only own same so than too very s t can will just don don't should should've
  now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn
  hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn
  shouldn't wasn wasn't weren weren't won won't wouldn wouldn't`.split(/\s+/),
);

/** The stop-word list of the TextFooler recipe (Jin et al. 2019, as in TextAttack). */
export const TEXTFOOLER_STOPWORDS: ReadonlySet<string> = new Set(
  `a about above across after afterwards again against ain all almost alone along already also
  although am among amongst an and another any anyhow anyone anything anyway anywhere are aren
  aren't around as at back been before beforehand behind being below beside besides between beyond
  both but by can cannot could couldn couldn't d didn didn't doesn doesn't don don't down due during
  either else elsewhere empty enough even ever everyone everything everywhere except first for former
  formerly from hadn hadn't hasn hasn't haven haven't he hence her here hereafter hereby herein
  hereupon hers herself him himself his how however hundred i if in indeed into is isn isn't it it's
  its itself just latter latterly least ll may me meanwhile mightn mightn't mine more moreover most
  mostly must mustn mustn't my myself namely needn needn't neither never nevertheless next no nobody
  none noone nor not nothing now nowhere o of off on once one only onto or other others otherwise our
  ours ourselves out over per please s same shan shan't she she's should've shouldn shouldn't somehow
  something sometime somewhere such t than that that'll the their theirs them themselves then thence
  there thereafter thereby therefore therein thereupon these they this those through throughout thru
  thus to too toward towards under unless until up upon used ve was wasn wasn't we were weren
  weren't what whatever when whence whenever where whereafter whereas whereby wherein whereupon
  wherever whether which while whither who whoever whole whom whose why with within without won
  won't would wouldn wouldn't y yet you you'd you'll you're you've your yours yourself
  yourselves`.split(/\s+/),
);

/** Normalises curly apostrophes so "don’t" is found in the stop-word lists. */
export function stopKey(lowerWord: string): string {
  return lowerWord.replace(/’/g, "'");
}
