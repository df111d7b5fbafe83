// rose: Robust Selective Fine-tuning (ROSE) for pre-trained transformer classifiers — the library API.
// Layers, bottom up: engine/ (graphs, typed ops, autodiff, onnxruntime), io/, models/, data/, optim/
// (ROSE's whole rule is optim/rose.ts; adamw.ts applies its masks), train/ (the one training loop,
// loop.ts), infer/ (the Predictor), pretrain/, robust/, export/, stats/; then app/, one module per command over
// the library; the CLI (cli/) maps its flags to those calls.

// The Node entry: registers onnxruntime-node before anything can compile a graph.
import "./node/runtime.ts";

export * from "./errors.ts";

// Compute engine: graphs, ops with gradients, autodiff, onnxruntime execution.
export { Graph, Tensor, ops, grad, Program, Rng, setRuntime, currentRuntime } from "./engine/index.ts";
export type { DType, Dim, Shape, OpDef, HostTensor, CompileOptions, RunOptions, Runtime, OrtBinding } from "./engine/index.ts";

// Hugging Face formats.
export { parseSafetensors, serializeSafetensors } from "./io/safetensors.ts";
export { loadModelConfig, saveModelConfig, parseModelConfig, type EncoderConfig } from "./io/config.ts";
export { checkpointTensors, saveCheckpoint } from "./io/checkpoint.ts";
export { Tokenizer, type EncodedBatch } from "./io/tokenizer.ts";
export { MemoryFiles, type ModelFiles, type FileSink } from "./io/files.ts";
// Node's side: model folders on disk, safetensors files, the Hugging Face Hub.
export { dirFiles, dirSink, writeFileAtomic } from "./node/files.ts";
export { readSafetensors, writeSafetensors } from "./node/safetensors.ts";
export { resolveModel, type ResolveModelOptions } from "./node/hub.ts";

// Models.
export { Architecture, ParamScope, type EncoderInputs, type HeadKind, type BuildContext } from "./models/index.ts";
export { PretrainedModel, type LoadOptions } from "./models/pretrained.ts";
export { crossEntropy, maskedCrossEntropy, mse, symmetricKl } from "./models/losses.ts";

// Data, tasks, metrics.
export { readExamples, type Example, type ReadOptions, type ReadResult } from "./data/readers.ts";
export { decodeText, type TextEncoding } from "./io/text.ts";
export { getGlueTask, customTask, GLUE_TASK_NAMES, type Task } from "./data/tasks.ts";
export { computeMetrics, accuracy, f1, matthewsCorrelation, pearson, spearmanr } from "./data/metrics.ts";
export { splitExamples } from "./data/split.ts";

// Significance of differences between models on the same examples (paired bootstrap, sign test, Holm).
export {
  pairedBootstrap,
  signTest,
  signTestFloor,
  holm,
  meanStd,
  type BootstrapOptions,
  type BootstrapResult,
  type SignTestResult,
} from "./stats/significance.ts";
export { loadSpamAssassin, loadSpamAssassinBalanced } from "./data/spam-assassin.ts";

// ROSE optimizer.
export { AdamW, RoseAdamW, type RoseMethod, type RoseAdamWOptions, type AdamWOptions, type StepInfo } from "./optim/adamw.ts";
// ROSE's rule (method table, saliencies, masks, eligibility, warm-up): src/optim/rose.ts.
export {
  METHODS,
  ROSE_DEFAULTS,
  RoseSelector,
  eligibleFrom,
  selectTensors,
  stepNeeds,
  validateRoseOptions,
  validateRoseTrainOptions,
  withRoseDefaults,
  type RoseOptions,
  type RoseTrainOptions,
} from "./optim/rose.ts";
export { bandMask, quantile } from "./optim/select.ts";
export { linearSchedule } from "./optim/schedule.ts";
export { clipCoefficient, clipGradNorm, gradNorm } from "./optim/clip.ts";

// Training: one loop (train/loop.ts) for fine-tuning and pre-training.
export {
  Trainer,
  TRAIN_DEFAULTS,
  withTrainDefaults,
  type TrainOptions,
  type PartialTrainOptions,
  type TrainResult,
} from "./train/trainer.ts";
// `rose train`'s flags as data: what the CLI registers and a sweep checks.
export { TRAIN_FLAGS, ROSE_FLAGS, MODEL_FLAGS, DATA_FLAGS, fineTuneOptionsFrom } from "./train/flags.ts";
export { parseFlagArgs, type FlagSpec, type FlagValue } from "./train/flag-spec.ts";
export { TrainStep, classification, type Objective, type StepOptions } from "./train/step.ts";
export {
  runLoop,
  buildTraining,
  type LoopOptions,
  type LoopHooks,
  type LoopData,
  type LoopEvaluation,
  type StepSummary,
  type RunState,
} from "./train/loop.ts";
// A run's output folder: its files' names and typed records (metrics.jsonl, checkpoints, trainer_state.json, ...).
export {
  RunDir,
  SweepDir,
  RUN_FILES,
  CHECKPOINT_FILES,
  SWEEP_FILES,
  loadModelWeights,
  type MetricsRecord,
  type TrainRecord,
  type EvalRecord,
  type MaskRecord,
  type CheckpointPointer,
  type ExtraEvalRecord,
  type TrainerStateRecord,
  type RobustnessRecord,
  type AttackResultRecord,
} from "./node/run-dir.ts";

