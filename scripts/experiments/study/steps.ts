// The study as steps: per task the data files, the bag-of-words baseline, one tuning sweep per method, then
// per method and seed a final training run, its clean evaluation and one attack per recipe, and one
// landscape comparing vanilla with the ROSE variants. Every step is a `rose` command (or the in-process data
// step) writing into the output directory (what is committed) or the work directory (models, sweeps).
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BestConfig } from "../../../src/sweep/results.ts";
import { methodFlags, ROSE_VARIANTS, searchSpace, type StudyConfig, type StudyMethod, type StudyTask } from "./config.ts";
import { dataFiles, prepareData, taskLayout } from "./data.ts";
import { type Step, writeWhole } from "./runner.ts";

const ROSE_BIN = fileURLToPath(new URL("../../../bin/rose.js", import.meta.url));

export const runName = (m: StudyMethod, seed: number) => `${m}-seed${seed}`;

/** Where each step writes, per task: `out` is committed, `work` is not. */
export function taskPaths(c: Pick<StudyConfig, "outputDir" | "workDir">, task: StudyTask) {
  const out = join(c.outputDir, task),
    work = join(c.workDir, task);
  return {
    out,
    work,
    data: join(out, "data.json"),
    baseline: join(out, "baseline.json"),
    tuneDir: (m: StudyMethod) => join(work, "tune", m),
    tuneSpace: (m: StudyMethod) => join(out, "tune", `${m}.space.json`),
    tuneResult: (m: StudyMethod) => join(out, "tune", `${m}.json`),
    tuneTable: (m: StudyMethod) => join(out, "tune", `${m}.results.csv`),
    model: (m: StudyMethod, s: number) => join(work, "models", runName(m, s)),
    run: (m: StudyMethod, s: number) => join(out, "runs", runName(m, s)),
    attackLog: (m: StudyMethod, s: number, r: string) => join(work, "attacks", runName(m, s), `${r}.jsonl`),
    landscape: join(out, "landscape"),
    steps: join(out, "steps"),
    logs: join(work, "logs"),
  };
}

/** The recipe's own resources: counter-fitted neighbours, or the pre-trained model as the masked LM. */
function recipeFlags(recipe: string, c: StudyConfig): string[] {
  if (recipe === "textfooler" || recipe === "textbugger") return ["--neighbors", join(c.dataRoot, "attack/counterfitted_neighbors.json")];
  if (recipe === "bae" || recipe === "bert-attack") return ["--mlm", resolve(c.model)];
  return [];
}

/** The tuned flags of a method, from its sweep's best configuration. */
export function tunedFlags(file: string): string[] {
  const r = JSON.parse(readFileSync(file, "utf8")) as { best: BestConfig | null };
  if (!r.best) throw new Error(`${file}: the sweep found no configuration that finished`);
  return Object.entries(r.best.params).flatMap(([flag, v]) => (typeof v === "boolean" ? (v ? [flag] : []) : [flag, String(v)]));
}

/** Deletes the checkpoints of run directories (the final model stays): they are only needed to resume. */
function pruneCheckpoints(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (/^checkpoint-\d+$/.test(name) || name === "best") rmSync(join(dir, name), { recursive: true, force: true });
  }
  rmSync(join(dir, "last_checkpoint.json"), { force: true });
}

