// The two classifiers on problems small enough to check by hand: L-BFGS optima (gradient ~ 0), the
// intercept-only optimum in closed form, and naive Bayes probabilities worked out as fractions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { minimizeLbfgs } from "../../src/baseline/lbfgs.ts";
import { fitLogistic, logisticObjective, type LogisticProblem, logisticOutputs } from "../../src/baseline/logistic.ts";
import { BagOfWords } from "../../src/baseline/model.ts";
import { fitMultinomialNb } from "../../src/baseline/naive-bayes.ts";
import { type Csr, CsrBuilder } from "../../src/baseline/sparse.ts";
import { NgramVectorizer } from "../../src/baseline/vectorizer.ts";
import { Rng } from "../../src/engine/rng.ts";
import { ConfigError } from "../../src/errors.ts";

const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

test("L-BFGS finds the minimum of the Rosenbrock function and of a quadratic", () => {
  const rosen = minimizeLbfgs(
    (x, g) => {
      const [a, b] = [x[0]!, x[1]!];
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    },
    Float64Array.from([-1.2, 1]),
    { gradientTolerance: 1e-8 },
  );
  assert.ok(rosen.converged, rosen.reason);
  assert.ok(Math.abs(rosen.x[0]! - 1) < 1e-6 && Math.abs(rosen.x[1]! - 1) < 1e-6, `${rosen.x}`);
  // f = x'Ax/2 - b'x with A = tridiag(-1, 4, -1): the minimum solves Ax = b.
  const n = 20,
    b = Float64Array.from({ length: n }, (_, i) => i - 7);
  const ax = (x: Float64Array, i: number) => 4 * x[i]! - (i > 0 ? x[i - 1]! : 0) - (i < n - 1 ? x[i + 1]! : 0);
  const q = minimizeLbfgs(
    (x, g) => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        const axi = ax(x, i);
        g[i] = axi - b[i]!;
        f += 0.5 * x[i]! * axi - b[i]! * x[i]!;
      }
      return f;
    },
    new Float64Array(n),
    { gradientTolerance: 1e-9 },
  );
  assert.ok(q.converged, q.reason);
  // It stops when f (about -179) no longer changes in double precision: the residual is then ~1e-7.
  for (let i = 0; i < n; i++) assert.ok(Math.abs(ax(q.x, i) - b[i]!) < 1e-6);
  assert.throws(() => minimizeLbfgs(() => 0, new Float64Array(1), { memory: 0 }), ConfigError);
});

/** A seeded random sparse problem: rows of 1-4 entries over `cols` features, labels from a hidden linear rule plus noise. */
function randomProblem(rows: number, cols: number, numClasses: number, seed: number): LogisticProblem {
  const rng = new Rng(seed, 7);
  const b = new CsrBuilder(cols);
  const y = new Int32Array(rows);
  const rowsData: number[] = [];
  for (let r = 0; r < rows; r++) {
    const cs = Array.from({ length: 1 + rng.int(4) }, () => rng.int(cols));
    b.addCounts(cs);
    y[r] = (cs[0]! + (rng.next() < 0.2 ? 1 : 0)) % numClasses;
    rowsData.push(cs.length);
  }
  const x = b.build();
  // Non-uniform values, as tf-idf rows have.
  for (let e = 0; e < x.data.length; e++) x.data[e] = x.data[e]! * (0.5 + rng.next());
  return { x, y, numClasses, c: 1 };
}

for (const k of [2, 3]) {
  test(`logistic objective (${k} classes): the analytic gradient matches central differences`, () => {
    const p = randomProblem(40, 6, k, 1);
    const dim = 6 * logisticOutputs(k) + logisticOutputs(k);
    const rng = new Rng(3, 1);
    const theta = Float64Array.from({ length: dim }, () => rng.next() - 0.5);
    const g = new Float64Array(dim);
    logisticObjective(p, theta, g);
    const h = 1e-6;
    for (let i = 0; i < dim; i++) {
      const tp = theta.slice(),
        tm = theta.slice();
      tp[i]! += h;
      tm[i]! -= h;
      const fd = (logisticObjective(p, tp) - logisticObjective(p, tm)) / (2 * h);
      assert.ok(Math.abs(fd - g[i]!) < 1e-7, `component ${i}: ${fd} vs ${g[i]}`);
    }
  });

  test(`logistic regression (${k} classes) stops at a point where the gradient is ~0`, () => {
    const p = randomProblem(200, 12, k, 2);
    const fit = fitLogistic(p, { gradientTolerance: 1e-8 });
    assert.ok(fit.optimizer.converged, fit.optimizer.reason);
    const theta = new Float64Array([...fit.model.weights, ...fit.model.bias]);
    const g = new Float64Array(theta.length);
    const f = logisticObjective(p, theta, g);
    // The objective is ~0.5 and changes ~1e-16 per step at this point: 1e-7 is as close to 0 as doubles resolve.
    assert.ok(maxAbs(g) <= 1e-7, `gradient ${maxAbs(g)}`);
    assert.equal(f, fit.optimizer.value);
    // Stronger regularisation (smaller C) gives smaller weights.
    const strong = fitLogistic({ ...p, c: 0.01 }, { gradientTolerance: 1e-8 });
    assert.ok(maxAbs(strong.model.weights) < maxAbs(fit.model.weights));
  });
}

