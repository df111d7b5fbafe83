// `rose train`: flags (described in train/flags.ts) -> fineTune (app/train.ts).
import type { Command } from "commander";
import { fineTune } from "../app/train.ts";
import { flagNames } from "../train/flag-spec.ts";
import { fineTuneOptionsFrom, TRAIN_FLAGS } from "../train/flags.ts";
import { addFlags, flagValues, withFlags } from "./flags.ts";
import { onInterrupt, runSavedMessage } from "./interrupt.ts";

export function registerTrain(program: Command): void {
  const cmd = program.command("train").description("fine-tune a pre-trained encoder on a classification task (vanilla AdamW or ROSE)");
  addFlags(cmd, TRAIN_FLAGS).action(
    withFlags(cmd, flagNames(TRAIN_FLAGS), async () => {
      const o = fineTuneOptionsFrom(flagValues(cmd, TRAIN_FLAGS));
      onInterrupt(() => runSavedMessage(o.outputDir!));
      const r = await fineTune(o);
      const last = r.evalHistory.at(-1);
      process.stdout.write(
        `${JSON.stringify({ output_dir: r.outputDir, global_step: r.globalStep, train_loss: +r.trainLoss.toFixed(6), best_metric: r.bestMetric, train_samples_per_second: +r.samplesPerSecond.toFixed(2), ...(last ? { eval: last } : {}) })}\n`,
      );
      // On stderr: stdout stays one JSON line for scripts.
      if (!o.quiet) process.stderr.write(`see the run: rose report ${r.outputDir} --out ${r.outputDir}/report.html\n`);
    }),
  );
}
