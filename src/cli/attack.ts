// `rose attack` (one recipe, per-example output) and `rose robustness` (several recipes, one table).
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { formatResult, formatSummaryTable, RECIPE_NAMES } from "../robust/index.ts";
import {
  attackModel,
  DEFAULT_NUM_EXAMPLES,
  formatRobustnessTable,
  resultRecord,
  robustness,
  type AttackSetupOptions,
} from "../robust/run.ts";
import { createProgress } from "../train/progress.ts";
import { dataOptions, hubOptions, int, type ModelFlags, modelOptions } from "./flags.ts";

type Flags = Record<string, unknown> & ModelFlags;

/** Options both commands share. */
function attackOptions(cmd: Command): Command {
  modelOptions(cmd);
  return dataOptions(cmd)
    .option("--task <name>", "GLUE task or custom (labels from the model)", "custom")
    .requiredOption("--data <file>", "labelled examples to attack (.tsv, .csv, .jsonl, .json, .parquet)")
    .option("--num-examples <n>", "attack this many examples", int, DEFAULT_NUM_EXAMPLES)
    .option("--shuffle", "attack a seeded random sample instead of the first examples in file order")
    .option("--seed <n>", "seed of the sample and of random character edits", int, 0)
    .option("--query-budget <n>", "most model queries per example", int)
    .option("--neighbors <file>", "counter-fitted embedding neighbours (JSON) for textfooler / textbugger")
    .option("--mlm <dir-or-id>", "masked LM for bert-attack / bae (default: the shipped model)")
    .option("--no-similarity", "skip the sentence-similarity constraints (they use the classifier's embeddings)")
    .option("--attack-first", "for pair tasks, attack the first text instead of the second")
    .option("--batch-size <n>", "model batch size", int, 64)
    .option("--max-seq-length <n>", "truncate inputs to this many tokens", int, 128)
    .option("--threads <n>", "compute threads", int)
    .option("--quiet", "no progress output")
    .option("--json", "print one JSON line");
}

function setupOptions(f: Flags): AttackSetupOptions {
  return {
    model: f.model,
    hub: hubOptions(f),
    task: f.task as string,
    data: f.data as string,
    textColumn: f.textColumn as string | undefined,
    textPairColumn: f.textPairColumn as string | undefined,
    labelColumn: f.labelColumn as string | undefined,
    skipBadRows: Boolean(f.skipBadRows),
    numExamples: f.numExamples as number,
    shuffle: Boolean(f.shuffle),
    seed: f.seed as number,
    queryBudget: f.queryBudget as number | undefined,
    neighbors: f.neighbors as string | undefined,
    mlm: f.mlm as string | undefined,
    similarity: f.similarity !== false,
    attackFirst: Boolean(f.attackFirst),
    batchSize: f.batchSize as number,
    maxSeqLength: f.maxSeqLength as number,
    threads: f.threads as number | undefined,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

type Progress = ReturnType<typeof createProgress>;

export function registerAttack(program: Command): void {
  const attack = program.command("attack").description(`attack a classifier with a TextAttack recipe (${RECIPE_NAMES.join(", ")})`);
  attackOptions(attack)
    .requiredOption("--recipe <name>", `attack recipe: ${RECIPE_NAMES.join(", ")}`)
    .option("--output <file>", "write per-example results (JSON lines)")
    .action(async (f: Flags) => {
      const counts = { succeeded: 0, failed: 0, skipped: 0 };
      let labels: readonly string[] = [];
      let progress: Progress | null = null;
      const r = await attackModel({
        ...setupOptions(f),
        recipe: f.recipe as string,
        onStart: (info) => {
          labels = info.labelNames;
          if (!f.json) process.stdout.write(`${info.description}\n`);
          progress = createProgress(`attack ${info.recipe}`, info.total, { quiet: Boolean(f.quiet) });
        },
        onProgress: (done, total, res) => {
          counts[res.status]++;
          if (!f.json) {
            const text = `\n--- ${done}/${total} ---\n${formatResult(res, labels)}`;
            // On a terminal the bar's log() prints above the bar; piped, the lines go to stdout alone.
            if (process.stdout.isTTY && process.stderr.isTTY && !f.quiet && progress) progress.log(text);
            else process.stdout.write(`${text}\n`);
          }
          progress?.update(done, counts);
        },
      });
      (progress as Progress | null)?.stop();
      if (f.output) {
        writeFileSync(f.output as string, r.results.map((x, i) => JSON.stringify(resultRecord(x, i, r.labelNames))).join("\n") + "\n");
      }
      const s = r.summary;
      if (f.json) {
        process.stdout.write(
          `${JSON.stringify({
            recipe: r.recipe,
            task: r.task,
            n: s.n,
            succeeded: s.succeeded,
            failed: s.failed,
            skipped: s.skipped,
            original_accuracy: round(s.original_accuracy),
            accuracy_under_attack: round(s.accuracy_under_attack),
            attack_success_rate: round(s.attack_success_rate),
            avg_perturbed_word_pct: round(s.avg_perturbed_word_pct),
            avg_num_words: round(s.avg_num_words),
            avg_queries: round(s.avg_queries),
            model_calls: r.stats.modelCalls,
            model_inputs: r.stats.modelInputs,
            seconds: round(r.stats.totalMs / 1000, 3),
          })}\n`,
        );
      } else {
        process.stdout.write(`\n${formatSummaryTable(s, r.stats)}\n`);
      }
    });

  const rob = program.command("robustness").description("accuracy under several attack recipes on the same examples, as one table");
  attackOptions(rob)
    .requiredOption("--recipes <list>", `comma-separated recipes (${RECIPE_NAMES.join(", ")})`)
    .option("--output <file>", "also write the table as JSON (save it as RUN_DIR/robustness.json for rose report)")
    .action(async (f: Flags) => {
      const recipes = String(f.recipes).split(",").map((x) => x.trim()).filter((x) => x.length > 0);
      let progress: Progress | null = null;
      const r = await robustness({
        ...setupOptions(f),
        recipes,
        onStart: (info) => {
          progress?.stop();
          progress = createProgress(`attack ${info.recipe}`, info.total, { quiet: Boolean(f.quiet) });
        },
        onProgress: (_recipe, done) => (progress as Progress | null)?.update(done),
      });
      (progress as Progress | null)?.stop();
      if (f.json || f.output) {
        const rows = r.rows.map((x) => ({
          recipe: x.recipe,
          n: x.n,
          succeeded: x.succeeded,
          failed: x.failed,
          skipped: x.skipped,
          original_accuracy: round(x.original_accuracy),
          accuracy_under_attack: round(x.accuracy_under_attack),
          attack_success_rate: round(x.attack_success_rate),
          avg_perturbed_word_pct: round(x.avg_perturbed_word_pct),
          avg_queries: round(x.avg_queries),
          seconds: round(x.seconds, 3),
        }));
        const record = `${JSON.stringify({ task: r.task, rows })}\n`;
        if (f.output) writeFileSync(f.output as string, record);
        if (f.json) process.stdout.write(record);
      }
      if (!f.json) {
        process.stdout.write(`task ${r.task}\n${formatRobustnessTable(r.rows)}\n`);
      }
    });
}
