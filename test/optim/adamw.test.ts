import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/engine/rng.ts";
import { ConfigError, FormatError, RoseError, ShapeError } from "../../src/errors.ts";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";
import { AdamW, RoseAdamW, defaultNoDecay, paramOrder, type RoseMethod } from "../../src/optim/adamw.ts";
import { packState, unpackState } from "../../src/train/checkpoint.ts";
import { elementSecondSaliency } from "../../src/optim/rose.ts";
import { bandMask } from "../../src/optim/select.ts";

const GOLDEN = fileURLToPath(new URL("../fixtures/golden/rose/ensemble/", import.meta.url));

function clone(m: Map<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...m].map(([k, v]) => [k, v.slice()]));
}

test("one vanilla AdamW step by hand", () => {
  const params = new Map([
    ["w", new Float32Array([1])],
    ["b.bias", new Float32Array([1])],
  ]);
  const grads = new Map([
    ["w", new Float32Array([0.5])],
    ["b.bias", new Float32Array([0.5])],
  ]);
  const opt = new RoseAdamW({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.5 });
  const info = opt.step({ params, grads });
  // bias-corrected first step moves by lr * sign(g); decoupled decay afterwards only on "w"
  const moved = 1 - 0.1 * (0.5 / (0.5 + 1e-8));
  assert.ok(Math.abs(params.get("w")![0]! - moved * (1 - 0.1 * 0.5)) < 1e-6);
  assert.ok(Math.abs(params.get("b.bias")![0]! - moved) < 1e-6);
  assert.deepEqual(info.mask, new Map());
  assert.equal(info.maskApplied, false);
  assert.equal(info.fractionUpdated, 1);
  assert.equal(info.step, 1);
});

test("parameter order and no-decay predicate", () => {
  assert.deepEqual(paramOrder(["a.bias", "a.weight", "LayerNorm.weight", "b.weight", "x.sa_layer_norm.weight"]), [
    "a.weight",
    "b.weight",
    "a.bias",
    "LayerNorm.weight",
    "x.sa_layer_norm.weight",
  ]);
  assert.equal(defaultNoDecay("distilbert.transformer.layer.0.output_layer_norm.weight"), true);
  assert.equal(defaultNoDecay("bert.pooler.dense.weight"), false);
});

test("state save/restore through safetensors continues identically", () => {
  const initial = readSafetensors(`${GOLDEN}initial.safetensors`).tensors;
  const steps = readSafetensors(`${GOLDEN}steps.safetensors`).tensors;
  const start = new Map([...initial].map(([n, t]) => [n, (t.data as Float32Array).slice()]));
  const gradsAt = (k: number) => new Map([...start.keys()].map((n) => [n, steps.get(`step${k}/grad/${n}`)!.data as Float32Array]));
  const kl = (k: number) => new Map([...start.keys()].map((n, i) => [n, 0.1 + ((i * 7 + k * 3) % 11)]));
  const opts = {
    lr: 1e-3,
    betas: [0.9, 0.98] as [number, number],
    weightDecay: 0.01,
    method: "rose-ensemble" as RoseMethod,
    upper: 60,
    numWarmupSteps: 1,
  };

  const straight = new RoseAdamW(opts);
  const pa = clone(start);
  for (let k = 1; k <= 6; k++) straight.step({ params: pa, grads: gradsAt(k), klGradNorms: kl(k) });

  const first = new RoseAdamW(opts);
  const pb = clone(start);
  for (let k = 1; k <= 3; k++) first.step({ params: pb, grads: gradsAt(k), klGradNorms: kl(k) });
  const packed = packState(first.state());
  const file = parseSafetensors(serializeSafetensors(packed.tensors, packed.metadata));
  const resumed = new RoseAdamW(opts);
  resumed.loadState(unpackState("ckpt.safetensors", file.tensors, file.metadata));
  assert.equal(resumed.stepsDone, 3);
  const pc = clone(pb);
  for (let k = 4; k <= 6; k++) {
    const info = resumed.step({ params: pc, grads: gradsAt(k), klGradNorms: kl(k) });
    assert.equal(info.step, k);
    assert.equal(info.maskApplied, true);
  }
  const sa = straight.state();
  const sc = resumed.state();
  for (const n of start.keys()) {
    assert.deepEqual(pc.get(n), pa.get(n), n);
    assert.deepEqual(sc.expAvg.get(n), sa.expAvg.get(n));
    assert.deepEqual(sc.expAvgSq.get(n), sa.expAvgSq.get(n));
    assert.equal(sc.steps.get(n), 6);
  }

  assert.throws(() => unpackState("bad.safetensors", file.tensors, {}), FormatError);
  const missing = new Map(file.tensors);
  missing.delete(`exp_avg_sq/${[...start.keys()][0]}`);
  assert.throws(() => unpackState("bad.safetensors", missing, file.metadata), /bad\.safetensors: .*missing exp_avg/);
});

