import type { Command } from "commander";
import { pretrain, PRETRAIN_DEFAULTS as D } from "../pretrain/pretrain.ts";
import { int, num } from "./flags.ts";

export function registerPretrain(program: Command): void {
  program
    .command("pretrain")
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
    .option("--weight-decay <w>", "decoupled weight decay", num, D.weightDecay)
    .option("--adam-beta2 <b>", "AdamW beta2", num, D.adamBeta2)
    .option("--max-grad-norm <n>", "gradient clipping norm", num, D.maxGradNorm)
    .option("--method <m>", "vanilla | rose-first | rose-second | rose-ensemble (ROSE during pre-training)", D.method)
    .option("--upper <pct>", "ROSE upper percentile", num, D.upper)
    .option("--lower <pct>", "ROSE lower percentile", num, D.lower)
    .option("--gamma <g>", "ROSE ensemble weight", num, D.gamma)
    .option("--kl-dropout <p>", "dropout of ROSE's two passes", num, D.klDropout)
    .option("--heldout <files...>", "held-out text for masked-token accuracy")
    .option("--eval-steps <n>", "evaluate on --heldout every N steps (0: at the end only)", int, D.evalSteps)
    .option("--seed <n>", "seed", int, D.seed)
    .option("--logging-steps <n>", "metrics.jsonl record every N steps", int, D.loggingSteps)
    .option("--save-steps <n>", "checkpoint every N steps", int, D.saveSteps)
    .option("--resume", "continue from the last checkpoint in --output-dir")
    .option("--threads <n>", "compute threads", int)
    .option("--quiet", "no progress output")
    .action(async (f: Record<string, unknown>) => {
      const r = await pretrain({ ...(f as object), corpus: f.corpus as string[], outputDir: f.outputDir as string, heldout: (f.heldout as string[] | undefined) ?? [], resume: Boolean(f.resume), quiet: Boolean(f.quiet), method: f.method as never });
      process.stdout.write(`${JSON.stringify({ output_dir: f.outputDir, steps: r.steps, loss: +r.loss.toFixed(4), heldout_masked_accuracy: r.heldoutAccuracy, corpus_tokens: r.corpusTokens, seconds: +r.seconds.toFixed(1), tokens_per_s: +r.tokensPerSecond.toFixed(1) })}\n`);
      if (!f.quiet) process.stderr.write(`see the run: rose report ${f.outputDir as string} --out ${f.outputDir as string}/report.html\n`);
    });
}
