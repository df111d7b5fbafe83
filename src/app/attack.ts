// `rose attack`: one recipe against a model over a data file (the attack itself is robust/run.ts), the
// per-example results written as JSON Lines once it ends, when asked.
import { writeAttackResults } from "../node/run-dir.ts";
import { type AttackModelOptions, type AttackModelResult, attackModel, resultRecord } from "../robust/run.ts";

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
