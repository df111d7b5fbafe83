// An Attack (TextAttack's composition): goal function + transformation + constraints + search.
// runAttack attacks a list of examples one after another and reports per-example results and
// where the time went (model vs. everything else).

import { ConfigError, RoseError } from "../errors.ts";
import type { Candidate, Constraint, PreTransformationConstraint } from "./constraints.ts";
import { ExampleContext, StatsClock } from "./context.ts";
import { UntargetedClassification } from "./goal.ts";
import type { SearchMethod, SearchProblem } from "./search.ts";
import type { Transformation } from "./transformations.ts";
import type { AttackExample, AttackInput, AttackResult, AttackRun, TextClassifier } from "./types.ts";
import { PerturbedText } from "./words.ts";

export interface AttackSpec {
  name: string;
  transformation: Transformation;
  /** Decide which words may be modified (stop words, repeats, max ratio). */
  preConstraints: PreTransformationConstraint[];
  /** Filter candidate texts (edit distance, part of speech, sentence similarity), cheapest first. */
  constraints: Constraint[];
  search: SearchMethod;
  /** Most unique model inputs per example (the original included); default unlimited. */
  queryBudget?: number;
  /** Seed of the random character edits. */
  seed?: number;
  /** For pair inputs, attack `text` instead of `pair` (the default attacks the second text). */
  attackFirst?: boolean;
  /** Most inputs per predictProba call (all candidates of one position go in one call when they fit). */
  batchSize?: number;
}

export class Attack {
  readonly name: string;
  readonly transformation: Transformation;
  readonly preConstraints: readonly PreTransformationConstraint[];
  readonly constraints: readonly Constraint[];
  readonly search: SearchMethod;
  readonly queryBudget: number;
  readonly seed: number;
  readonly attackFirst: boolean;
  readonly batchSize: number;

  constructor(spec: AttackSpec) {
    this.name = spec.name;
    this.transformation = spec.transformation;
    this.preConstraints = spec.preConstraints;
    this.constraints = spec.constraints;
    this.search = spec.search;
    this.queryBudget = spec.queryBudget ?? Infinity;
    this.seed = spec.seed ?? 0;
    this.attackFirst = spec.attackFirst ?? false;
    this.batchSize = spec.batchSize ?? 128;
    if (!(this.queryBudget >= 1)) throw new ConfigError(`query budget must be at least 1, got ${spec.queryBudget}`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new ConfigError(`batch size must be a positive integer, got ${spec.batchSize}`);
  }

  /** One line per component, like TextAttack's attack summary. */
  describe(): string {
    return [
      `attack: ${this.name}`,
      `  search: ${this.search.name}`,
      `  transformation: ${this.transformation.name}`,
      `  constraints: ${[...this.preConstraints, ...this.constraints].map((c) => c.name).join(", ")}`,
      `  query budget: ${this.queryBudget === Infinity ? "none" : this.queryBudget}`,
    ].join("\n");
  }

  async attackExample(
    classifier: TextClassifier,
    example: AttackExample,
    exampleIndex = 0,
    clock: StatsClock = new StatsClock(),
  ): Promise<AttackResult> {
    const { input, label } = example;
    if (!Number.isInteger(label) || label < 0 || label >= classifier.numLabels) {
      throw new RoseError(`example ${exampleIndex}: label ${label} is not a class of a ${classifier.numLabels}-label classifier`);
    }
    const field: "text" | "pair" = this.attackFirst || input.pair === undefined ? "text" : "pair";
    const original = PerturbedText.from(field === "text" ? input.text : input.pair!);
    const toInput = (text: string): AttackInput =>
      field === "pair" ? { text: input.text, pair: text } : input.pair === undefined ? { text } : { text, pair: input.pair };
    const ctx = new ExampleContext(clock, this.seed, exampleIndex);
    const goal = new UntargetedClassification(classifier, label, clock, this.queryBudget, this.batchSize);
    const initial = (await goal.evaluate([toInput(original.text)])).results[0]!;

    const base = {
      original: input,
      originalLabel: label,
      originalPrediction: initial.predicted,
      numWords: original.numWords,
      attackedField: field,
    };
    if (initial.succeeded) {
      return {
        ...base,
        perturbed: input,
        perturbedPrediction: initial.predicted,
        status: "skipped",
        queries: goal.queries,
        perturbedWordPct: 0,
        changes: [],
      };
    }

    // Words the classifier truncates away cannot change its prediction: no queries are spent on them.
    // (Pairs keep every word: how a pair is truncated depends on both texts.)
    const read =
      input.pair === undefined && classifier.wordsRead ? await classifier.wordsRead(original.words, original.base.seps) : original.numWords;
    const allowed = (state: PerturbedText, i: number) => i < read && this.preConstraints.every((c) => c.allows(state, i));
    const problem: SearchProblem = {
      original,
      initial,
      goal,
      toInput,
      modifiableIndices: (state) => {
        const out: number[] = [];
        for (let i = 0; i < state.numWords; i++) if (allowed(state, i)) out.push(i);
        return out;
      },
      candidates: async (state, index) => {
        if (!allowed(state, index)) return [];
        const current = state.words[index]!;
        const seen = new Set<string>([current]);
        let cands: Candidate[] = [];
        for (const word of await this.transformation.candidates(state, index, ctx)) {
          if (word.length === 0 || seen.has(word)) continue;
          seen.add(word);
          cands.push({ index, word, state: state.replaceWord(index, word) });
        }
        for (const c of this.constraints) {
          if (cands.length === 0) break;
          cands = await c.filter(cands, state, original, ctx);
        }
        return cands;
      },
    };
    const final = await this.search.search(problem);
    const changes = final.state.modified.map((i) => ({ index: i, original: original.words[i]!, perturbed: final.state.words[i]! }));
    return {
      ...base,
      perturbed: toInput(final.state.text),
      perturbedPrediction: final.result.predicted,
      status: final.result.succeeded ? "succeeded" : "failed",
      queries: goal.queries,
      perturbedWordPct: original.numWords === 0 ? 0 : (100 * changes.length) / original.numWords,
      changes,
    };
  }
}

export interface RunOptions {
  /** Called after each example. */
  onProgress?: (done: number, total: number, result: AttackResult) => void;
}

/** Attacks each example in turn; `stats` says how much of the time the classifier took. */
export async function runAttack(
  attack: Attack,
  classifier: TextClassifier,
  examples: readonly AttackExample[],
  options: RunOptions = {},
): Promise<AttackRun> {
  const clock = new StatsClock();
  const results: AttackResult[] = [];
  for (let i = 0; i < examples.length; i++) {
    const r = await attack.attackExample(classifier, examples[i]!, i, clock);
    results.push(r);
    options.onProgress?.(i + 1, examples.length, r);
  }
  return { results, stats: clock.snapshot() };
}