/** Per-example attack outcomes without the texts (they are in the dev file and the full log). */
function compactAttack(from: string, to: string): void {
  const rows = readFileSync(from, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      return {
        index: r.index,
        status: r.status,
        label: r.label,
        original_prediction: r.original_prediction,
        perturbed_prediction: r.perturbed_prediction,
        queries: r.queries,
        num_words: r.num_words,
        perturbed_word_pct: r.perturbed_word_pct,
        changes: r.changes,
      };
    });
  writeWhole(to, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

export function planSteps(c: StudyConfig, opts: { dryRun?: boolean } = {}): Step[] {
  const steps: (Step & { modelDir?: string })[] = [];
  const rose = (...args: string[]) => [process.execPath, ROSE_BIN, ...args];
  const model = resolve(c.model);
  const threads = ["--threads", String(c.threads)];
  for (const task of c.tasks) {
    const p = taskPaths(c, task);
    const files = dataFiles(c.workDir, task);
    const lay = taskLayout(task);
    const columns = ["--task", lay.roseTask, "--text-column", lay.textColumn, "--label-column", lay.labelColumn];
    const record = (id: string) => join(p.steps, `${id.replace(/\//g, "__")}.json`);
    const add = (s: Omit<Step, "task" | "record"> & { modelDir?: string }) => steps.push({ ...s, task, record: record(s.id) });
    const dataId = `${task}/data`;
    add({
      id: dataId,
      kind: "data",
      deps: [],
      // Cheap and deterministic: rerun whenever a file of the work directory is missing.
      isDone: () => existsSync(record(dataId)) && Object.values(files).every((f) => existsSync(f)),
      run: async () => {
        const info = await prepareData(task, c);
        writeWhole(p.data, `${JSON.stringify(info, null, 1)}\n`);
      },
    });
    add({
      id: `${task}/baseline`,
      kind: "baseline",
      deps: [dataId],
      stdout: p.baseline,
      command: () => rose("baseline", ...columns, "--train-file", files.train, "--validation-file", files.dev, "--json", "--quiet"),
    });

    const trainCommon = [
      "--model",
      model,
      ...columns,
      "--train-file",
      files.train,
      "--validation-file",
      files.validation,
      "--batch-size",
      String(c.batchSize),
      "--num-train-epochs",
      String(c.epochs),
      "--max-seq-length",
      String(c.maxSeqLength),
      "--warmup-ratio",
      "0.06",
      "--weight-decay",
      "0.01",
      "--adam-beta2",
      "0.98",
      "--kl-dropout",
      "0.1",
      "--save-steps",
      "0",
      "--logging-steps",
      "50",
    ];
    for (const m of c.methods) {
      const tuneId = `${task}/tune/${m}`;
      add({
        id: tuneId,
        kind: "tune",
        deps: [dataId],
        stdout: p.tuneResult(m),
        command: () => {
          if (!opts.dryRun) writeWhole(p.tuneSpace(m), `${JSON.stringify(searchSpace(m, c), null, 1)}\n`);
          return rose(
            "sweep",
            "--output-dir",
            p.tuneDir(m),
            "--space",
            p.tuneSpace(m),
            "--strategy",
            c.strategy,
            "--trials",
            String(c.trials),
            ...(c.strategy === "halving" ? ["--eta", String(c.eta)] : []),
            "--seed",
            String(c.sweepSeed),
            "--workers",
            "1",
            ...threads,
            "--plain",
            "--",
            ...trainCommon,
            ...methodFlags(m),
            "--seed",
            String(c.tuneSeed),
          );
        },
        finish: () => {
          writeWhole(p.tuneTable(m), readFileSync(join(p.tuneDir(m), "results.csv"), "utf8"));
          for (const t of readdirSync(join(p.tuneDir(m), "trials"))) pruneCheckpoints(join(p.tuneDir(m), "trials", t));
        },
      });
      for (const seed of c.seeds) {
        const dir = p.model(m, seed),
          run = p.run(m, seed);
        const trainId = `${task}/train/${runName(m, seed)}`;
        add({
          id: trainId,
          kind: "train",
          deps: [tuneId],
          stdout: join(run, "train.json"),
          modelDir: dir,
          command: () => {
            const tuned =
              opts.dryRun && !existsSync(p.tuneResult(m)) ? [`<tuned flags from ${p.tuneResult(m)}>`] : tunedFlags(p.tuneResult(m));
            // An interrupted run continues from its last checkpoint; anything else starts over.
            const again = existsSync(join(dir, "last_checkpoint.json")) ? ["--resume"] : ["--overwrite-output-dir"];
            return rose(
              "train",
              ...trainCommon,
              ...methodFlags(m),
              ...tuned,
              "--seed",
              String(seed),
              "--output-dir",
              dir,
              ...again,
              ...threads,
              "--quiet",
            );
          },
          finish: () => {
            writeWhole(join(run, "trainer_state.json"), readFileSync(join(dir, "trainer_state.json"), "utf8"));
            pruneCheckpoints(dir);
          },
        });
        add({
          id: `${task}/eval/${runName(m, seed)}`,
          kind: "eval",
          deps: [trainId],
          stdout: join(run, "eval.json"),
          command: () =>
            rose(
              "eval",
              "--model",
              dir,
              ...columns,
              "--data",
              files.dev,
              "--max-seq-length",
              String(c.maxSeqLength),
              ...threads,
              "--json",
              "--predictions",
              join(run, "predictions.jsonl"),
            ),
        });
        for (const recipe of c.recipes) {
          const log = p.attackLog(m, seed, recipe);
          add({
            id: `${task}/attack/${runName(m, seed)}/${recipe}`,
            kind: "attack",
            deps: [trainId],
            stdout: join(run, `attack-${recipe}.json`),
            command: () =>
              rose(
                "attack",
                "--model",
                dir,
                ...columns,
                "--data",
                files.dev,
                "--recipe",
                recipe,
                "--num-examples",
                String(c.attackExamples),
                "--seed",
                String(c.attackSeed),
                ...(c.queryBudget !== null ? ["--query-budget", String(c.queryBudget)] : []),
                ...recipeFlags(recipe, c),
                "--max-seq-length",
                String(c.maxSeqLength),
                ...threads,
                "--json",
                "--quiet",
                "--output",
                log,
              ),
            finish: () => compactAttack(log, join(run, `attack-${recipe}.jsonl`)),
          });
        }
      }
    }
    // Flatness: vanilla against each ROSE variant, on the same directions, for the first seed.
    const compared = c.methods.filter((m) => ROSE_VARIANTS.includes(m));
    if (c.methods.includes("vanilla") && compared.length > 0) {
      const seed = c.seeds[0]!;
      add({
        id: `${task}/landscape`,
        kind: "landscape",
        deps: ["vanilla", ...compared].map((m) => `${task}/train/${runName(m as StudyMethod, seed)}`),
        stdout: join(p.landscape, "summary.json"),
        command: () =>
          rose(
            "landscape",
            "--model",
            p.model("vanilla", seed),
            "--compare",
            ...compared.map((m) => p.model(m, seed)),
            ...columns,
            "--data",
            c.landscapeData === "train" ? files.train : files.dev,
            "--max-samples",
            String(c.landscapeExamples),
            "--dims",
            String(c.landscapeDims),
            "--points",
            String(c.landscapePoints),
            "--seed",
            "0",
            "--max-seq-length",
            String(c.maxSeqLength),
            "--output-dir",
            p.landscape,
            "--no-png",
            ...threads,
            "--quiet",
          ),
      });
    }
  }
  // The models live in the work directory, which does not travel with the committed outputs: on another
  // machine a finished training run counts as done only while its model is there or nothing still needs it
  // (then its evaluation, attacks and landscape records are all committed); otherwise it is trained again.
  for (const s of steps.filter((x) => x.kind === "train")) {
    const model = s.modelDir!;
    const users = steps.filter((x) => x.deps.includes(s.id));
    s.isDone = () => existsSync(s.record) && (existsSync(join(model, "model.safetensors")) || users.every((u) => existsSync(u.record)));
  }
  return steps.map(({ modelDir: _, ...s }) => s);
}
