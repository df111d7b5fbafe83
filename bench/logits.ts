// rose's classification logits for a model folder and its case.json (a golden fixture), in eval mode through
// the production path (Architecture.logits): bench/torch/check_golden.py compares its PyTorch re-statements to them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Graph, Program } from "../src/engine/index.ts";
import type { HostTensor } from "../src/engine/index.ts";
import { loadModelConfig } from "../src/io/config.ts";
import { checkpointTensors } from "../src/io/checkpoint.ts";
import { Architecture, ParamScope } from "../src/models/index.ts";
import { dirFiles } from "../src/node/files.ts";
import { parseFlags } from "./util.ts";

export async function benchLogits(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { model: "" });
  if (!f.model) throw new Error("--model <folder with config.json, weights and case.json> is required");
  const cfg = loadModelConfig(dirFiles(f.model));
  const weights = checkpointTensors(dirFiles(f.model));
  const c = JSON.parse(readFileSync(join(f.model, "case.json"), "utf8")) as Record<string, number[][]>;
  const ids = c.input_ids!;
  const dims = [ids.length, ids[0]!.length];
  const i64 = (rows: number[][]): HostTensor => ({ data: BigInt64Array.from(rows.flat().map(BigInt)), dims });
  const arch = new Architecture(cfg);
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const logits = arch.logits({ scope, train: false }, inputs);
  const prog = await Program.compile(g, { logits }, { threads: 1 });
  const feeds: Record<string, HostTensor | Float32Array> = { input_ids: i64(ids), attention_mask: i64(c.attention_mask!) };
  if (arch.usesTokenTypes) feeds.token_type_ids = i64(c.token_type_ids!);
  for (const n of scope.tensors.keys()) {
    const w = weights.get(n);
    if (!w) throw new Error(`${f.model}: the checkpoint lacks ${n}`);
    feeds[n] = w.data;
  }
  const out = (await prog.run(feeds)).logits!.data as Float32Array;
  const labels = cfg.numLabels;
  return { model: f.model, logits: Array.from({ length: dims[0]! }, (_, r) => Array.from(out.subarray(r * labels, (r + 1) * labels))) };
}
