// Training losses built as graph ops.
import type { Tensor } from "../engine/index.ts";
import { ops } from "../engine/index.ts";

/** Mean cross-entropy of logits [batch, classes] against integer labels [batch]. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return ops.reduceMean(ops.softmaxCrossEntropy(logits, labels));
}

/**
 * Cross-entropy over the positions whose label is not `ignoreIndex` (-100, as Hugging Face), averaged
 * over those positions: masked-LM loss. logits [batch, seq, vocab], labels [batch, seq].
 */
export function maskedCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const g = logits.graph;
  const vocab = logits.shape[logits.rank - 1] as number;
  const valid = ops.not(ops.equal(labels, g.scalar(ignoreIndex, "int64")));
  const safe = ops.reshape(ops.where(valid, labels, g.scalar(0, "int64")), [-1]);
  const nll = ops.reshapeAs(ops.softmaxCrossEntropy(ops.reshape(logits, [-1, vocab]), safe), labels);
  const w = ops.cast(valid, logits.dtype);
  const count = ops.reduceSum(w);
  return ops.div(ops.reduceSum(ops.mul(nll, w)), ops.add(count, g.scalar(1e-12, logits.dtype)));
}

/** Mean squared error for a single-output regression head: logits [batch, 1], targets [batch]. */
export function mse(logits: Tensor, targets: Tensor): Tensor {
  const d = ops.sub(ops.squeeze(logits, [-1]), targets);
  return ops.reduceMean(ops.mul(d, d));
}

/**
 * ROSE / R-Drop symmetric KL between two passes' logits: (KL(p||q) + KL(q||p)) summed over the batch,
 * divided by 4, as the reference code computes it.
 */
export function symmetricKl(a: Tensor, b: Tensor): Tensor {
  const p = ops.logSoftmax(a, -1),
    q = ops.logSoftmax(b, -1);
  const pq = ops.mul(ops.exp(q), ops.sub(q, p));
  const qp = ops.mul(ops.exp(p), ops.sub(p, q));
  return ops.scale(ops.reduceSum(ops.add(pq, qp)), 0.25);
}
