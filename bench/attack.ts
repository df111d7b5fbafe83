// Model queries per second during an attack, and the share of the attack's time spent in the
// classifier's forward pass: PWWS on the first N SST-2 dev examples.
import { fileURLToPath } from "node:url";
import { getGlueTask } from "../src/data/tasks.ts";
import { loadModelConfig } from "../src/io/config.ts";
import { PretrainedModel } from "../src/models/pretrained.ts";
import { DEFAULT_MODEL } from "../src/node/model-ref.ts";
import { attackModel } from "../src/robust/run.ts";
import { parseFlags } from "./util.ts";
import { dirFiles } from "../src/node/files.ts";

const shared = (p: string) => fileURLToPath(new URL(`../../shared/${p}`, import.meta.url));

export async function benchAttack(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, {
    model: DEFAULT_MODEL,
    data: shared("data/glue/sst2/dev.tsv"),
    recipe: "pwws",
    n: 20,
    batchSize: 64,
    maxSeqLength: 128,
    threads: 0,
  });
  const labels = getGlueTask("sst2")!.labels!;
  // A model with another label count (the golden one has 3) gets a fresh 2-way head: timing only.
  const cfg = loadModelConfig(dirFiles(f.model));
  const model = await PretrainedModel.load(dirFiles(f.model), cfg.numLabels === labels.length ? {} : { labels });
  const r = await attackModel({
    model,
    recipe: f.recipe,
    task: "sst2",
    data: f.data,
    numExamples: f.n,
    batchSize: f.batchSize,
    maxSeqLength: f.maxSeqLength,
    threads: f.threads || undefined,
  });
  const { stats: st, summary: s } = r;
  return {
    model: f.model,
    recipe: f.recipe,
    n: s.n,
    queries: st.modelInputs,
    model_calls: st.modelCalls,
    total_s: +(st.totalMs / 1000).toFixed(3),
    model_s: +(st.modelMs / 1000).toFixed(3),
    queries_per_s: +(st.modelInputs / (st.totalMs / 1000)).toFixed(1),
    model_queries_per_s: +(st.modelInputs / (st.modelMs / 1000)).toFixed(1),
    model_share: +(st.modelMs / st.totalMs).toFixed(4),
    aux_share: +(st.auxModelMs / st.totalMs).toFixed(4),
    avg_queries: +s.avg_queries.toFixed(2),
    attack_success_rate: +s.attack_success_rate.toFixed(2),
  };
}
