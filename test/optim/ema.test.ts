import { test } from "node:test";
import assert from "node:assert/strict";
import { WeightEma } from "../../src/optim/ema.ts";
import { ConfigError } from "../../src/errors.ts";

test("the average follows s += (1 - d_t) (w - s) with d_t = min(decay, (1 + t) / (10 + t))", () => {
  const params = new Map([["w", Float32Array.from([1, -2])]]);
  const ema = new WeightEma(0.5, params);
  assert.deepEqual([...ema.shadow.get("w")!], [1, -2], "starts at the weights");
  assert.notEqual(ema.shadow.get("w"), params.get("w"), "a copy, not the live tensor");
  assert.equal(ema.decayAt(1), 2 / 11);
  assert.equal(ema.decayAt(100), 0.5, "the ramp passes the cap");
  params.set("w", Float32Array.from([12, 9]));
  ema.update(params, 1);
  // 1 + (9/11)(12 - 1) = 10, -2 + (9/11)(9 + 2) = 7
  assert.deepEqual(
    [...ema.shadow.get("w")!].map((v) => +v.toFixed(5)),
    [10, 7],
  );
  params.set("w", Float32Array.from([0, 0]));
  ema.update(params, 100);
  assert.deepEqual(
    [...ema.shadow.get("w")!].map((v) => +v.toFixed(5)),
    [5, 3.5],
  );
});

test("swapInto lends the average to the weights and puts the live ones back", () => {
  const live = Float32Array.from([3]);
  const params = new Map([["w", live]]);
  const ema = new WeightEma(0.9, params);
  params.get("w")![0] = 4;
  const restore = ema.swapInto(params);
  assert.equal(params.get("w"), ema.shadow.get("w"));
  assert.equal(params.get("w")![0], 3);
  restore();
  assert.equal(params.get("w"), live);
  assert.equal(live[0], 4);
});

test("a decay outside (0, 1) is refused", () => {
  for (const d of [0, 1, -0.5, NaN])
    assert.throws(
      () => new WeightEma(d, new Map()),
      (e: Error) => e instanceof ConfigError && /emaDecay/.test(e.message),
    );
});
