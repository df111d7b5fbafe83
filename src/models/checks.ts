// Loud warnings for models that would give meaningless numbers without a word: a classifier head that is
// not in the checkpoint (random predictions), a task whose labels are not the ones the model was trained
// on, and inputs longer than the model's position embeddings.
import type { EncoderConfig } from "../io/config.ts";
import { maxInputLength } from "../io/config.ts";
import { isHeadParam, type PretrainedModel } from "./pretrained.ts";

/** The classifier-head weights that were newly initialised (missing or resized) when the model was loaded. */
export function newHeadParams(model: PretrainedModel): string[] {
  const { newParams, resizedParams } = model.report;
  return [...newParams, ...resizedParams].filter(isHeadParam);
}

/** A warning when `model` (loaded from `dir`) has a newly initialised classifier head, else null. */
export function untrainedHeadWarning(model: PretrainedModel, dir: string): string | null {
  const fresh = newHeadParams(model);
  if (fresh.length === 0) return null;
  return (
    `the classifier head of ${dir} is newly initialised (${fresh.join(", ")} not in the checkpoint): its predictions are random, ` +
    `so these numbers say nothing about the model. Fine-tune it first (rose train --model ${dir} ...)`
  );
}

const GENERIC = /^LABEL_\d+$/;

/**
 * A warning when the task's label names are not the model's id2label (e.g. an SST-2 model scored on RTE),
 * else null. Generic names (LABEL_0, ...) say nothing, so they never mismatch.
 */
export function labelMismatchWarning(task: string, taskLabels: readonly string[] | null, id2label: readonly string[]): string | null {
  if (!taskLabels || id2label.every((l) => GENERIC.test(l))) return null;
  const norm = (xs: readonly string[]) => xs.map((x) => x.toLowerCase()).join("\u0000");
  if (norm(taskLabels) === norm(id2label)) return null;
  return (
    `task ${task} has the labels ${taskLabels.join(", ")} but the model was trained for ${id2label.join(", ")}: ` +
    `class ids are compared as if they meant the same thing, so the score is probably meaningless (check --task and --model)`
  );
}

/**
 * A warning when an explicitly requested length exceeds what the model's position embeddings allow, else null.
 * The default length (undefined here) is capped to the model's limit without a word: the user asked for nothing.
 */
export function seqLengthWarning(requested: number | undefined, cfg: EncoderConfig): string | null {
  const limit = maxInputLength(cfg, Infinity);
  if (requested === undefined || requested <= limit) return null;
  return `--max-seq-length ${requested} is more than the model's ${limit} positions (max_position_embeddings): inputs are truncated to ${limit} tokens`;
}
