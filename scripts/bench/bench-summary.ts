// Summarises scripts/bench/bench-compare.sh and arch-compare.sh output (one JSON line per run, in pairs of a rose
// run and its PyTorch run, in either order): per benchmark, the median of the paired ratios and the median numbers.
// Usage: bash scripts/bench/bench-compare.sh 2 > bench.jsonl; node --import tsx scripts/bench/bench-summary.ts bench.jsonl
import { readFileSync } from "node:fs";

type Row = Record<string, number | string | undefined>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const file = process.argv[2];
if (!file) throw new Error("usage: bench-summary.ts FILE");
const rows = readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l.startsWith("{"))
  .map((l) => JSON.parse(l) as Row);
const groups = new Map<string, { rose: Row[]; torch: Row[] }>();
for (let i = 0; i + 1 < rows.length; i += 2) {
  const roseFirst = rows[i]!.impl === "rose-onnxruntime";
  const r = roseFirst ? rows[i]! : rows[i + 1]!,
    t = roseFirst ? rows[i + 1]! : rows[i]!;
  if (r.impl !== "rose-onnxruntime" || String(t.impl).startsWith("rose"))
    throw new Error(`lines ${i + 1}-${i + 2}: expected a rose run and its PyTorch pair`);
  // BERT rows keep their names without the architecture.
  const arch = r.arch !== undefined && r.arch !== "bert" ? ` ${r.arch}` : "";
  const key =
    r.fwd_bwd_ms !== undefined
      ? "engine"
      : `${r.method === "eval" ? "infer" : r.method === "mlm" ? "pretrain" : "train"}${arch} ${r.config} ${r.method}`;
  const g = groups.get(key) ?? { rose: [], torch: [] };
  g.rose.push(r);
  g.torch.push(t);
  groups.set(key, g);
}
const num = (r: Row, k: string) => Number(r[k]);
console.log("| work | rose | PyTorch | ratio (median of pairs) | peak RSS MiB rose / PyTorch |");
console.log("|---|---|---|---|---|");
for (const [key, g] of groups) {
  if (key === "engine") {
    const ratios = g.rose.map((r, i) => num(r, "fwd_bwd_ms") / num(g.torch[i]!, "fwd_bwd_ms"));
    const gf = median(g.rose.map((r) => num(r, "gflops")));
    console.log(
      `| BERT-base layer fwd+bwd, batch 8 (ms) | ${median(g.rose.map((r) => num(r, "fwd_bwd_ms"))).toFixed(1)} (${gf.toFixed(1)} GFLOP/s) | ${median(g.torch.map((r) => num(r, "fwd_bwd_ms"))).toFixed(1)} | ${median(ratios).toFixed(2)}× the time | |`,
    );
    continue;
  }
  const ratios = g.rose.map((r, i) => num(r, "samples_per_s") / num(g.torch[i]!, "samples_per_s"));
  const gf = g.rose[0]!.gflops !== undefined ? ` (${median(g.rose.map((r) => num(r, "gflops"))).toFixed(1)} GFLOP/s)` : "";
  const rss = `${median(g.rose.map((r) => num(r, "peak_rss_mib"))).toFixed(0)} / ${median(g.torch.map((r) => num(r, "peak_rss_mib"))).toFixed(0)}`;
  console.log(
    `| ${key} | ${median(g.rose.map((r) => num(r, "samples_per_s"))).toFixed(2)}${gf} | ${median(g.torch.map((r) => num(r, "samples_per_s"))).toFixed(2)} | ${median(ratios).toFixed(2)}× | ${rss} |`,
  );
}
