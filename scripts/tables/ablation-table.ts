// Prints the pre-training ablation table (markdown) of scripts/experiments/pretrain-ablations.sh's runs:
//   node --import tsx scripts/tables/ablation-table.ts RUNS_DIR
// One row per finished run: the recipe settings, held-out masked-token accuracy (15% masking), final loss
// (on the run's own masking rate, so comparable only at equal rates) and training throughput.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node --import tsx scripts/tables/ablation-table.ts RUNS_DIR");
  process.exit(2);
}
interface Result {
  steps: number;
  loss: number;
  heldoutAccuracy: number | null;
  seconds: number;
  tokensPerSecond: number;
  args: Record<string, unknown>;
}
const rows: string[] = [];
for (const name of readdirSync(dir).sort()) {
  const file = join(dir, name, "pretrain_result.json");
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, "utf8")) as Result;
  const a = r.args;
  const tokens = r.steps * Number(a.batchSize) * Number(a.maxSeqLength);
  rows.push(
    `| ${name} | ${a.learningRate} | ${a.lrSchedule ?? "linear"} | ${a.warmupRatio} | ${a.dropout ?? 0.1} | ${a.mlmProbability ?? 0.15} | ${a.vocabSize} | ${a.batchSize} x ${a.maxSeqLength} | ${(tokens / 1e6).toFixed(2)} M | ${r.heldoutAccuracy === null ? "-" : `${(100 * r.heldoutAccuracy).toFixed(2)}%`} | ${r.loss.toFixed(3)} | ${Math.round(r.tokensPerSecond)} |`,
  );
}
console.log(
  "| run | peak lr | schedule | warm-up | dropout | masking | vocab | batch x seq | tokens | held-out masked acc | final loss | tokens/s |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
