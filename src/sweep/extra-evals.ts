// Objectives the trainer does not log, measured by the trial process at each rung on the weights the rung
// ended with: validation loss, and accuracy under an attack recipe on the first N validation examples
// (ROSE is tuned for robustness). Written to sweep_evals.jsonl, keyed by step, merged into the rung's eval.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { customTask } from "../data/tasks.ts";
import { FormatError } from "../errors.ts";
import { readSafetensors } from "../node/safetensors.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { attackModel } from "../app/attack.ts";
import { predictLogits } from "../infer/predictor.ts";
import { readData, taskByName } from "../data/task-data.ts";
import { dirFiles } from "../node/files.ts";

export interface ExtraEvals {
  /** Mean validation cross-entropy (squared error for regression), as `loss`. */
  loss?: boolean;
  /** Accuracy (0-1) under this recipe on the first `examples` validation examples, as `robust:RECIPE`. */
  robust?: { recipe: string; examples: number };
}

export const EXTRA_FILE = "sweep_evals.jsonl";

/** Parsed `rose train` flags the measurement needs. */
export interface TrainFlags {
  task?: string;
  validationFile?: string;
  maxEvalSamples?: number;
  perDeviceEvalBatchSize?: number;
  maxSeqLength?: number;
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  skipBadRows?: boolean;
}

function lastEval(dir: string): { step: number; epoch: number } | null {
  const file = join(dir, "metrics.jsonl");
  if (!existsSync(file)) return null;
  const evals = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.includes('"type":"eval"'))
    .map((l) => JSON.parse(l) as { step: number; epoch: number });
  return evals.at(-1) ?? null;
}

export async function measureExtras(dir: string, f: TrainFlags, extra: ExtraEvals, threads?: number): Promise<void> {
  const at = lastEval(dir);
  if (!at || !f.validationFile) return;
  const out = join(dir, EXTRA_FILE);
  if (
    existsSync(out) &&
    readFileSync(out, "utf8")
      .split("\n")
      .some((l) => l && (JSON.parse(l) as { step: number }).step === at.step)
  )
    return;
  // The weights the rung ended with: the checkpoint taken there, on the architecture and labels of best/.
  const pointer = JSON.parse(readFileSync(join(dir, "last_checkpoint.json"), "utf8")) as { dir: string; step: number };
  if (pointer.step !== at.step)
    throw new FormatError(
      join(dir, "last_checkpoint.json"),
      `checkpoint at step ${pointer.step}, but the last evaluation was at step ${at.step}`,
    );
  const model = await PretrainedModel.load(dirFiles(join(dir, "best")));
  for (const [n, t] of readSafetensors(join(dir, pointer.dir, "model.safetensors")).tensors) {
    if (model.params.has(n)) model.params.set(n, t.data as Float32Array);
  }
  let task = taskByName(f.task, model.cfg.problemType === "regression");
  if (task.name === "custom" && !task.isRegression) task = customTask({ labels: model.cfg.id2label });
  const rec: Record<string, number> = { step: at.step, epoch: at.epoch };
  if (extra.loss) {
    const { examples } = await readData(f.validationFile, task, f);
    const val = f.maxEvalSamples ? examples.slice(0, f.maxEvalSamples) : examples;
    const logits = await predictLogits(model, val, {
      batchSize: f.perDeviceEvalBatchSize ?? 64,
      maxLength: f.maxSeqLength ?? 128,
      threads,
    });
    let sum = 0;
    logits.forEach((l, i) => {
      const y = val[i]!.label!;
      if (task.isRegression) sum += (l[0]! - y) ** 2;
      else {
        const m = Math.max(...l);
        const lse = m + Math.log([...l].reduce((a, v) => a + Math.exp(v - m), 0));
        sum += lse - l[y]!;
      }
    });
    rec.loss = sum / Math.max(1, logits.length);
  }
  if (extra.robust) {
    const r = await attackModel({
      model,
      task: f.task,
      data: f.validationFile,
      recipe: extra.robust.recipe,
      numExamples: extra.robust.examples,
      textColumn: f.textColumn,
      textPairColumn: f.textPairColumn,
      labelColumn: f.labelColumn,
      skipBadRows: f.skipBadRows,
      maxSeqLength: f.maxSeqLength,
      threads,
    });
    rec[`robust:${extra.robust.recipe}`] = r.summary.accuracy_under_attack / 100;
  }
  appendFileSync(out, `${JSON.stringify(rec)}\n`);
}

/** The extra records by step. */
export function readExtras(dir: string): Map<number, Record<string, number>> {
  const file = join(dir, EXTRA_FILE);
  const m = new Map<number, Record<string, number>>();
  if (!existsSync(file)) return m;
  for (const l of readFileSync(file, "utf8").split("\n")) {
    if (!l.trim()) continue;
    const r = JSON.parse(l) as Record<string, number>;
    m.set(r.step!, { ...m.get(r.step!), ...r });
  }
  return m;
}