/** A tiny model: one eligible 10-element weight and a never-selected bias. */
function tiny(): { params: Map<string, Float32Array>; grads: Map<string, Float32Array> } {
  const rng = new Rng(3, 9);
  const w = new Float32Array(10).map(() => rng.normal());
  return {
    params: new Map([
      ["encoder.layer.0.weight", w],
      ["classifier.bias", new Float32Array([0.5, -0.5])],
    ]),
    grads: new Map([
      ["encoder.layer.0.weight", new Float32Array(10).map(() => rng.normal())],
      ["classifier.bias", new Float32Array([0.1, 0.2])],
    ]),
  };
}

function changed(before: Float32Array, after: Float32Array): number[] {
  return [...after].map((v, i) => (v !== before[i] ? 1 : 0));
}

test("element granularity, first order: per-element band of |KL gradient|", () => {
  const { params, grads } = tiny();
  const W = "encoder.layer.0.weight";
  const before = params.get(W)!.slice();
  const opt = new RoseAdamW({ lr: 0.01, weightDecay: 0.01, method: "rose-first", granularity: "element", upper: 50, lower: 0 });
  assert.equal(opt.selector!.firstOrder && opt.willApplyMask(), true);
  const klGrad = new Float32Array([5, -1, 9, 2, -10, 3, 7, -4, 8, 6]); // |.| <= q(0.5) = 5.5 kept
  assert.throws(() => opt.step({ params: clone(params), grads }), RoseError);
  const info = opt.step({ params, grads, klGrads: new Map([[W, klGrad]]) });
  assert.deepEqual(changed(before, params.get(W)!), [1, 1, 0, 1, 0, 1, 0, 1, 0, 0]);
  assert.notDeepEqual(params.get("classifier.bias"), new Float32Array([0.5, -0.5]));
  assert.equal(info.mask.get(W), 0.5);
  assert.equal(info.maskApplied, true);
  assert.equal(info.fractionUpdated, 7 / 12);
  assert.equal(info.firstMask, undefined);
  // masked-out elements keep zero moments (g = exp_avg = 0)
  assert.equal(opt.state().expAvg.get(W)![2], 0);
});

test("element granularity, second order and ensemble", () => {
  const W = "encoder.layer.0.weight";
  for (const method of ["rose-second", "rose-ensemble"] as const) {
    const { params, grads } = tiny();
    const opt = new RoseAdamW({ lr: 0.01, method, granularity: "element", upper: 60, numWarmupSteps: 1, gamma: 0.5 });
    const klGrad = new Float32Array([5, -1, 9, 2, -10, 3, 7, -4, 8, 6]);
    // warm-up: no masks, no KL needed
    assert.equal(opt.selector!.firstOrder && opt.willApplyMask(), false);
    const i1 = opt.step({ params, grads });
    assert.equal(i1.maskApplied, false);
    assert.equal(i1.mask.size, 0);

    const g2 = new Float32Array(10).map((_, i) => (i % 3) - 1 + i * 0.01);
    const sal = new Float32Array(10);
    elementSecondSaliency(g2, opt.state().expAvg.get(W)!, 0.9, sal);
    const second = bandMask(sal, 0, 60);
    const first = bandMask(Float32Array.from(klGrad, Math.abs), 0, 60);
    const want = method === "rose-second" ? [...second] : [...second].map((s, i) => 0.5 * s + 0.5 * first[i]!);

    const before = params.get(W)!.slice();
    const info = opt.step({
      params,
      grads: new Map([
        [W, g2],
        ["classifier.bias", new Float32Array([0.1, 0.2])],
      ]),
      klGrads: new Map([[W, klGrad]]),
    });
    assert.equal(info.maskApplied, true);
    assert.deepEqual(
      changed(before, params.get(W)!),
      want.map((m) => (m > 0 ? 1 : 0)),
      method,
    );
    assert.equal(info.mask.get(W), want.reduce((a, b) => a + b, 0) / 10);
  }
});

