// `rose pretrain`: flags -> pretrain (app/pretrain.ts).
import type { Command } from "commander";
import { pretrain, PRETRAIN_DEFAULTS as D, type PretrainOptions } from "../app/pretrain.ts";
import type { RoseTrainOptions } from "../optim/rose.ts";
import { type ScheduleName, SCHEDULES } from "../optim/schedule.ts";
import { flagNames } from "../train/flag-spec.ts";
import { roseFlags } from "../train/flags.ts";
import { addFlags, choice, int, num, pick, withFlags } from "./flags.ts";
import { onInterrupt, runSavedMessage } from "./interrupt.ts";

export function registerPretrain(program: Command): void {
  const cmd = program.command("pretrain");
  cmd
    .description("pre-train a BERT masked language model on your own corpus (plain text, one document or paragraph per line)")
    .requiredOption("--corpus <files...>", "plain-text corpus files")
    .requiredOption("--output-dir <dir>", "where the BertForMaskedLM directory, checkpoints and metrics go")
    .option("--config <preset>", "architecture: tiny | mini | small | base", D.config)
    .option("--config-file <file>", "a Hugging Face config.json for the architecture (overrides --config)")
    .option("--init <dir>", "continue pre-training this model (domain-adaptive pre-training); its vocabulary is kept")
    .option("--vocab-size <n>", "WordPiece vocabulary size when training from scratch", int, D.vocabSize)
    .option("--max-seq-length <n>", "packed sequence length", int, D.maxSeqLength)
    .option("--max-steps <n>", "optimizer steps", int, D.maxSteps)
    .option("--batch-size <n>", "sequences per step", int, D.batchSize)
    .option("--learning-rate <lr>", "peak learning rate", num, D.learningRate)
    .option("--warmup-ratio <r>", "linear warm-up fraction", num, D.warmupRatio)
    .option("--lr-scheduler-type <s>", "learning-rate decay after the warm-up: linear | cosine", choice(SCHEDULES), D.lrSchedule)
    .option("--mlm-probability <p>", "share of tokens chosen for prediction (held-out accuracy always uses 0.15)", num, D.mlmProbability)
    .option("--dropout <p>", "hidden and attention dropout during pre-training (default: the config's; the saved config keeps it)", num)
    .option("--weight-decay <w>", "decoupled weight decay", num, D.weightDecay)
    .option("--adam-beta2 <b>", "AdamW beta2", num, D.adamBeta2)
    .option("--max-grad-norm <n>", "gradient clipping norm", num, D.maxGradNorm);
  const rose = roseFlags(D.rose);
  addFlags(cmd, rose)
    .option("--heldout <files...>", "held-out text for masked-token accuracy")
    .option("--eval-steps <n>", "evaluate on --heldout every N steps (0: at the end only)", int, D.evalSteps)
    .option("--seed <n>", "seed", int, D.seed)
    .option("--logging-steps <n>", "metrics.jsonl record every N steps", int, D.loggingSteps)
    .option("--save-steps <n>", "checkpoint every N steps", int, D.saveSteps)
    .option("--resume", "continue from the last checkpoint in --output-dir")
    .option("--overwrite-output-dir", "clear a non-empty --output-dir first (otherwise it is refused)")
    .option("--threads <n>", "compute threads", int)
    .option("--quiet", "no progress output")
    .action(
      withFlags(cmd, { lrSchedule: "--lr-scheduler-type", corpus: "--corpus", ...flagNames(rose) }, async (f: PretrainFlags) => {
        onInterrupt(() => runSavedMessage(f.outputDir));
        const r = await pretrain(pretrainOptions(f));
        process.stdout.write(
          `${JSON.stringify({ output_dir: f.outputDir, steps: r.steps, loss: +r.loss.toFixed(4), heldout_masked_accuracy: r.heldoutAccuracy, corpus_tokens: r.corpusTokens, seconds: +r.seconds.toFixed(1), tokens_per_s: +r.tokensPerSecond.toFixed(1) })}\n`,
        );
        // On stderr: stdout stays one JSON line for scripts.
        if (!f.quiet) process.stderr.write(`see the run: rose report ${f.outputDir} --out ${f.outputDir}/report.html\n`);
      }),
    );
}

/** Flags whose attribute names are the library's option names: a renamed option fails to compile here. */
const SAME_NAMED = [
  "corpus",
  "outputDir",
  "config",
  "configFile",
  "init",
  "vocabSize",
  "maxSeqLength",
  "maxSteps",
  "batchSize",
  "learningRate",
  "warmupRatio",
  "mlmProbability",
  "weightDecay",
  "adamBeta2",
  "maxGradNorm",
  "evalSteps",
  "seed",
  "loggingSteps",
  "saveSteps",
  "threads",
] as const satisfies readonly (keyof PretrainOptions)[];

/** The flags as commander parses them. */
export type PretrainFlags = Pick<PretrainOptions, (typeof SAME_NAMED)[number]> &
  Pick<RoseTrainOptions, "method" | "upper" | "lower" | "gamma" | "klDropout"> & {
    lrSchedulerType: ScheduleName;
    dropout?: number;
    heldout?: string[];
    resume?: boolean;
    overwriteOutputDir?: boolean;
    quiet?: boolean;
  };

/** Flags -> library options: the same-named ones, then those the CLI spells its own way. */
export function pretrainOptions(f: PretrainFlags): PretrainOptions {
  return {
    ...pick(f, SAME_NAMED),
    rose: { ...D.rose, method: f.method, upper: f.upper, lower: f.lower, gamma: f.gamma, klDropout: f.klDropout },
    lrSchedule: f.lrSchedulerType,
    dropout: f.dropout ?? null,
    heldout: f.heldout ?? [],
    resume: Boolean(f.resume),
    overwriteOutputDir: Boolean(f.overwriteOutputDir),
    quiet: Boolean(f.quiet),
  };
}
