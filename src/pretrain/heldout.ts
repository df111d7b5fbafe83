// Held-out masked-token accuracy as pre-training measures it: packed sequences, 15% of tokens masked with
// masks fixed whatever the run's seed (so that runs compare), in batches of the run's batch size.
import { ConfigError } from "../errors.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { readCorpusLines } from "./corpus-files.ts";
import { maskedAccuracy, type PositionBucket } from "./masked-lm.ts";
import { packLines, tokenizerBatcherOptions } from "./mlm-data.ts";

const HELDOUT_MASK_SEED = 1234;

export interface HeldoutAccuracy {
  accuracy: number;
  tokens: number;
  /** With positionBucket: the accuracy per bucket of that many positions. */
  byPosition?: PositionBucket[];
}

/** Held-out accuracy of packed sequences; the masks depend on the batch size too. */
export function sequenceAccuracy(
  model: PretrainedModel,
  sequences: readonly (readonly number[])[],
  o: { batchSize: number; threads?: number; positionBucket?: number },
): Promise<HeldoutAccuracy> {
  return maskedAccuracy(
    model,
    sequences,
    tokenizerBatcherOptions(model.tokenizer!, o.batchSize, HELDOUT_MASK_SEED),
    o.threads,
    o.positionBucket != null ? { positionBucket: o.positionBucket } : {},
  );
}

/**
 * Held-out masked-token accuracy of a masked-LM model on text files, scored exactly as `rose pretrain --heldout`
 * scores it (packed sequences of maxSeqLength, 15% masking with fixed masks, batches of batchSize: the masks
 * depend on both). With positionBucket, also per bucket of that many positions.
 */
export async function heldoutAccuracy(
  model: PretrainedModel,
  files: readonly string[],
  o: { maxSeqLength: number; batchSize: number; threads?: number; positionBucket?: number },
): Promise<HeldoutAccuracy> {
  const tok = model.tokenizer;
  if (!tok) throw new ConfigError("heldoutAccuracy: the model has no tokenizer");
  if (!model.arch.supportsMlm) throw new ConfigError(`heldoutAccuracy: ${model.cfg.modelType} has no masked-LM head in rose`);
  return sequenceAccuracy(model, await packLines(tok, readCorpusLines(files), o.maxSeqLength), o);
}