// Inference: compiled forward passes, big batches run in parts.
export { Predictor, predictLogits, frozenWeights, softmax, argmax, crossEntropyOfLogits } from "./infer/predictor.ts";
export type { PredictOptions } from "./infer/predictor.ts";

// Application layer (src/app/): one module per command, over the library; the CLI (src/cli/) maps flags to these.
export { DEFAULT_MODEL, resolveModelDir, type ModelRef } from "./node/model-ref.ts";
export { taskByName, readData, type DataOptions } from "./data/task-data.ts";
export { fineTune, type FineTuneOptions, type FineTuneResult } from "./app/train.ts";
export { evaluate, evalAdvGlue, type EvaluateOptions } from "./app/eval.ts";
export { predictText } from "./app/predict.ts";

// Pre-training.
export { pretrain, PRETRAIN_DEFAULTS, type PretrainOptions } from "./app/pretrain.ts";
export {
  PretrainTrainer,
  PRETRAIN_TRAINER_DEFAULTS,
  withPretrainTrainerDefaults,
  type PretrainTrainerOptions,
  type PartialPretrainTrainerOptions,
  type PretrainResult,
} from "./pretrain/trainer.ts";
export { heldoutAccuracy, type HeldoutAccuracy } from "./pretrain/heldout.ts";
export { packLines } from "./pretrain/mlm-data.ts";
export { PRESETS, maskedLm, maskedAccuracy, type PositionBucket } from "./pretrain/masked-lm.ts";
export { buildCorpus } from "./pretrain/corpus.ts";
export { trainWordPiece, writeVocabDir } from "./pretrain/wordpiece.ts";

// Export.
export { exportModel } from "./app/export.ts";
export { exportOnnx } from "./export/onnx.ts";

// Robustness.
export * from "./robust/index.ts";
export { attackModel } from "./robust/run.ts";
export { robustness } from "./app/robustness.ts";
export { ModelClassifier, ModelSentenceEncoder, MlmFiller } from "./robust/adapters.ts";

// Bag-of-words baseline (tf-idf n-grams + logistic regression, or naive Bayes): what a transformer buys.
export { fitBaseline, type BaselineOptions, type BaselineResult } from "./baseline/run.ts";
export { BagOfWords, type BaselineModelType, type BagOfWordsPrediction } from "./baseline/model.ts";
export { NgramVectorizer, type TextInput, type VectorizerOptions } from "./baseline/vectorizer.ts";
export { minimizeLbfgs, type LbfgsOptions, type LbfgsResult } from "./baseline/lbfgs.ts";
// Hyper-parameter sweeps (local or on a BullMQ queue).
export { sweep, planSweep, type SweepOptions, type SweepEvent, type Strategy } from "./sweep/sweep.ts";
export { startWorker, type WorkerOptions, type SweepWorker } from "./sweep/queue.ts";
export type { SweepResult, TrialRow, BestConfig } from "./sweep/results.ts";
export type { SpaceSpec, DimensionSpec } from "./sweep/space.ts";

// Demo.
export { runDemo, DEMO_DEFAULTS, type DemoOptions } from "./app/demo.ts";
// Loss landscapes and HTML reports.
export {
  computeLandscape,
  GRID_DEFAULTS,
  lossAndAccuracy,
  type Landscape,
  type ModelSurface,
  type GridOptions,
} from "./landscape/landscape.ts";
export { randomDirection, filterNormalise, modelDirections, NORMALISATION, type Direction } from "./landscape/directions.ts";
export { sharpness, circleMean, SHARPNESS_DEFINITIONS, type Sharpness, type Grid as LandscapeGrid } from "./landscape/sharpness.ts";
export { runLandscape, writeLandscape, type LandscapeOptions, type LandscapeRun } from "./landscape/run.ts";
export { contourSvg, surfaceSvg, curvesSvg, svgToPng, landscapePlots } from "./landscape/plot.ts";
export { writeReport, type ReportOptions } from "./report/run.ts";
export { buildReport } from "./report/html.ts";
export { readRun, type RunRecords } from "./report/read.ts";
