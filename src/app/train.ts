// `rose train`: fine-tuning on data files (train/fine-tune.ts, where a sweep's trial processes reach it too).
export { type FineTuneOptions, type FineTuneResult, fineTune } from "../train/fine-tune.ts";
