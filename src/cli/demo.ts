// `rose demo`: flags -> runDemo (app/demo.ts).
import type { Command } from "commander";
import { DEMO_DEFAULTS as D, runDemo } from "../app/demo.ts";
import { BASELINE_MODEL_TYPES, type BaselineModelType } from "../baseline/model.ts";
import { ConfigError } from "../errors.ts";
import { METHOD_NAMES, ROSE_DEFAULTS, type RoseMethod } from "../optim/rose.ts";
import { flagNames } from "../train/flag-spec.ts";
import { roseFlags } from "../train/flags.ts";
import { addFlags, int, num, withFlags } from "./flags.ts";
import { onInterrupt } from "./interrupt.ts";

interface DemoFlags {
  outputDir: string;
  model: string;
  perClass: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  maxSeqLength: number;
  attackExamples: number;
  recipes: string;
  methods: string;
  baselines: string;
  upper: number;
  gamma: number;
  seed: number;
  threads?: number;
  quiet?: boolean;
}

export function registerDemo(program: Command): void {
  const cmd = program.command("demo");
  // ROSE's --upper and --gamma, with the demo's own defaults.
  const rose = roseFlags({ ...D.rose, method: ROSE_DEFAULTS.method }).filter((s) => s.key === "rose.upper" || s.key === "rose.gamma");
  cmd
    .description(
      "fine-tune the shipped model on SpamAssassin spam/ham with vanilla AdamW and ROSE (--methods); compare clean and under attack",
    )
    .option("--output-dir <dir>", "where data splits, models and the summary go", D.outputDir)
    .option("--model <dir>", "pre-trained model to fine-tune", D.model)
    .option("--per-class <n>", "messages sampled per class", int, D.perClass)
    .option("--epochs <n>", "fine-tuning epochs", num, D.epochs)
    .option("--batch-size <n>", "batch size", int, D.batchSize)
    .option("--learning-rate <lr>", "learning rate", num, D.learningRate)
    .option("--max-seq-length <n>", "tokens per message", int, D.maxSeqLength)
    .option("--attack-examples <n>", "held-out messages attacked per recipe (0: skip attacks)", int, D.attackExamples)
    .option("--recipes <list>", "attack recipes", D.recipes.join(","))
    .option("--methods <list>", `fine-tuning methods compared (${METHOD_NAMES.join(", ")})`, D.methods.join(","))
    .option(
      "--baselines <list>",
      `bag-of-words baselines fitted on the same split (${BASELINE_MODEL_TYPES.join(", ")}; none: skip)`,
      D.baselines.join(","),
    );
  addFlags(cmd, rose)
    .option("--seed <n>", "seed", int, D.seed)
    .option("--threads <n>", "compute threads", int)
    .option("--quiet", "no progress output")
    .action(
      withFlags(cmd, flagNames(rose), async (f: DemoFlags) => {
        onInterrupt(() => `Data splits and finished models are in ${f.outputDir}; the demo starts over when run again.`);
        const { table } = await runDemo({
          outputDir: f.outputDir,
          model: f.model,
          perClass: f.perClass,
          epochs: f.epochs,
          batchSize: f.batchSize,
          learningRate: f.learningRate,
          maxSeqLength: f.maxSeqLength,
          attackExamples: f.attackExamples,
          recipes: f.recipes.split(",").filter(Boolean),
          seed: f.seed,
          methods: methodList(f.methods),
          baselines: baselineList(f.baselines),
          rose: { upper: f.upper, gamma: f.gamma },
          threads: f.threads,
          quiet: Boolean(f.quiet),
        });
        process.stdout.write(`\n${table}\n`);
      }),
    );
}

function methodList(v: string): RoseMethod[] {
  return listOf("--methods", "method", v, METHOD_NAMES, false);
}

function baselineList(v: string): BaselineModelType[] {
  return listOf("--baselines", "baseline", v, BASELINE_MODEL_TYPES, true);
}

/** A comma-separated list of known names (with allowNone, "none" is the empty list). */
function listOf<T extends string>(flag: string, noun: string, v: string, known: readonly T[], allowNone: boolean): T[] {
  const list = v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (allowNone && list.length === 1 && list[0] === "none") return [];
  const bad = list.filter((m) => !(known as readonly string[]).includes(m));
  if (bad.length || list.length === 0) {
    throw new ConfigError(
      `${flag}: unknown ${noun}(s) ${bad.join(", ") || "(none given)"}; expected a comma-separated list of ${known.join(", ")}${allowNone ? ", or none" : ""}`,
    );
  }
  return list as T[];
}
