// Untargeted classification goal (TextAttack's UntargetedClassification): the score of an input is
// 1 - p(ground truth) and the attack succeeds once the predicted label differs from the ground
// truth. Predictions are cached per example, queries count unique model inputs, and evaluation
// stops at the query budget (a batch is cut where the budget runs out, as TextAttack does).

import { RoseError } from "../errors.ts";
import { argmax } from "../infer/predictor.ts";
import type { StatsClock } from "./context.ts";
import type { AttackInput, TextClassifier } from "./types.ts";

export interface GoalResult {
  input: AttackInput;
  probs: Float32Array;
  predicted: number;
  /** 1 - p(ground truth): higher is closer to the goal. */
  score: number;
  succeeded: boolean;
}

export interface Evaluation {
  /** Results for a prefix of the inputs (all of them unless the budget ran out). */
  results: GoalResult[];
  /** True once the query budget is spent. */
  searchOver: boolean;
}

export function inputKey(input: AttackInput): string {
  return input.pair === undefined ? `0${input.text}` : `1${input.pair.length}:${input.pair}${input.text}`;
}

export class UntargetedClassification {
  /** Unique inputs sent to the model for this example. */
  queries = 0;
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    private readonly classifier: TextClassifier,
    readonly label: number,
    private readonly clock: StatsClock,
    readonly queryBudget = Infinity,
    private readonly batchSize = 128,
  ) {}

  get searchOver(): boolean {
    return this.queries >= this.queryBudget;
  }

  private result(input: AttackInput, probs: Float32Array): GoalResult {
    const predicted = argmax(probs);
    return { input, probs, predicted, score: 1 - probs[this.label]!, succeeded: predicted !== this.label };
  }

  async evaluate(inputs: readonly AttackInput[]): Promise<Evaluation> {
    const keys: string[] = [];
    const pending = new Map<string, AttackInput>();
    for (const input of inputs) {
      const key = inputKey(input);
      if (!this.cache.has(key) && !pending.has(key)) {
        if (this.queries + pending.size >= this.queryBudget) break;
        pending.set(key, input);
      }
      keys.push(key);
    }
    if (pending.size > 0) {
      const batch = [...pending.values()];
      const batchKeys = [...pending.keys()];
      for (let s = 0; s < batch.length; s += this.batchSize) {
        const chunk = batch.slice(s, s + this.batchSize);
        const probs = await this.clock.model(chunk.length, () => this.classifier.predictProba(chunk));
        if (probs.length !== chunk.length) {
          throw new RoseError(`classifier returned ${probs.length} predictions for ${chunk.length} inputs`);
        }
        probs.forEach((p, i) => {
          if (p.length !== this.classifier.numLabels) {
            throw new RoseError(`classifier returned ${p.length} probabilities, expected numLabels=${this.classifier.numLabels}`);
          }
          this.cache.set(batchKeys[s + i]!, p);
        });
      }
      this.queries += batch.length;
    }
    const results = keys.map((k, i) => this.result(inputs[i]!, this.cache.get(k)!));
    return { results, searchOver: this.searchOver };
  }
}
