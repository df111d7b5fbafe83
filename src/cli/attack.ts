// `rose attack` (one recipe, per-example output) and `rose robustness` (several recipes, one table).
import type { Command } from "commander";
import { formatResult, formatSummaryTable, RECIPE_NAMES } from "../robust/index.ts";
import { DEFAULT_NUM_EXAMPLES, type AttackSetupOptions, type AttackStart } from "../robust/run.ts";
import type { AttackResult } from "../robust/types.ts";
import { attack as attackCommand, attackRecord } from "../app/attack.ts";
import { formatRobustnessTable, robustness, robustnessRecord } from "../app/robustness.ts";
import { prepareOutputFile } from "../node/outputs.ts";
import { robustnessText } from "../node/run-dir.ts";
import { createProgress } from "../node/progress.ts";
import { onInterrupt } from "./interrupt.ts";
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

/** The flags both commands share, as commander parses them. */
interface Flags extends ModelFlags, DataFlags {
  task: string;
  data: string;
  numExamples: number;
  shuffle?: boolean;
  seed: number;
  queryBudget?: number;
  neighbors?: string;
  mlm?: string;
  similarity: boolean;
  attackFirst?: boolean;
  batchSize: number;
  maxSeqLength?: number;
  truncation?: AttackSetupOptions["truncation"];
  threads?: number;
  allowUntrainedHead?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** Options both commands share. */
function attackOptions(cmd: Command): Command {
  truncationOption(modelOptions(cmd));
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
    .option("--max-seq-length <n>", "truncate inputs to this many tokens (default 128, or the model's limit if smaller)", int)
    .option("--threads <n>", "compute threads", int)
    .option("--allow-untrained-head", "attack a model whose classifier head is newly initialised (random predictions)")
    .option("--quiet", "no progress output")
    .option("--json", "print one JSON line");
}

/** Flags -> library options, field by field: a renamed option fails to compile here. */
function setupOptions(f: Flags): AttackSetupOptions {
  return {
    model: f.model,
    hub: hubOptions(f),
    ...dataFlags(f),
    task: f.task,
    data: f.data,
    numExamples: f.numExamples,
    shuffle: Boolean(f.shuffle),
    seed: f.seed,
    queryBudget: f.queryBudget,
    neighbors: f.neighbors,
    mlm: f.mlm,
    similarity: f.similarity !== false,
    attackFirst: Boolean(f.attackFirst),
    batchSize: f.batchSize,
    maxSeqLength: f.maxSeqLength,
    truncation: f.truncation,
    threads: f.threads,
    allowUntrainedHead: Boolean(f.allowUntrainedHead),
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

type Progress = ReturnType<typeof createProgress>;
type AttackFlags = Flags & { recipe: string; output?: string };
type RobustnessFlags = Flags & { recipes: string; output?: string };

export function registerAttack(program: Command): void {
  const attack = program.command("attack").description(`attack a classifier with a TextAttack recipe (${RECIPE_NAMES.join(", ")})`);
  attackOptions(attack)
    .requiredOption("--recipe <name>", `attack recipe: ${RECIPE_NAMES.join(", ")}`)
    .option("--output <file>", "write per-example results (JSON lines)")
    .action(withFlags(attack, {}, runAttack));

  const rob = program.command("robustness").description("accuracy under several attack recipes on the same examples, as one table");
  attackOptions(rob)
    .requiredOption("--recipes <list>", `comma-separated recipes (${RECIPE_NAMES.join(", ")})`)
    .option("--output <file>", "also write the table as JSON (save it as RUN_DIR/robustness.json for rose report)")
    .action(withFlags(rob, {}, runRobustness));
}

async function runAttack(f: AttackFlags): Promise<void> {
  if (f.output) prepareOutputFile(f.output, "--output");
  onInterrupt(
    () => `Nothing was saved${f.output ? ` (--output ${f.output} is written when the attack ends)` : ""}; an attack run cannot be resumed.`,
  );
  const view = new AttackView(f);
  const r = await attackCommand({
    ...setupOptions(f),
    recipe: f.recipe,
    output: f.output,
    onStart: (info) => view.start(info),
    onProgress: (done, total, res) => view.example(done, total, res),
  });
  view.stop();
  if (f.json) process.stdout.write(`${JSON.stringify(attackRecord(r))}\n`);
  else process.stdout.write(`\n${formatSummaryTable(r.summary, r.stats)}\n`);
}

/** What `rose attack` shows while it runs: the description, each example's result, a progress bar. */
class AttackView {
  private readonly counts = { succeeded: 0, failed: 0, skipped: 0 };
  private labels: readonly string[] = [];
  private progress: Progress | null = null;

  constructor(private readonly f: AttackFlags) {}

  start(info: AttackStart): void {
    this.labels = info.labelNames;
    if (!this.f.json) process.stdout.write(`${info.description}\n`);
    this.progress = createProgress(`attack ${info.recipe}`, info.total, { quiet: Boolean(this.f.quiet) });
  }

  example(done: number, total: number, res: AttackResult): void {
    this.counts[res.status]++;
    if (!this.f.json) {
      const text = `\n--- ${done}/${total} ---\n${formatResult(res, this.labels)}`;
      // On a terminal the bar's log() prints above the bar; piped, the lines go to stdout alone.
      if (process.stdout.isTTY && process.stderr.isTTY && !this.f.quiet && this.progress) this.progress.log(text);
      else process.stdout.write(`${text}\n`);
    }
    this.progress?.update(done, this.counts);
  }

  stop(): void {
    this.progress?.stop();
  }
}

async function runRobustness(f: RobustnessFlags): Promise<void> {
  onInterrupt(() => "Nothing was saved; a robustness run cannot be resumed.");
  if (f.output) prepareOutputFile(f.output, "--output");
  const recipes = f.recipes
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  let progress: Progress | null = null;
  const r = await robustness({
    ...setupOptions(f),
    recipes,
    output: f.output,
    onStart: (info) => {
      progress?.stop();
      progress = createProgress(`attack ${info.recipe}`, info.total, { quiet: Boolean(f.quiet) });
    },
    onProgress: (_recipe, done) => (progress as Progress | null)?.update(done),
  });
  (progress as Progress | null)?.stop();
  if (f.json) process.stdout.write(robustnessText(robustnessRecord(r)));
  else process.stdout.write(`task ${r.task}\n${formatRobustnessTable(r.rows)}\n`);
}
