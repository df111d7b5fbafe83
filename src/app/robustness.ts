// `rose robustness`: the same examples under several recipes (model, data and resources loaded once), the
// table written as robustness.json when asked.
import { type RobustnessRecord, writeRobustnessFile } from "../node/run-dir.ts";
import type { RecipeName } from "../robust/recipes.ts";
import type { AttackSummary } from "../robust/report.ts";
import { type AttackSetupOptions, type AttackStart, attackWith, checkRecipes, setup } from "../robust/run.ts";
import type { AttackResult } from "../robust/types.ts";

export interface RobustnessOptions extends AttackSetupOptions {
  recipes: readonly string[];
  /** Called before each recipe's run. */
  onStart?: (info: AttackStart) => void;
  /** Called after each example of each recipe. */
  onProgress?: (recipe: RecipeName, done: number, total: number, result: AttackResult) => void;
  /** Write the table here as JSON (robustnessRecord) when all recipes have run; rose report reads it as RUN_DIR/robustness.json. */
  output?: string;
}

export interface RobustnessRow extends AttackSummary {
  recipe: RecipeName;
  /** Wall time of the recipe's run, seconds. */
  seconds: number;
}

/** The same examples under several recipes (model, data and resources loaded once): one row each. */
export async function robustness(o: RobustnessOptions): Promise<{ task: string; rows: RobustnessRow[] }> {
  const recipes = checkRecipes(o.recipes, o);
  const s = await setup(o, recipes);
  const rows: RobustnessRow[] = [];
  try {
    for (const recipe of recipes) {
      const r = await attackWith(s, recipe, o, o.onStart, o.onProgress && ((d, t, res) => o.onProgress!(recipe, d, t, res)));
      rows.push({ recipe, ...r.summary, seconds: r.stats.totalMs / 1000 });
    }
  } finally {
    await s.release();
  }
  const result = { task: s.task.name, rows };
  if (o.output) writeRobustnessFile(o.output, robustnessRecord(result));
  return result;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

/** The table as robustness.json holds it: the summary columns, rounded to 2 decimals (seconds to 3). */
export function robustnessRecord(r: { task: string; rows: readonly RobustnessRow[] }): RobustnessRecord {
  return {
    task: r.task,
    rows: r.rows.map((x) => ({
      recipe: x.recipe,
      n: x.n,
      succeeded: x.succeeded,
      failed: x.failed,
      skipped: x.skipped,
      original_accuracy: round(x.original_accuracy),
      accuracy_under_attack: round(x.accuracy_under_attack),
      attack_success_rate: round(x.attack_success_rate),
      avg_perturbed_word_pct: round(x.avg_perturbed_word_pct),
      avg_queries: round(x.avg_queries),
      seconds: round(x.seconds, 3),
    })),
  };
}

/** The robustness rows as one plain-text table. */
export function formatRobustnessTable(rows: readonly RobustnessRow[]): string {
  const head = ["recipe", "n", "original acc %", "acc under attack %", "success rate %", "perturbed words %", "avg queries"];
  const body = rows.map((r) => [
    r.recipe,
    String(r.n),
    r.original_accuracy.toFixed(2),
    r.accuracy_under_attack.toFixed(2),
    r.attack_success_rate.toFixed(2),
    r.avg_perturbed_word_pct.toFixed(2),
    r.avg_queries.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line, fmt(head), line, ...body.map(fmt), line].join("\n");
}
