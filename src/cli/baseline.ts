import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { type BaselineOptions, fitBaseline, resultSummary } from "../baseline/run.ts";
import { BASELINE_MODEL_TYPES } from "../baseline/model.ts";
import { GLUE_TRAIN_TASK_NAMES, getGlueTask } from "../data/tasks.ts";
import { choice, type DataFlags, dataFlags, dataOptions, int, num, pick, withFlags } from "./flags.ts";

function range(v: string): [number, number] {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected MIN,MAX (e.g. 1,2), got ${v}`);
  return [Number(m[1]), Number(m[2])];
}

export function registerBaseline(program: Command): void {
  const cmd = program
    .command("baseline")
    .description("fit a bag-of-words baseline (tf-idf word n-grams + logistic regression, or naive Bayes) on the data `rose train` reads");
  dataOptions(cmd)
    .option(
      "--task <name>",
      `GLUE task (${GLUE_TRAIN_TASK_NAMES.filter((n) => !getGlueTask(n)!.isRegression).join(", ")}) or custom`,
      "custom",
    )
    .requiredOption("--train-file <file>", "training data (.tsv, .csv, .jsonl, .json, .parquet)")
    .option("--validation-file <file>", "evaluation data, scored with the task's metrics")
    .option("--max-train-samples <n>", "train on the first N rows of the training file", int)
    .option("--max-eval-samples <n>", "evaluate on the first N rows of the validation file", int)
    .option(
      "--model-type <type>",
      "logreg (tf-idf + L2 logistic regression) | nb (multinomial naive Bayes on counts)",
      choice(BASELINE_MODEL_TYPES),
      "logreg",
    )
    .option("--ngram-range <min,max>", "word n-gram lengths", range, [1, 2] as [number, number])
    .option("--min-df <n>", "keep n-grams in at least N training texts (or a share, below 1)", num, 1)
    .option("--max-df <n>", "drop n-grams in more than this share of training texts (or N texts, above 1)", num, 1)
    .option("--max-features <n>", "keep the N most frequent n-grams", int)
    .option("--c <c>", "logistic regression: inverse L2 strength (scikit-learn's C)", num, 1)
    .option("--alpha <a>", "naive Bayes: additive smoothing", num, 1)
    .option("--max-iter <n>", "logistic regression: L-BFGS iteration cap", int, 1000)
    .option("--tol <t>", "logistic regression: stop when no gradient component exceeds this", num, 1e-6)
    .option("--output-dir <dir>", "write baseline_model.json and baseline_results.json here")
    .option("--quiet", "no progress output")
    .option("--json", "print one JSON line")
    .action(
      withFlags(cmd, {}, async (f: BaselineFlags) => {
        const r = await fitBaseline({ ...pick(f, SAME_NAMED), ...dataFlags(f), trainFile: f.trainFile, quiet: Boolean(f.quiet) });
        if (f.json) {
          process.stdout.write(`${JSON.stringify(resultSummary(r))}\n`);
          return;
        }
        process.stdout.write(
          `${r.modelType} on ${r.task}: ${r.trainSamples} training rows, ${r.features} n-grams, ${r.trainSeconds.toFixed(1)} s\n`,
        );
        for (const [k, v] of Object.entries(r.trainMetrics)) process.stdout.write(`  train ${k.padEnd(22)} ${v.toFixed(4)}\n`);
        for (const [k, v] of Object.entries(r.evalMetrics ?? {})) process.stdout.write(`  eval  ${k.padEnd(22)} ${v.toFixed(4)}\n`);
        if (r.outputDir) process.stdout.write(`model saved in ${r.outputDir}\n`);
      }),
    );
}

/** Flags whose attribute names are the library's option names: a renamed option fails to compile here. */
const SAME_NAMED = [
  "task",
  "validationFile",
  "maxTrainSamples",
  "maxEvalSamples",
  "modelType",
  "ngramRange",
  "minDf",
  "maxDf",
  "maxFeatures",
  "c",
  "alpha",
  "maxIter",
  "tol",
  "outputDir",
] as const satisfies readonly (keyof BaselineOptions)[];

/** The flags as commander parses them. */
type BaselineFlags = DataFlags &
  Pick<BaselineOptions, (typeof SAME_NAMED)[number]> & { trainFile: string; quiet?: boolean; json?: boolean };
