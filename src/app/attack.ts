// `rose attack`: one recipe against a model over a data file (the attack itself is robust/run.ts), the
// per-example results written as JSON Lines once it ends, when asked.
import { writeAttackResults } from "../node/run-dir.ts";
import { type AttackModelOptions, type AttackModelResult, attackModel, resultRecord } from "../robust/run.ts";
import type { AttackSummary } from "../robust/report.ts";

export interface AttackCommandOptions extends AttackModelOptions {
  /** Write the per-example results here (JSON Lines) when the attack ends. */
  output?: string;
}

/** Attacks the examples with one recipe; with `output`, writes one record per example there. */
export async function attack(o: AttackCommandOptions): Promise<AttackModelResult> {
  const r = await attackModel(o);
  if (o.output)
    writeAttackResults(
      o.output,
      r.results.map((x, i) => resultRecord(x, i, r.labelNames)),
    );
  return r;
}

/** The summary line `rose attack --json` prints: rates and averages rounded to 2 decimals, seconds to 3. */
export interface AttackRecord extends AttackSummary {
  recipe: string;
  task: string;
  model_calls: number;
  model_inputs: number;
  seconds: number;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

export function attackRecord(r: AttackModelResult): AttackRecord {
  const s = r.summary;
  return {
    recipe: r.recipe,
    task: r.task,
    n: s.n,
    succeeded: s.succeeded,
    failed: s.failed,
    skipped: s.skipped,
    original_accuracy: round(s.original_accuracy),
    accuracy_under_attack: round(s.accuracy_under_attack),
    attack_success_rate: round(s.attack_success_rate),
    avg_perturbed_word_pct: round(s.avg_perturbed_word_pct),
    avg_num_words: round(s.avg_num_words),
    avg_queries: round(s.avg_queries),
    model_calls: r.stats.modelCalls,
    model_inputs: r.stats.modelInputs,
    seconds: round(r.stats.totalMs / 1000, 3),
  };
}
