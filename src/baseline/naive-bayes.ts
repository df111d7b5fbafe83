// Multinomial naive Bayes on raw term counts, as scikit-learn's MultinomialNB(alpha, fit_prior=True):
// log P(term j | class k) = log((N_kj + alpha) / (N_k + alpha * V)), log prior = log(n_k / n). The joint
// log-likelihood is linear in the counts, so the fitted model is a LinearScores (one output per class).
import { ConfigError } from "../errors.ts";
import type { LinearScores } from "./logistic.ts";
import type { Csr } from "./sparse.ts";

export function fitMultinomialNb(x: Csr, y: Int32Array, numClasses: number, alpha: number): LinearScores {
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new ConfigError(`naive Bayes alpha must be a positive number, got ${alpha}`);
  if (y.length !== x.rows) throw new ConfigError(`${x.rows} rows but ${y.length} labels`);
  const k = numClasses,
    v = x.cols;
  const counts = new Float64Array(v * k);
  const docs = new Float64Array(k);
  for (let r = 0; r < x.rows; r++) {
    const c = y[r]!;
    if (!(c >= 0 && c < k)) throw new ConfigError(`label ${c} is outside [0, ${k})`);
    docs[c]!++;
    for (let e = x.indptr[r]!; e < x.indptr[r + 1]!; e++) counts[x.indices[e]! * k + c]! += x.data[e]!;
  }
  const total = new Float64Array(k);
  for (let j = 0; j < v; j++) for (let c = 0; c < k; c++) total[c]! += counts[j * k + c]!;
  const weights = new Float64Array(v * k);
  for (let j = 0; j < v; j++)
    for (let c = 0; c < k; c++) weights[j * k + c] = Math.log(counts[j * k + c]! + alpha) - Math.log(total[c]! + alpha * v);
  // A class absent from the training rows gets log(0) = -Infinity: it is never predicted, as in scikit-learn.
  const bias = Float64Array.from(docs, (d) => Math.log(d / x.rows));
  return { outputs: k, weights, bias };
}
