// `rose robustness`: the same examples under several recipes (model, data and resources loaded once).
import type { RecipeName } from "../robust/recipes.ts";
import type { AttackSummary } from "../robust/report.ts";
import type { AttackResult } from "../robust/types.ts";
import { type AttackSetupOptions, type AttackStart, attackWith, checkRecipes, setup } from "./attack.ts";

export interface RobustnessOptions extends AttackSetupOptions {
  recipes: readonly string[];
  /** Called before each recipe's run. */
  onStart?: (info: AttackStart) => void;
  /** Called after each example of each recipe. */
  onProgress?: (recipe: RecipeName, done: number, total: number, result: AttackResult) => void;
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
  return { task: s.task.name, rows };
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
