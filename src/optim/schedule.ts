// Learning-rate schedule: Hugging Face `get_linear_schedule_with_warmup`, a linear ramp from 0 to baseLr over
// warmupSteps updates, then a linear decay to 0 at totalSteps.
import { ConfigError } from "../errors.ts";

export interface LinearScheduleOptions {
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/**
 * Returns lr(step), where `step` counts completed optimizer updates: lr(0) is the rate of the first update,
 * as LambdaLR gives it before the first `scheduler.step()`. The decay branch is written
 * `baseLr * (1 - (step - warmup) / (total - warmup))`: mathematically HF's `(total - step) / (total - warmup)`,
 * and the form whose float rounding reproduces the golden recordings bit for bit.
 */
export function linearSchedule(opts: LinearScheduleOptions): (step: number) => number {
  const { baseLr, warmupSteps, totalSteps } = opts;
  if (!(Number.isFinite(baseLr) && baseLr >= 0)) throw new ConfigError(`learning rate must be a finite number >= 0, got ${baseLr}`);
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0))
    throw new ConfigError(`warm-up steps must be an integer >= 0, got ${warmupSteps}`);
  if (!(Number.isInteger(totalSteps) && totalSteps >= 0)) throw new ConfigError(`total steps must be an integer >= 0, got ${totalSteps}`);
  const decaySpan = Math.max(1, totalSteps - warmupSteps);
  return (step: number): number => {
    if (step < warmupSteps) return (baseLr * step) / Math.max(1, warmupSteps);
    return baseLr * Math.max(0, 1 - (step - warmupSteps) / decaySpan);
  };
}

/**
 * Linear warm-up to baseLr, then a half-cosine decay to 0 at totalSteps (HF `get_cosine_schedule_with_warmup`
 * with half a cycle).
 */
export function cosineSchedule(opts: LinearScheduleOptions): (step: number) => number {
  const linear = linearSchedule(opts); // validates the options; also the warm-up ramp
  const { baseLr, warmupSteps, totalSteps } = opts;
  const decaySpan = Math.max(1, totalSteps - warmupSteps);
  return (step: number): number => {
    if (step < warmupSteps) return linear(step);
    const progress = Math.min(1, (step - warmupSteps) / decaySpan);
    return baseLr * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

export type ScheduleName = "linear" | "cosine";
export const SCHEDULES: readonly ScheduleName[] = ["linear", "cosine"];

/** The learning-rate schedule by name. */
export function scheduleByName(name: string, opts: LinearScheduleOptions): (step: number) => number {
  if (name === "linear") return linearSchedule(opts);
  if (name === "cosine") return cosineSchedule(opts);
  throw new ConfigError(`unknown learning-rate schedule ${JSON.stringify(name)} (${SCHEDULES.join(", ")})`);
}

/** Warm-up steps for a warm-up ratio, as HF TrainingArguments does: ceil(totalSteps * ratio). */
export function warmupStepsFromRatio(ratio: number, totalSteps: number): number {
  if (!(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1)) throw new ConfigError(`warm-up ratio must be in [0, 1], got ${ratio}`);
  if (!(Number.isInteger(totalSteps) && totalSteps >= 0)) throw new ConfigError(`total steps must be an integer >= 0, got ${totalSteps}`);
  return Math.ceil(totalSteps * ratio);
}

/** Total optimizer updates for a run: ceil(examples / batch) per epoch, times epochs (HF with drop_last off). */
export function totalTrainingSteps(numExamples: number, batchSize: number, epochs: number, gradAccumulation = 1): number {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new ConfigError(`batch size must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(gradAccumulation) && gradAccumulation > 0))
    throw new ConfigError(`gradient accumulation must be a positive integer, got ${gradAccumulation}`);
  if (!(Number.isInteger(numExamples) && numExamples >= 0))
    throw new ConfigError(`example count must be an integer >= 0, got ${numExamples}`);
  if (!(Number.isFinite(epochs) && epochs >= 0)) throw new ConfigError(`epochs must be >= 0, got ${epochs}`);
  const batches = Math.ceil(numExamples / batchSize);
  const perEpoch = Math.max(1, Math.floor(batches / gradAccumulation));
  return Math.ceil(perEpoch * epochs);
}
