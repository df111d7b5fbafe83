import type { Command } from "commander";
import { ConfigError } from "../errors.ts";
import { prepareOutputFile, writeJsonLines } from "../io/outputs.ts";
import { evalAdvGlue } from "../robust/run.ts";
import { evaluate } from "../train/run.ts";
import { dataOptions, hubOptions, int, type ModelFlags, modelOptions } from "./flags.ts";

export function registerEval(program: Command): void {
  const cmd = program.command("eval").description("evaluate a classifier on a labelled data set (GLUE metrics)");
  modelOptions(cmd);
  dataOptions(cmd)
    .option("--task <name>", "GLUE task or custom", "custom")
    .option("--data <file>", "evaluation data")
    .option("--advglue <file>", "score on this AdvGLUE dev.json instead of --data (--task sst2, qqp, qnli, rte, mnli or mnli-mm)")
    .option("--batch-size <n>", "batch size", int, 64)
    .option("--max-seq-length <n>", "truncate inputs to this many tokens (default 128, or the model's limit if smaller)", int)
    .option("--predictions <file>", "write per-example predictions (JSON lines)")
    .option("--threads <n>", "compute threads", int)
    .option("--json", "print one JSON line")
    .action(async (f: Record<string, unknown> & ModelFlags) => {
      if (f.predictions) prepareOutputFile(f.predictions as string, "--predictions");
      if (f.advglue) return evalAdvGlueAction(f);
      if (!f.data) throw new ConfigError("--data is required (or --advglue FILE)");
      const r = await evaluate({ ...(f as object), hub: hubOptions(f), data: f.data as string, batchSize: f.batchSize as number, maxSeqLength: f.maxSeqLength as number });
      if (f.predictions) writeJsonLines(f.predictions as string, r.predictions.map((p, i) => ({ index: i, ...p })));
      if (f.json) process.stdout.write(`${JSON.stringify({ task: r.task, n: r.n, ...r.metrics })}\n`);
      else {
        process.stdout.write(`task ${r.task}, ${r.n} examples\n`);
        for (const [k, v] of Object.entries(r.metrics)) process.stdout.write(`  ${k.padEnd(22)} ${v.toFixed(4)}\n`);
      }
    });
}

// Prints the task's metrics plus `score`, the AdvGLUE task score (mean of its GLUE metrics, 0-1).
async function evalAdvGlueAction(f: Record<string, unknown> & ModelFlags): Promise<void> {
  const r = await evalAdvGlue({
    model: f.model,
    hub: hubOptions(f),
    file: f.advglue as string,
    task: f.task as string,
    batchSize: f.batchSize as number,
    maxSeqLength: f.maxSeqLength as number,
    threads: f.threads as number | undefined,
  });
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (f.predictions) writeJsonLines(f.predictions as string, r.predictions);
  if (f.json) process.stdout.write(`${JSON.stringify({ task: r.task, n: r.n, ...r.metrics, score: r.score })}\n`);
  else {
    process.stdout.write(`AdvGLUE ${r.task}, ${r.n} examples\n`);
    for (const [k, v] of Object.entries({ ...r.metrics, score: r.score })) process.stdout.write(`  ${k.padEnd(22)} ${v.toFixed(4)}\n`);
  }
}
