import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { ConfigError } from "../../src/errors.ts";
import { bandMask, elementBandMask, quantile, torchNorm32 } from "../../src/optim/select.ts";
import {
  defaultEligible,
  elementSecondSaliency,
  eligibleFrom,
  ensembleMask,
  firstOrderMask,
  secondOrderSaliency,
  secondSaliencyValue,
} from "../../src/optim/rose.ts";

const f = Math.fround;

test("quantile: linear interpolation like torch.quantile", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([4, 3, 2, 1], 0.25), 1.75);
  assert.equal(quantile([1, 2, 3, 4], 0), 1);
  assert.equal(quantile([1, 2, 3, 4], 1), 4);
  assert.equal(quantile([3, 1, 2], 0.6), f(2.2)); // rank 1.2 -> 2 + 0.2 * (3 - 2), in float32
  assert.equal(quantile([10, 0], 0.75), 7.5); // weight >= 0.5 uses the end-anchored form
  assert.equal(quantile([5], 0.3), 5);
  assert.ok(Number.isNaN(quantile([1, NaN, 3], 0.5)));
  // rank 0.6 * 15 rounds to exactly 9 in float32, so the upper bound is the 10th smallest value
  const v = Array.from({ length: 16 }, (_, i) => i * 1.5);
  assert.equal(quantile(v, 0.6), 13.5);
  assert.throws(() => quantile([1], 1.5), ConfigError);
  assert.throws(() => quantile([], 0.5), ConfigError);
});

test("bandMask: inclusive bounds and edge cases", () => {
  assert.deepEqual([...bandMask([0.3, 0.3, 0.3, 0.3], 10, 60)], [1, 1, 1, 1]); // all equal: all inside
  assert.deepEqual([...bandMask([5, 1, 4, 2, 3], 0, 100)], [1, 1, 1, 1, 1]);
  assert.deepEqual([...bandMask([5, 1, 4, 2, 3], 50, 50)], [0, 0, 0, 0, 1]); // exactly the median
  assert.deepEqual([...bandMask([1, 2, 3, 4], 50, 50)], [0, 0, 0, 0]); // median 2.5 is no element
  assert.deepEqual([...bandMask([5, 1, 4, 2, 3], 0, 60)], [0, 1, 0, 1, 1]); // q(0.6) = 3.4
  assert.deepEqual([...bandMask([5, 1, 4, 2, 3], 25, 75)], [0, 0, 1, 1, 1]);
  assert.deepEqual([...bandMask([1, NaN, 3], 0, 50)], [1, 0, 1]); // NaN counts as +Infinity
  assert.deepEqual([...bandMask([1, NaN, 3], 0, 60)], [1, 1, 1]); // q(0.6) interpolates towards +Infinity
  assert.deepEqual([...bandMask([1, NaN, 3], 0, 100)], [1, 1, 1]);
  assert.deepEqual([...bandMask([], 0, 60)], []);
  assert.throws(() => bandMask([1, 2], 70, 60), ConfigError);
  assert.throws(() => bandMask([1, 2], -1, 60), ConfigError);
});

test("first-order mask, second-order saliency, ensemble", () => {
  const names = ["a", "b", "c"];
  assert.deepEqual(
    [
      ...firstOrderMask(
        names,
        new Map([
          ["a", 3],
          ["b", 1],
          ["c", 2],
        ]),
        0,
        50,
      ),
    ],
    [0, 1, 1],
  );
  assert.throws(() => firstOrderMask(names, new Map([["a", 3]]), 0, 50), ConfigError);

  const grads = new Map([
    ["a", new Float32Array([3, 4])],
    ["b", new Float32Array([1, 0])],
    ["c", new Float32Array([0, 2])],
  ]);
  assert.equal(secondOrderSaliency(names, grads, new Map([["a", new Float32Array(2)]]), 0.9), null);
  const ea = new Map([
    ["a", new Float32Array([0.3, 0.4])],
    ["b", new Float32Array([0.2, 0])],
    ["c", new Float32Array([0, 0.1])],
  ]);
  const sal = secondOrderSaliency(names, grads, ea, 0.9)!;
  // |0.1 * 5 / 0.5 - 1| = 0, |0.1 * 1 / 0.2 - 1| = 0.5, |0.1 * 2 / 0.1 - 1| = 1 (all in float32)
  assert.ok(Math.abs(sal[0]!) < 1e-6 && Math.abs(sal[1]! - 0.5) < 1e-6 && Math.abs(sal[2]! - 1) < 1e-6);
  assert.equal(sal[1], secondSaliencyValue(1, f(0.2), 0.9));

  assert.deepEqual([...ensembleMask(new Float32Array([1, 0, 1, 0]), new Float32Array([1, 1, 0, 0]), 0.5)], [1, 0.5, 0.5, 0]);
  assert.deepEqual([...ensembleMask(new Float32Array([1, 0]), new Float32Array([0, 1]), 0.3)], [f(0.3), f(0.7)]);
});

