// A seeded fine-tuning grid's table (`scripts/experiments/finetune-grid.ts ... --seeds 1,2,3`): per setting, the validation
// accuracy after the last epoch (the weights `rose train` keeps and the demo scores) and of the best epoch, as
// mean ± sample standard deviation over the seeds. Usage:
//   node --import tsx scripts/tables/grid-seeds-table.ts GRID_OUT [--metric accuracy]
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface Trial {
  index: number;
  config: number;
  params: Record<string, number | string>;
  seed: number | null;
}
interface Outcome {
  evals: Record<string, number>[];
  finished: boolean;
}

const [out, flag, metricArg] = process.argv.slice(2);
if (!out || (flag !== undefined && flag !== "--metric")) {
  console.error("usage: node --import tsx scripts/tables/grid-seeds-table.ts GRID_OUT [--metric accuracy]");
  process.exit(2);
}
const metric = metricArg ?? "accuracy";
const dir = join(out, "sweep");
const sweep = JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8")) as { trials: Trial[] };
const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Record<string, { outcome?: Outcome }>;

const stats = (xs: number[]): string => {
  if (xs.length === 0) return "-";
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return `${mean.toFixed(2)} ± ${sd.toFixed(2)}`;
};

const groups = new Map<number, { params: Record<string, number | string>; last: number[]; best: number[]; seeds: (number | null)[] }>();
for (const t of sweep.trials) {
  // state.json keys are "trial/rung"; the grid has one rung, so the latest entry of a trial is its outcome.
  const entry = Object.entries(state)
    .filter(([k]) => k.split("/")[0] === String(t.index))
    .map(([, v]) => v.outcome)
    .find((o) => o?.finished);
  const g = groups.get(t.config) ?? { params: t.params, last: [], best: [], seeds: [] };
  groups.set(t.config, g);
  const vals = (entry?.evals ?? []).map((e) => e[metric]).filter((v): v is number => typeof v === "number");
  if (vals.length === 0) continue;
  g.last.push(100 * vals[vals.length - 1]!);
  g.best.push(100 * Math.max(...vals));
  g.seeds.push(t.seed);
}
const keys = Object.keys(groups.values().next().value?.params ?? {});
console.log(`| ${keys.map((k) => k.replace(/^--/, "")).join(" | ")} | seeds | ${metric} after the last epoch | each seed | best epoch |`);
console.log(`|${"---|".repeat(keys.length + 4)}`);
for (const g of groups.values()) {
  console.log(
    `| ${keys.map((k) => String(g.params[k])).join(" | ")} | ${g.seeds.join(", ")} | ${stats(g.last)} | ${g.last.map((v) => v.toFixed(2)).join(", ")} | ${stats(g.best)} |`,
  );
}
