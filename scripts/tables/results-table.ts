// Summarises a results directory of scripts/experiments/results-sst2.sh: mean ± std over seeds per method, as markdown.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "runs/results-sst2";
interface Row {
  method: string;
  seed: number;
  clean: number;
  pwws: number;
  dwb: number;
  pwwsClean: number;
  steps: number;
  seconds: number;
}
const rows: Row[] = [];
for (const name of readdirSync(dir).sort()) {
  const m = /^(.*)-seed(\d+)$/.exec(name);
  if (!m || !existsSync(join(dir, name, "robust.json"))) continue;
  const ev = JSON.parse(readFileSync(join(dir, name, "eval.json"), "utf8")) as { accuracy: number };
  const rb = JSON.parse(readFileSync(join(dir, name, "robust.json"), "utf8")) as {
    rows: { recipe: string; accuracy_under_attack: number; original_accuracy: number }[];
  };
  const tr = existsSync(join(dir, `${name}.train.json`))
    ? (JSON.parse(readFileSync(join(dir, `${name}.train.json`), "utf8")) as { global_step: number })
    : { global_step: 0 };
  const state = JSON.parse(readFileSync(join(dir, name, "trainer_state.json"), "utf8")) as {
    log_history: { type: string; samples_per_s?: number }[];
    train_samples_per_second: number;
  };
  const rec = (r: string) => rb.rows.find((x) => x.recipe === r)!;
  rows.push({
    method: m[1]!,
    seed: Number(m[2]),
    clean: 100 * ev.accuracy,
    pwws: rec("pwws").accuracy_under_attack,
    dwb: rec("deepwordbug").accuracy_under_attack,
    pwwsClean: rec("pwws").original_accuracy,
    steps: tr.global_step,
    seconds: state.train_samples_per_second,
  });
}
const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return `${mean.toFixed(2)} ± ${sd.toFixed(2)}`;
};
const methods = [...new Set(rows.map((r) => r.method))];
const order = ["vanilla", "rose-first", "rose-second", "rose-ensemble"];
methods.sort((a, b) => order.indexOf(a) - order.indexOf(b));
const lines = [
  "| method | seeds | clean dev accuracy % (872) | clean accuracy % on the 300 attacked | accuracy under pwws % | accuracy under deepwordbug % |",
  "|---|---|---|---|---|---|",
  ...methods.map((m) => {
    const rs = rows.filter((r) => r.method === m);
    return `| ${m} | ${rs.map((r) => r.seed).join(", ")} | ${stats(rs.map((r) => r.clean))} | ${stats(rs.map((r) => r.pwwsClean))} | ${stats(rs.map((r) => r.pwws))} | ${stats(rs.map((r) => r.dwb))} |`;
  }),
  "",
  "Per run:",
  "",
  "| method | seed | clean dev % | clean on 300 % | pwws % | deepwordbug % |",
  "|---|---|---|---|---|---|",
  ...rows.map(
    (r) => `| ${r.method} | ${r.seed} | ${r.clean.toFixed(2)} | ${r.pwwsClean.toFixed(2)} | ${r.pwws.toFixed(2)} | ${r.dwb.toFixed(2)} |`,
  ),
];
const md = lines.join("\n");
writeFileSync(join(dir, "summary.md"), `${md}\n`);
console.log(md);
