import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng } from "../../src/engine/rng.ts";
import { RoseAdamW, type RoseMethod } from "../../src/optim/adamw.ts";
import { clipCoefficient, clipGradNorm, gradNorm } from "../../src/optim/clip.ts";
import { adamwUpdate } from "../../src/optim/simd.ts";
import { ADAMW_WASM } from "../../src/optim/adamw-wasm.ts";
import { assembleWat, wasmModuleSource } from "../../scripts/wasm.ts";

const f32 = Math.fround;

test("the kernel bytes embedded in adamw-wasm.ts are the assembly of adamw.wat (run scripts/build-wasm.ts after editing it)", async () => {
  const wat = readFileSync(new URL("../../src/optim/adamw.wat", import.meta.url), "utf8");
  const assembled = await assembleWat(wat);
  assert.deepEqual(Buffer.from(ADAMW_WASM), Buffer.from(assembled));
  const generated = readFileSync(new URL("../../src/optim/adamw-wasm.ts", import.meta.url), "utf8");
  assert.equal(generated, wasmModuleSource(assembled), "adamw-wasm.ts is exactly what scripts/build-wasm.ts writes");
});

function randomArrays(n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const r = (s: number, abs = false) => Float32Array.from({ length: n }, () => (abs ? Math.abs(rng.normal()) : rng.normal()) * s);
  return [r(1), r(0.1), r(0.01), r(1e-4, true)];
}

test("the SIMD update equals the float32 formula on every element, across chunk boundaries and a ragged tail", () => {
  const k = { b1: f32(0.9), c1: f32(0.1), b2: f32(0.98), c2: f32(0.02), eps: f32(1e-8), negStep: f32(-1e-3), negDecay: f32(-1e-5) };
  for (const [m, scale] of [
    [1, 1],
    [0.5, 0.25],
    [0, 1],
  ] as const) {
    const n = 16384 * 2 + 7;
    const [p, g, ea, eas] = randomArrays(n, 3);
    const [p0, g0, ea0, eas0] = [p!.slice(), g!.slice(), ea!.slice(), eas!.slice()];
    adamwUpdate(p!, g!, ea!, eas!, m, scale, k);
    assert.deepEqual(g, g0, "the gradient is not modified");
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const gi = f32(f32(f32(g0[i]! * scale) * m) + f32(ea0[i]! * f32(1 - m)));
      const a = f32(f32(k.b1 * ea0[i]!) + f32(k.c1 * gi));
      const v = f32(f32(k.b2 * eas0[i]!) + f32(f32(k.c2 * gi) * gi));
      assert.equal(ea![i], a, `exp_avg[${i}]`);
      assert.equal(eas![i], v, `exp_avg_sq[${i}]`);
      const pi = f32(p0[i]! + f32(k.negStep * f32(f32(a * m) / f32(f32(Math.sqrt(v)) + k.eps))));
      const want = f32(pi + f32(k.negDecay * f32(pi * m)));
      worst = Math.max(worst, Math.abs(p![i]! - want));
    }
    assert.equal(worst, 0, `m=${m} scale=${scale}: largest parameter difference ${worst}`);
  }
});

test("gradScale gives the same step as gradients clipped in place, for every method", () => {
  for (const method of ["vanilla", "rose-first", "rose-second", "rose-ensemble"] as RoseMethod[]) {
    const rng = new Rng(7);
    const names = ["layer.0.weight", "layer.1.weight", "layer.0.bias", "head.weight"];
    const mk = (s: number) => new Map(names.map((n, i) => [n, Float32Array.from({ length: 37 + i * 5 }, () => rng.normal() * s)]));
    const params = mk(1);
    const a = new RoseAdamW({ lr: 1e-2, method, upper: 60, lower: 0, numWarmupSteps: 1 });
    const b = new RoseAdamW({ lr: 1e-2, method, upper: 60, lower: 0, numWarmupSteps: 1 });
    const pa = new Map([...params].map(([n, v]) => [n, v.slice()]));
    const pb = new Map([...params].map(([n, v]) => [n, v.slice()]));
    for (let step = 0; step < 4; step++) {
      const grads = mk(3);
      const kl = new Map(names.slice(0, 2).map((n, i) => [n, 1 + i + step]));
      const clipped = new Map([...grads].map(([n, v]) => [n, v.slice()]));
      const norm = clipGradNorm(clipped, 1);
      a.step({ params: pa, grads: clipped, klGradNorms: kl });
      b.step({ params: pb, grads, gradScale: clipCoefficient(norm, 1), klGradNorms: kl });
    }
    for (const n of names) assert.deepEqual(pb.get(n), pa.get(n), `${method} ${n}`);
  }
});

test("gradNorm and clipCoefficient follow clip_grad_norm_", () => {
  assert.equal(gradNorm([new Float32Array([3, 0, 0, 0, 4]), new Float32Array([])]), 5);
  assert.equal(clipCoefficient(5, 1), f32(1 / f32(5 + 1e-6)));
  assert.equal(clipCoefficient(0.5, 1), 1);
  assert.equal(clipCoefficient(NaN, 1), 1);
  assert.equal(clipCoefficient(5, 0), 1, "max_grad_norm 0 disables clipping, as in the Trainer");
  assert.throws(() => new RoseAdamW({ lr: 1 }).step({ params: new Map(), grads: new Map(), gradScale: 0 }), /gradient scale/);
});