test("tensor granularity needs KL norms after warm-up; errors name the problem", () => {
  const { params, grads } = tiny();
  const opt = new RoseAdamW({ lr: 0.01, method: "rose-first", numWarmupSteps: 1 });
  const i1 = opt.step({ params, grads }); // warm-up: KL optional
  assert.equal(i1.maskApplied, false);
  assert.throws(() => opt.step({ params, grads }), /needs klGradNorms/);
  assert.throws(() => new RoseAdamW({ lr: 0.01, method: "rose-third" as RoseMethod }), ConfigError);
  assert.throws(() => new RoseAdamW({ lr: 0.01, upper: 20, lower: 30 }), ConfigError);
  assert.throws(() => new RoseAdamW({ lr: 0.01, eligible: "[" }), ConfigError);
  const bad = new Map(grads);
  bad.set("classifier.bias", new Float32Array(3));
  assert.throws(() => new RoseAdamW({ lr: 0.01 }).step({ params, grads: bad }), ShapeError);
  assert.throws(
    () => new RoseAdamW({ lr: 0.01 }).step({ params, grads: new Map([["nope", new Float32Array(1)]]) }),
    /unknown parameter nope/,
  );
});

test("custom eligibility selects other tensors", () => {
  const { params, grads } = tiny();
  const opt = new RoseAdamW({ lr: 0.01, method: "rose-first", eligible: /classifier/, upper: 0 });
  const info = opt.step({ params, grads, klGradNorms: new Map([["classifier.bias", 1]]) });
  assert.deepEqual([...info.mask.keys()], ["classifier.bias"]);
  assert.equal(info.mask.get("classifier.bias"), 1); // a single tensor is its own quantile
});

test("lrScale: a tensor scaled by s steps (and decays) as one trained at s times the rate", () => {
  const rng = new Rng(3);
  const make = () =>
    new Map([
      ["a.weight", new Float32Array(8).map(() => rng.normal())],
      ["b.weight", new Float32Array(8).map(() => rng.normal())],
    ]);
  const params = make(),
    grads = [make(), make(), make()];
  const scaled = new AdamW({ lr: 0.01, weightDecay: 0.1, lrScale: (n) => (n === "a.weight" ? 0.25 : 1) });
  const full = new AdamW({ lr: 0.01, weightDecay: 0.1 }),
    quarter = new AdamW({ lr: 0.0025, weightDecay: 0.1 });
  const [p1, p2, p3] = [clone(params), clone(params), clone(params)];
  for (const g of grads) {
    scaled.step({ params: p1, grads: clone(g) });
    full.step({ params: p2, grads: clone(g) });
    quarter.step({ params: p3, grads: clone(g) });
  }
  assert.deepEqual(p1.get("a.weight"), p3.get("a.weight"));
  assert.deepEqual(p1.get("b.weight"), p2.get("b.weight"));
  assert.notDeepEqual(p2.get("a.weight"), p3.get("a.weight"));
  assert.throws(
    () => new AdamW({ lr: 0.01, lrScale: () => Number.NaN }).step({ params: clone(params), grads: clone(grads[0]!) }),
    /lrScale\(a\.weight\) must be a finite number >= 0, got NaN/,
  );
});