test("torchNorm32 is a float32 L2 norm", () => {
  const a = new Float32Array(21).map((_, i) => i - 10);
  let s = 0;
  for (const v of a) s += v * v;
  assert.equal(torchNorm32(a), f(Math.sqrt(s)));
  assert.equal(torchNorm32(new Float32Array(0)), 0);
});

test("elementBandMask agrees with bandMask (radix selection vs sort)", () => {
  const rng = new Rng(7, 1);
  for (const [n, distinct] of [
    [1, 10],
    [2, 10],
    [17, 1e9],
    [1000, 5],
    [5000, 1e9],
    [3000, 1],
  ] as const) {
    const sal = new Float32Array(n);
    for (let i = 0; i < n; i++) sal[i] = distinct === 1e9 ? rng.next() * 10 ** (rng.int(8) - 6) : rng.int(distinct) * 0.25;
    if (n > 100) sal[3] = NaN;
    for (const [lo, hi] of [
      [0, 100],
      [0, 60],
      [10, 90],
      [33, 33],
      [0, 0],
      [100, 100],
      [12.5, 87.5],
    ] as const) {
      const out = new Uint8Array(n);
      const kept = elementBandMask(sal, n, lo, hi, out);
      const want = bandMask(sal, lo, hi);
      assert.deepEqual([...out], [...want], `n=${n} band [${lo}, ${hi}]`);
      assert.equal(
        kept,
        want.reduce((a, b) => a + b, 0),
      );
    }
  }
  // negative values and a prefix of a longer buffer
  const sal = new Float32Array([-3, 2, -0.5, 0, 7, 99]);
  const out = new Uint8Array(5);
  assert.equal(elementBandMask(sal, 5, 25, 75, out), 3);
  assert.deepEqual([...out], [0, 1, 1, 1, 0]);
});

test("elementSecondSaliency", () => {
  const out = new Float32Array(3);
  elementSecondSaliency(new Float32Array([-2, 1, 0]), new Float32Array([0.4, 0, 0]), 0.9, out);
  assert.ok(Math.abs(out[0]! - 0.5) < 1e-6);
  assert.equal(out[1], Infinity);
  assert.ok(Number.isNaN(out[2]));
});

test("eligibility predicates", () => {
  assert.equal(defaultEligible("bert.encoder.layer.0.attention.self.query.weight"), true);
  assert.equal(defaultEligible("bert.encoder.layer.0.attention.self.query.bias"), false);
  assert.equal(defaultEligible("bert.embeddings.LayerNorm.weight"), false); // "Layer" is not "layer"
  assert.equal(defaultEligible("classifier.weight"), false);
  const re = eligibleFrom(/attention/g); // a global flag must not make test() alternate
  assert.equal(re("x.attention.y"), true);
  assert.equal(re("x.attention.y"), true);
  assert.equal(eligibleFrom("^bert\\.encoder")("bert.encoder.layer.0.output.dense.bias"), true);
  assert.throws(() => eligibleFrom("("), ConfigError);
  assert.equal(eligibleFrom((n) => n === "q")("q"), true);
});
