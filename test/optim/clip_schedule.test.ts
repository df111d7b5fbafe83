import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { clipGradNorm } from "../../src/optim/clip.ts";
import { linearSchedule, totalTrainingSteps, warmupStepsFromRatio } from "../../src/optim/schedule.ts";

test("clipGradNorm scales only above maxNorm and returns the pre-clip norm", () => {
  const grads = new Map([
    ["a", new Float32Array([3, 0])],
    ["b", new Float32Array([4])],
  ]);
  assert.equal(clipGradNorm(grads, 1), 5);
  const c = Math.fround(1 / Math.fround(5 + 1e-6));
  assert.deepEqual([...grads.get("a")!], [Math.fround(3 * c), 0]);
  assert.deepEqual([...grads.get("b")!], [Math.fround(4 * c)]);
  assert.ok(Math.abs(Math.hypot(grads.get("a")![0]!, grads.get("b")![0]!) - 1) < 1e-6);

  const small = new Map([["a", new Float32Array([0.3, 0.4])]]);
  assert.ok(Math.abs(clipGradNorm(small, 1) - 0.5) < 1e-7);
  assert.deepEqual([...small.get("a")!], [Math.fround(0.3), Math.fround(0.4)]);

  const bad = new Map([["a", new Float32Array([NaN, 1])]]);
  assert.ok(Number.isNaN(clipGradNorm(bad, 1)));
  assert.equal(bad.get("a")![1], 1); // untouched

  const big = new Map([["a", new Float32Array([1e20, 1e20])]]); // float64 accumulation: no overflow
  assert.ok(Math.abs(clipGradNorm(big, 1) / (Math.SQRT2 * 1e20) - 1) < 1e-6);
  assert.ok(Math.abs(big.get("a")![0]! - Math.SQRT1_2) < 1e-6);
});

test("linearSchedule matches HF get_linear_schedule_with_warmup", () => {
  const lr = linearSchedule({ baseLr: 1, warmupSteps: 2, totalSteps: 10 });
  assert.deepEqual([0, 1, 2, 6, 10, 12].map(lr), [0, 0.5, 1, 0.5, 0, 0]);
  // the golden recordings: base 2e-3, no warm-up, 6 steps; lr of update k is lr(k - 1)
  const g = linearSchedule({ baseLr: 0.002, warmupSteps: 0, totalSteps: 6 });
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map(g),
    [0.002, 0.0016666666666666668, 0.0013333333333333335, 0.001, 0.0006666666666666668, 0.00033333333333333327],
  );
  assert.throws(() => linearSchedule({ baseLr: -1, warmupSteps: 0, totalSteps: 1 }), ConfigError);
});

test("warm-up and total step helpers", () => {
  assert.equal(warmupStepsFromRatio(0.1, 95), 10);
  assert.equal(warmupStepsFromRatio(0, 95), 0);
  assert.equal(warmupStepsFromRatio(0.06, 1000), 60);
  assert.throws(() => warmupStepsFromRatio(1.5, 10), ConfigError);
  assert.equal(totalTrainingSteps(100, 32, 3), 12);
  assert.equal(totalTrainingSteps(100, 32, 3, 2), 6);
  assert.equal(totalTrainingSteps(10, 32, 2), 2);
});

test("cosine schedule: linear warm-up, then a half cosine from the peak to 0", async () => {
  const { cosineSchedule, scheduleByName } = await import("../../src/optim/schedule.ts");
  const lr = cosineSchedule({ baseLr: 1, warmupSteps: 10, totalSteps: 110 });
  assert.equal(lr(0), 0);
  assert.equal(lr(5), 0.5);
  assert.equal(lr(10), 1);
  assert.ok(Math.abs(lr(60) - 0.5) < 1e-12, "half-way through the decay the rate is half the peak");
  assert.ok(lr(35) > 0.5 && lr(85) < 0.5);
  assert.ok(Math.abs(lr(110)) < 1e-12);
  assert.equal(scheduleByName("linear", { baseLr: 1, warmupSteps: 10, totalSteps: 110 })(60), 0.5);
  assert.throws(() => scheduleByName("step", { baseLr: 1, warmupSteps: 0, totalSteps: 1 }), ConfigError);
});
