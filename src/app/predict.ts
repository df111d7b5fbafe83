// `rose predict`: one text (or text pair) through a classifier, with label names from config id2label.
import type { ResolveModelOptions } from "../node/hub.ts";
import { seqLengthWarning, untrainedHeadWarning } from "../models/checks.ts";
import { PretrainedModel, applyTruncation } from "../models/pretrained.ts";
import { argmax, Predictor, softmax } from "../infer/predictor.ts";
import type { Truncation } from "../io/tokenizer.ts";
import { resolveModelDir } from "../node/model-ref.ts";
import { dirFiles } from "../node/files.ts";

export interface PredictTextOptions {
  /** Model directory or Hub id; default: the shipped default model. */
  model?: string;
  hub?: ResolveModelOptions;
  text: string;
  /** Second text of a sentence pair. */
  pair?: string;
  maxSeqLength?: number;
  /** Which tokens of a long text are read (default: the model's tokenizer's). */
  truncation?: Truncation;
  threads?: number;
}

/** Why the prediction may mean little: a newly initialised head, inputs cut to the model's length. */
type Warnings = { warnings: string[] };

export type PredictTextResult = (
  | { kind: "label"; label: string; labelId: number; probabilities: [label: string, p: number][] }
  | { kind: "score"; score: number }
) & { notice: string | null } & Warnings;

export async function predictText(opts: PredictTextOptions): Promise<PredictTextResult> {
  const dir = await resolveModelDir({ model: opts.model, hub: opts.hub });
  const model = await PretrainedModel.load(dirFiles(dir));
  applyTruncation(model, opts.truncation);
  const predictor = new Predictor(model, { maxLength: opts.maxSeqLength, threads: opts.threads, batchSize: 1 });
  const [logits] = await predictor.logits([{ text: opts.text, pair: opts.pair }]);
  const notice = model.notice();
  const warnings = [untrainedHeadWarning(model, dir), seqLengthWarning(opts.maxSeqLength, model.cfg)].filter(
    (w): w is string => w !== null,
  );
  if (model.cfg.problemType === "regression") return { kind: "score", score: logits![0]!, notice, warnings };
  const probs = softmax(logits!);
  const labelId = argmax(probs);
  const names = model.cfg.id2label;
  const name = (i: number) => names[i] ?? `LABEL_${i}`;
  return { kind: "label", label: name(labelId), labelId, probabilities: [...probs].map((p, i) => [name(i), p]), notice, warnings };
}
