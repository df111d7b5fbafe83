import type { Command } from "commander";
import { predictText, type PredictTextOptions } from "../app/predict.ts";
import { hubOptions, int, type ModelFlags, modelOptions, truncationOption } from "./flags.ts";

export function registerPredict(program: Command): void {
  const cmd = program
    .command("predict")
    .description("classify one text (or a text pair) and print the label and per-label probabilities")
    .argument("<text>", "the text to classify")
    .argument("[pair]", "second text of a sentence-pair task (RTE, QNLI, MRPC, ...)");
  truncationOption(modelOptions(cmd))
    .option("--max-seq-length <n>", "truncate inputs to this many tokens (default 128, or the model's limit if smaller)", int)
    .option("--threads <n>", "compute threads", int)
    .option("--json", "print one JSON line")
    .action(
      async (
        text: string,
        pair: string | undefined,
        f: ModelFlags & { maxSeqLength: number; truncation?: PredictTextOptions["truncation"]; threads?: number; json?: boolean },
      ) => {
        const r = await predictText({
          model: f.model,
          hub: hubOptions(f),
          text,
          pair,
          maxSeqLength: f.maxSeqLength,
          truncation: f.truncation,
          threads: f.threads,
        });
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        if (r.notice) process.stderr.write(`${r.notice}\n`);
        if (f.json) {
          process.stdout.write(
            `${JSON.stringify(r.kind === "score" ? { score: r.score } : { label: r.label, label_id: r.labelId, probabilities: Object.fromEntries(r.probabilities) })}\n`,
          );
        } else if (r.kind === "score") {
          process.stdout.write(`score ${r.score.toFixed(6)}\n`);
        } else {
          const width = Math.max(...r.probabilities.map(([l]) => l.length));
          process.stdout.write(`${r.label}\n`);
          for (const [l, p] of r.probabilities) process.stdout.write(`  ${l.padEnd(width)}  ${p.toFixed(6)}\n`);
        }
      },
    );
}
