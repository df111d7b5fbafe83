// rose: Robust Selective Fine-tuning (ROSE) for pre-trained transformer classifiers — the library API.
// The CLI (`rose`) is a thin layer over these calls.

export * from "./errors.ts";

// Compute engine: graphs, ops with gradients, autodiff, onnxruntime execution.
export { Graph, Tensor, ops, grad, Program, Rng } from "./engine/index.ts";
export type { DType, Dim, Shape, OpDef, HostTensor, CompileOptions, RunOptions } from "./engine/index.ts";

// Hugging Face formats.
export { readSafetensors, writeSafetensors, parseSafetensors, serializeSafetensors } from "./io/safetensors.ts";
export { loadModelConfig, saveModelConfig, parseModelConfig, type EncoderConfig } from "./io/config.ts";
export { loadCheckpointTensors, saveCheckpoint } from "./io/checkpoint.ts";
export { Tokenizer, type EncodedBatch } from "./io/tokenizer.ts";
export { resolveModel, type ResolveModelOptions } from "./io/hub.ts";

// Models.
export { Architecture, ParamScope, type EncoderInputs, type HeadKind, type BuildContext } from "./models/index.ts";
export { PretrainedModel, type LoadOptions } from "./models/pretrained.ts";
export { crossEntropy, maskedCrossEntropy, mse, symmetricKl } from "./models/losses.ts";

// Data, tasks, metrics.
export { readExamples, type Example, type ReadOptions } from "./data/readers.ts";
export { getGlueTask, customTask, GLUE_TASK_NAMES, type Task } from "./data/tasks.ts";
export { computeMetrics, accuracy, f1, matthewsCorrelation, pearson, spearmanr } from "./data/metrics.ts";
export { splitExamples } from "./data/split.ts";
export { loadSpamAssassin, loadSpamAssassinBalanced } from "./data/spam-assassin.ts";

// ROSE optimizer.
export { RoseAdamW, type RoseMethod, type RoseAdamWOptions, type StepInfo } from "./optim/adamw.ts";
export { bandMask, quantile, eligibleFrom } from "./optim/select.ts";
export { linearSchedule } from "./optim/schedule.ts";
export { clipCoefficient, clipGradNorm, gradNorm } from "./optim/clip.ts";

// Training, evaluation, inference.
export { Trainer, TRAIN_DEFAULTS, type TrainOptions, type TrainResult } from "./train/trainer.ts";
export { TrainStep, classification, type Objective, type StepOptions } from "./train/step.ts";
export { Predictor, predictLogits, frozenWeights, softmax, argmax } from "./train/predict.ts";
export type { PredictOptions } from "./train/predict.ts";
export { fineTune, evaluate, DEFAULT_MODEL, type FineTuneOptions, type EvaluateOptions } from "./train/run.ts";

// Pre-training.
export { pretrain, PRESETS, type PretrainOptions } from "./pretrain/pretrain.ts";
export { buildCorpus } from "./pretrain/corpus.ts";
export { trainWordPiece, writeVocabDir } from "./pretrain/wordpiece.ts";

// Export.
export { exportModel } from "./export/export.ts";
export { exportOnnx } from "./export/onnx.ts";

// Robustness.
export * from "./robust/index.ts";
export { attackModel, robustness, evalAdvGlue } from "./robust/run.ts";
export { ModelClassifier, ModelSentenceEncoder, MlmFiller } from "./robust/adapters.ts";

// Demo.
export { runDemo } from "./demo/demo.ts";

// Loss landscapes and HTML reports.
export { computeLandscape, GRID_DEFAULTS, lossAndAccuracy, type Landscape, type ModelSurface, type GridOptions } from "./landscape/landscape.ts";
export { randomDirection, filterNormalise, modelDirections, NORMALISATION, type Direction } from "./landscape/directions.ts";
export { sharpness, circleMean, SHARPNESS_DEFINITIONS, type Sharpness, type Grid as LandscapeGrid } from "./landscape/sharpness.ts";
export { runLandscape, writeLandscape, type LandscapeOptions, type LandscapeRun } from "./landscape/run.ts";
export { contourSvg, surfaceSvg, curvesSvg, svgToPng, landscapePlots } from "./landscape/plot.ts";
export { writeReport } from "./report/run.ts";
export { buildReport } from "./report/html.ts";
export { readRun, type RunRecords } from "./report/read.ts";
