// Objectives the trainer does not log, measured by the trial process at each rung on the weights the rung
// ended with: validation loss, and accuracy under an attack recipe on the first N validation examples
// (ROSE is tuned for robustness). Written to sweep_evals.jsonl, keyed by step, merged into the rung's eval.
import { customTask } from "../data/tasks.ts";
import { FormatError } from "../errors.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { crossEntropyOfLogits, predictLogits } from "../infer/predictor.ts";
import { readData, taskByName } from "../data/task-data.ts";
import { dirFiles } from "../node/files.ts";
import { type ExtraEvalRecord, loadModelWeights, RUN_FILES, RunDir } from "../node/run-dir.ts";
import { attackModel } from "../robust/run.ts";

export interface ExtraEvals {
  /** Mean validation cross-entropy (squared error for regression), as `loss`. */
  loss?: boolean;
  /** Accuracy (0-1) under this recipe on the first `examples` validation examples, as `robust:RECIPE`. */
  robust?: { recipe: string; examples: number };
}

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

export async function measureExtras(dir: string, f: TrainFlags, extra: ExtraEvals, threads?: number): Promise<void> {
  const run = new RunDir(dir);
  const at = run.readEvals().at(-1);
  if (!at || !f.validationFile) return;
  if (run.readExtraEvals().some((r) => r.step === at.step)) return;
  // The weights the rung ended with: the checkpoint taken there, on the architecture and labels of best/.
  const pointer = run.lastCheckpoint();
  if (pointer?.step !== at.step)
    throw new FormatError(
      run.path("lastCheckpoint"),
      pointer
        ? `checkpoint at step ${pointer.step}, but the last evaluation was at step ${at.step}`
        : `missing, but ${RUN_FILES.metrics} has an evaluation at step ${at.step}`,
    );
  const model = await PretrainedModel.load(dirFiles(run.path("best")));
  loadModelWeights(model, run.checkpointPath(pointer.dir));
  let task = taskByName(f.task, model.cfg.problemType === "regression");
  if (task.name === "custom" && !task.isRegression) task = customTask({ labels: model.cfg.id2label });
  const rec: ExtraEvalRecord = { step: at.step, epoch: at.epoch as number };
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
      sum += task.isRegression ? (l[0]! - y) ** 2 : crossEntropyOfLogits(l, y);
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
  run.appendExtraEval(rec);
}

/** The extra records by step. */
export function readExtras(dir: string): Map<number, ExtraEvalRecord> {
  const m = new Map<number, ExtraEvalRecord>();
  for (const r of new RunDir(dir).readExtraEvals()) m.set(r.step, { ...m.get(r.step), ...r });
  return m;
}