test("with no features, the fitted intercepts give the class frequencies (binary: b = ln(n1 / n0))", () => {
  const empty = (rows: number): Csr => ({
    rows,
    cols: 2,
    indptr: new Int32Array(rows + 1),
    indices: new Int32Array(0),
    data: new Float64Array(0),
  });
  const bin = fitLogistic(
    { x: empty(10), y: Int32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]), numClasses: 2, c: 1 },
    { gradientTolerance: 1e-12 },
  );
  assert.ok(Math.abs(bin.model.bias[0]! - Math.log(7 / 3)) < 1e-8, `${bin.model.bias[0]}`);
  const y3 = Int32Array.from([0, 1, 1, 2, 2, 2, 2, 2]);
  const tri = fitLogistic({ x: empty(8), y: y3, numClasses: 3, c: 1 }, { gradientTolerance: 1e-12 });
  const e = [...tri.model.bias].map(Math.exp),
    s = e.reduce((a, b) => a + b, 0);
  [1 / 8, 2 / 8, 5 / 8].forEach((want, i) => {
    assert.ok(Math.abs(e[i]! / s - want) < 1e-8);
  });
  assert.throws(() => fitLogistic({ x: empty(2), y: Int32Array.from([0, 1]), numClasses: 2, c: 0 }), ConfigError);
});

test("multinomial naive Bayes: probabilities as worked out by hand", () => {
  // Class 0: "good good movie"; class 1: "bad movie", "bad bad plot". Vocabulary bad, good, movie, plot.
  // P(w | 0) = (count + 1) / (3 + 4): 1/7, 3/7, 2/7, 1/7;  P(w | 1) = (count + 1) / (5 + 4): 4/9, 1/9, 2/9, 2/9.
  // "good plot": P(0) ~ 1/3 * 3/7 * 1/7 = 1/49, P(1) ~ 2/3 * 1/9 * 2/9 = 4/243 -> 243/439 and 196/439.
  const docs = [{ text: "good good movie" }, { text: "bad movie" }, { text: "bad bad plot" }];
  const v = NgramVectorizer.fit(docs, { ngramRange: [1, 1] });
  assert.deepEqual(v.vocabulary, ["bad", "good", "movie", "plot"]);
  const nb = fitMultinomialNb(v.counts(docs), Int32Array.from([0, 1, 1]), 2, 1);
  assert.ok(Math.abs(nb.weights[1 * 2 + 0]! - Math.log(3 / 7)) < 1e-12);
  assert.ok(Math.abs(nb.weights[0 * 2 + 1]! - Math.log(4 / 9)) < 1e-12);
  const model = new BagOfWords("nb", v, nb, ["pos", "neg"], { task: "custom", hyperparameters: { alpha: 1 } });
  const [p] = model.predict([{ text: "Good plot!" }]);
  assert.ok(
    Math.abs(p!.probabilities[0]! - 243 / 439) < 1e-12 && Math.abs(p!.probabilities[1]! - 196 / 439) < 1e-12,
    `${p!.probabilities}`,
  );
  assert.equal(p!.label, "pos");
  // "bad" twice: (1/3)(1/49) vs (2/3)(16/81) -> class 1.
  assert.equal(model.predict([{ text: "bad bad" }])[0]!.label, "neg");
  // Unknown words only: the priors.
  const [u] = model.predict([{ text: "unseen words" }]);
  assert.ok(Math.abs(u!.probabilities[0]! - 1 / 3) < 1e-12);
  assert.throws(() => fitMultinomialNb(v.counts(docs), Int32Array.from([0, 1, 1]), 2, 0), ConfigError);
});
