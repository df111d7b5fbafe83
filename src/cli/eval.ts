// `rose eval`: flags -> evaluate or evalAdvGlue (app/eval.ts).
import type { Command } from "commander";
import { evalAdvGlue, evaluate, type EvaluateOptions } from "../app/eval.ts";
import { ConfigError } from "../errors.ts";
import { prepareOutputFile, writeJsonLines } from "../node/outputs.ts";
import { ADVGLUE_TASK_NAMES, isAdvGlueTask } from "../robust/advglue.ts";
import {
  type DataFlags,
  dataFlags,
  dataOptions,
  hubOptions,
  int,
  type ModelFlags,
  modelOptions,
  truncationOption,
  withFlags,
} from "./flags.ts";

/** The flags as commander parses them. */
export interface EvalFlags extends ModelFlags, DataFlags {
  task: string;
  data?: string;
  advglue?: string;
  batchSize: number;
  maxSeqLength?: number;
  truncation?: EvaluateOptions["truncation"];
  predictions?: string;
  threads?: number;
  json?: boolean;
}

export function registerEval(program: Command): void {
  const cmd = program.command("eval").description("evaluate a classifier on a labelled data set (GLUE metrics)");
  modelOptions(cmd);
  truncationOption(dataOptions(cmd))
    .option("--task <name>", "GLUE task or custom", "custom")
    .option("--data <file>", "evaluation data")
    .option("--advglue <file>", "score on this AdvGLUE dev.json instead of --data (--task sst2, qqp, qnli, rte, mnli or mnli-mm)")
    .option("--batch-size <n>", "batch size", int, 64)
    .option("--max-seq-length <n>", "truncate inputs to this many tokens (default 128, or the model's limit if smaller)", int)
    .option("--predictions <file>", "write per-example predictions with the gold label id (JSON lines)")
    .option("--threads <n>", "compute threads", int)
    .option("--json", "print one JSON line")
    .action(
      withFlags(cmd, {}, async (f: EvalFlags) => {
        if (f.predictions) prepareOutputFile(f.predictions, "--predictions");
        if (f.advglue) {
          if (!isAdvGlueTask(f.task))
            throw new ConfigError(`--advglue needs --task, one of ${ADVGLUE_TASK_NAMES.join(", ")}; got "${f.task}"`);
          return evalAdvGlueAction(f, f.advglue);
        }
        if (!f.data) throw new ConfigError("--data is required (or --advglue FILE)");
        const r = await evaluate({
          model: f.model,
          hub: hubOptions(f),
          ...dataFlags(f),
          task: f.task,
          data: f.data,
          batchSize: f.batchSize,
          maxSeqLength: f.maxSeqLength,
          truncation: f.truncation,
          threads: f.threads,
        });
        if (f.predictions)
          writeJsonLines(
            f.predictions,
            r.predictions.map((p, i) => ({ index: i, ...p })),
          );
        if (f.json) process.stdout.write(`${JSON.stringify({ task: r.task, n: r.n, ...r.metrics })}\n`);
        else {
          process.stdout.write(`task ${r.task}, ${r.n} examples\n`);
          for (const [k, v] of Object.entries(r.metrics)) process.stdout.write(`  ${k.padEnd(22)} ${v.toFixed(4)}\n`);
        }
      }),
    );
}

// Prints the task's metrics plus `score`, the AdvGLUE task score (mean of its GLUE metrics, 0-1).
async function evalAdvGlueAction(f: EvalFlags, file: string): Promise<void> {
  const r = await evalAdvGlue({
    model: f.model,
    hub: hubOptions(f),
    file,
    task: f.task,
    batchSize: f.batchSize,
    maxSeqLength: f.maxSeqLength,
    threads: f.threads,
  });
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (f.predictions) writeJsonLines(f.predictions, r.predictions);
  if (f.json) process.stdout.write(`${JSON.stringify({ task: r.task, n: r.n, ...r.metrics, score: r.score })}\n`);
  else {
    process.stdout.write(`AdvGLUE ${r.task}, ${r.n} examples\n`);
    for (const [k, v] of Object.entries({ ...r.metrics, score: r.score })) process.stdout.write(`  ${k.padEnd(22)} ${v.toFixed(4)}\n`);
  }
}
