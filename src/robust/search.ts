// Search methods. GreedyWordSwapWIR (TextAttack's): rank the modifiable words by importance, then
// walk them in that order, each time keeping the best candidate swap if it raises the goal score,
// until the goal is reached, the words run out or the query budget is spent. All candidates of one
// position are evaluated in one model call.

import { softmax } from "../infer/predictor.ts";
import type { Candidate } from "./constraints.ts";
import type { GoalResult, UntargetedClassification } from "./goal.ts";
import type { AttackInput } from "./types.ts";
import type { PerturbedText } from "./words.ts";

export interface SearchState {
  state: PerturbedText;
  result: GoalResult;
}

/** What the attack gives a search method for one example. */
export interface SearchProblem {
  original: PerturbedText;
  initial: GoalResult;
  goal: UntargetedClassification;
  /** The model input for a version of the attacked field. */
  toInput(text: string): AttackInput;
  /** Indices of `state` the pre-transformation constraints let us modify. */
  modifiableIndices(state: PerturbedText): number[];
  /** Transformed and constraint-filtered candidates at one position. */
  candidates(state: PerturbedText, index: number): Promise<Candidate[]>;
}

export interface SearchMethod {
  readonly name: string;
  search(problem: SearchProblem): Promise<SearchState>;
}

export type WirMethod = "delete" | "unk" | "weighted-saliency";

/** Indices sorted by descending score; ties keep text order. */
function rank(indices: number[], scores: number[]): number[] {
  return indices
    .map((index, i) => ({ index, score: scores[i]!, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map((x) => x.index);
}

export class GreedyWordSwapWIR implements SearchMethod {
  readonly name: string;
  constructor(
    readonly method: WirMethod,
    /** Token standing for an unknown word in "unk" and PWWS saliency probes. */
    readonly unkToken = "[UNK]",
  ) {
    this.name = `greedy-wir-${method}`;
  }

  /** Word order by importance, or null when the budget ran out while ranking. */
  private async order(p: SearchProblem): Promise<number[] | null> {
    const { original, goal } = p;
    const indices = p.modifiableIndices(original);
    if (indices.length === 0) return [];
    const probe = (i: number): AttackInput =>
      p.toInput(this.method === "delete" ? original.textWithout(i) : original.textWith(i, this.unkToken));
    const loo = await goal.evaluate(indices.map(probe));
    if (loo.results.length < indices.length || loo.searchOver) return null;
    const looScores = loo.results.map((r) => r.score);
    if (this.method !== "weighted-saliency") return rank(indices, looScores);

    // PWWS: softmax(saliency) * delta of the best swap at each word (Ren et al. 2019, eq. 8).
    // The saliency is the score with the word replaced by UNK (as TextAttack); the delta is the best
    // swap's score minus the original score, as in the paper (TextAttack multiplies the raw score).
    const saliency = softmax(looScores);
    const deltas: number[] = [];
    for (const i of indices) {
      if (goal.searchOver) {
        deltas.push(0);
        continue;
      }
      const cands = await p.candidates(original, i);
      if (cands.length === 0) {
        deltas.push(0);
        continue;
      }
      const ev = await goal.evaluate(cands.map((c) => p.toInput(c.state.text)));
      const best = ev.results.reduce((m, r) => Math.max(m, r.score), -Infinity);
      deltas.push(ev.results.length === 0 ? 0 : best - p.initial.score);
    }
    if (goal.searchOver) return null;
    return rank(
      indices,
      saliency.map((s, k) => s * deltas[k]!),
    );
  }

  async search(p: SearchProblem): Promise<SearchState> {
    let cur: SearchState = { state: p.original, result: p.initial };
    const order = await this.order(p);
    if (order === null) return cur;
    for (const index of order) {
      if (p.goal.searchOver) break;
      const cands = await p.candidates(cur.state, index);
      if (cands.length === 0) continue;
      const ev = await p.goal.evaluate(cands.map((c) => p.toInput(c.state.text)));
      if (ev.results.length === 0) break;
      // Stable sort by score: the first of equal candidates wins.
      const scored = ev.results.map((result, i) => ({ result, cand: cands[i]! })).sort((a, b) => b.result.score - a.result.score);
      const top = scored[0]!;
      if (top.result.score <= cur.result.score) continue;
      cur = { state: top.cand.state, result: top.result };
      if (cur.result.succeeded) {
        // Among the successful swaps, keep the one most similar to the reference, when known.
        let bestSim = -Infinity;
        for (const { result, cand } of scored) {
          if (!result.succeeded || cand.similarity === undefined) break;
          if (cand.similarity > bestSim) {
            bestSim = cand.similarity;
            cur = { state: cand.state, result };
          }
        }
        return cur;
      }
    }
    return cur;
  }
}
