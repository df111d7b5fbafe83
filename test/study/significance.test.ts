import { test } from "node:test";
import assert from "node:assert/strict";
import { holm, meanStd, pairedBootstrap, signTest, signTestFloor } from "../../src/stats/significance.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("meanStd: mean and the n - 1 standard deviation", () => {
  const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  close(r.mean, 5);
  close(r.std, Math.sqrt(32 / 7));
  assert.deepEqual(meanStd([3]), { mean: 3, std: 0, n: 1 });
  assert.throws(() => meanStd([]), /no values/);
});

/** Per-example 0/1 scores: `aOnly` examples only a gets right, `bOnly` only b, `both` both, the rest neither. */
function pairs(aOnly: number, bOnly: number, both: number, neither: number): { a: number[]; b: number[] } {
  const a: number[] = [],
    b: number[] = [];
  const push = (x: number, y: number, k: number) => {
    for (let i = 0; i < k; i++) {
      a.push(x);
      b.push(y);
    }
  };
  push(1, 0, aOnly);
  push(0, 1, bOnly);
  push(1, 1, both);
  push(0, 0, neither);
  return { a, b };
}

test("pairedBootstrap: identical systems give delta 0 and p = 1", () => {
  const { a } = pairs(10, 0, 50, 40);
  const r = pairedBootstrap(a, a, { samples: 2000 });
  assert.equal(r.delta, 0);
  assert.equal(r.p, 1);
  assert.deepEqual(r.ci, [0, 0]);
});

test("pairedBootstrap: a system right wherever the other is wrong gets the smallest p", () => {
  const { a, b } = pairs(100, 0, 0, 0);
  const r = pairedBootstrap(a, b, { samples: 999 });
  assert.equal(r.delta, 1);
  assert.equal(r.p, 2 / 1000);
  const rev = pairedBootstrap(b, a, { samples: 999 });
  assert.equal(rev.delta, -1);
  assert.equal(rev.p, 2 / 1000);
});

test("pairedBootstrap: 30 against 20 discordant examples of 200 is not significant (normal approximation p ~ 0.16)", () => {
  const { a, b } = pairs(30, 20, 100, 50);
  const r = pairedBootstrap(a, b, { samples: 10_000, seed: 1 });
  close(r.delta, 0.05);
  // sd of the differences sqrt(50/200 - 0.05^2) ~ 0.4975, standard error ~ 0.0352, z ~ 1.42, two-sided p ~ 0.156.
  assert.ok(r.p > 0.12 && r.p < 0.2, `p = ${r.p}`);
  assert.ok(r.ci[0] < 0 && r.ci[1] > 0.05, `ci ${r.ci}`);
  // 90 against 20 of 400 is: z ~ 6.9.
  const big = pairs(90, 20, 200, 90);
  assert.ok(pairedBootstrap(big.a, big.b, { samples: 2000 }).p < 0.01);
});

test("pairedBootstrap: the same seed gives the same result, another seed another resampling", () => {
  const { a, b } = pairs(12, 8, 60, 20);
  assert.deepEqual(pairedBootstrap(a, b, { samples: 500, seed: 3 }), pairedBootstrap(a, b, { samples: 500, seed: 3 }));
  assert.notDeepEqual(pairedBootstrap(a, b, { samples: 500, seed: 3 }).ci, pairedBootstrap(a, b, { samples: 500, seed: 4 }).ci);
});

test("pairedBootstrap refuses unpaired or empty scores and bad options", () => {
  assert.throws(() => pairedBootstrap([1, 0], [1]), /2 scores against 1/);
  assert.throws(() => pairedBootstrap([], []), /no examples/);
  assert.throws(() => pairedBootstrap([1], [0], { samples: 0 }), /positive integer/);
  assert.throws(() => pairedBootstrap([1], [0], { confidence: 1 }), /between 0 and 1/);
});

test("signTest: exact two-sided binomial p over untied runs", () => {
  assert.deepEqual(signTest([3, 3, 3], [1, 1, 1]), { wins: 3, losses: 0, ties: 0, p: 0.25 });
  close(signTest([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]).p, 1 / 32);
  // 5 wins, 1 loss: 2 * (1 + 6) / 64.
  close(signTest([1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 1]).p, 14 / 64);
  // Ties are dropped: 2 wins, 0 losses, 1 tie.
  assert.deepEqual(signTest([2, 2, 1], [1, 1, 1]), { wins: 2, losses: 0, ties: 1, p: 0.5 });
  assert.equal(signTest([1, 2], [1, 2]).p, 1);
  assert.equal(signTest([1, 0], [0, 1]).p, 1);
  // Many runs: the log-space branch agrees with the normal approximation (z = 100 / sqrt(2000) ~ 2.24, p ~ 0.025).
  const many = signTest(
    Array.from({ length: 2000 }, (_, i) => (i < 1050 ? 1 : 0)),
    Array.from({ length: 2000 }, (_, i) => (i < 1050 ? 0 : 1)),
  );
  assert.ok(many.p > 0.02 && many.p < 0.03, `p = ${many.p}`);
  assert.throws(() => signTest([1], [1, 2]), /paired/);
});

test("signTestFloor: fewer than 6 runs can never reach 0.05", () => {
  assert.equal(signTestFloor(3), 0.25);
  assert.equal(signTestFloor(5), 1 / 16);
  assert.equal(signTestFloor(6), 1 / 32);
  assert.equal(signTestFloor(0), 1);
});

test("holm: step-down adjusted p-values, monotone, in the input order", () => {
  const adj = holm([0.01, 0.04, 0.03]);
  close(adj[0]!, 0.03);
  close(adj[1]!, 0.06);
  close(adj[2]!, 0.06);
  assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
  assert.deepEqual(holm([]), []);
});
