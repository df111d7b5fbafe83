// Where a step's time goes: summarises an onnxruntime profile (written by `npm run bench -- train|pretrain
// --profile PREFIX`) by op type and by node, per session run, with the matmuls' GFLOP/s from their shapes.
// The first runs pay for first-touch page faults and the arena's growth (a node can take 30x its steady time),
// so --skip drops each node's first N runs (default 1).
// Usage: node --import tsx bench/profile-summary.ts PROFILE.json [--top N] [--skip N]
import { readFileSync } from "node:fs";

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

const MATMULS = new Set(["Gemm", "MatMul", "FusedMatMul"]);

function shapes(list: Record<string, number[]>[] | undefined): number[][] {
  return (list ?? []).map((s) => Object.values(s)[0] ?? []);
}

/** Multiply-add count x 2 of a matmul node, from its output [..., M, N] and first input [..., M, K] (or [..., K, M]). */
function matmulFlops(e: ProfileEvent): number {
  const [a] = shapes(e.args?.input_type_shape);
  const [out] = shapes(e.args?.output_type_shape);
  if (!a || !out || a.length < 2 || out.length < 2) return 0;
  const m = out[out.length - 2]!;
  const k = (a[a.length - 1]! * a[a.length - 2]!) / m;
  return 2 * out.reduce((x, y) => x * y, 1) * k;
}

function main(argv: string[]): void {
  const file = argv[0];
  if (!file) throw new Error("usage: profile-summary.ts PROFILE.json [--top N] [--skip N]");
  const flag = (name: string, def: number) => {
    const i = argv.indexOf(name);
    return i > 0 ? Number(argv[i + 1]) : def;
  };
  const top = flag("--top", 25),
    skip = flag("--skip", 1);
  const events = JSON.parse(readFileSync(file, "utf8")) as ProfileEvent[];
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").length - skip;
  if (!(runs > 0)) throw new Error(`${file}: no runs left after skipping ${skip}`);
  const seen = new Map<string, number>();
  const byOp = new Map<string, { us: number; flops: number }>();
  const byNode = new Map<string, { us: number; flops: number }>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || !e.args?.op_name) continue;
    const k = (seen.get(e.name) ?? 0) + 1; // each node runs once per session run, in order
    seen.set(e.name, k);
    if (k <= skip) continue;
    const op = e.args.op_name;
    const flops = MATMULS.has(op) ? matmulFlops(e) : 0;
    const node = `${op} ${e.name.replace(/_kernel_time$/, "")} ${JSON.stringify(shapes(e.args.input_type_shape))}`;
    for (const [map, key] of [
      [byOp, op],
      [byNode, node],
    ] as const) {
      const r = map.get(key) ?? { us: 0, flops: 0 };
      r.us += e.dur;
      r.flops += flops;
      map.set(key, r);
    }
  }
  const total = [...byOp.values()].reduce((s, r) => s + r.us, 0);
  const line = (key: string, r: { us: number; flops: number }) => {
    const rate = r.flops > 0 ? `  ${(r.flops / (r.us * 1e3)).toFixed(1)} GFLOP/s` : "";
    return `${(r.us / runs / 1000).toFixed(2).padStart(9)} ms ${((100 * r.us) / total).toFixed(1).padStart(5)}%  ${key}${rate}`;
  };
  const sorted = (m: Map<string, { us: number; flops: number }>) => [...m.entries()].sort((x, y) => y[1].us - x[1].us);
  console.log(`${runs} runs after the first ${skip}, ${(total / runs / 1000).toFixed(1)} ms of kernel time per run`);
  console.log("\nby op type:");
  for (const [k, r] of sorted(byOp)) console.log(line(k, r));
  console.log(`\ntop ${top} nodes:`);
  for (const [k, r] of sorted(byNode).slice(0, top)) console.log(line(k, r));
}

main(process.argv.slice(2));
