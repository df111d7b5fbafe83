// Replays the reference optimizer recordings in test/fixtures/golden/rose (copied from ../shared/golden): masks, parameters and moments after
// each of six steps must match the PyTorch reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../src/node/safetensors.ts";
import { RoseAdamW, paramOrder, type RoseMethod } from "../../src/optim/adamw.ts";
import { linearSchedule } from "../../src/optim/schedule.ts";

const ROOT = fileURLToPath(new URL("../fixtures/golden/rose/", import.meta.url));

interface LogEntry {
  step: number;
  lr: number;
  kl_grad_norms?: Record<string, number>;
  first_mask?: Record<string, number>;
  second_saliency?: Record<string, number>;
  mask?: Record<string, number>;
  mask_applied?: boolean;
}

interface Recording {
  steps: number;
  num_warmup_steps: number;
  upper: number;
  lower: number;
  gamma: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  param_order: string[];
  selected: string[];
  log: LogEntry[];
}

const VARIANTS: [string, RoseMethod][] = [
  ["vanilla", "vanilla"],
  ["first", "rose-first"],
  ["second", "rose-second"],
  ["ensemble", "rose-ensemble"],
];

function f32(tensors: Map<string, { data: unknown }>, name: string): Float32Array {
  const t = tensors.get(name);
  assert.ok(t, `golden tensor ${name} missing`);
  assert.ok(t.data instanceof Float32Array);
  return t.data;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function assertMapEqual(got: Map<string, number> | undefined, want: Record<string, number>, what: string): void {
  assert.ok(got, `${what} missing`);
  assert.deepEqual([...got.keys()].sort(), Object.keys(want).sort(), `${what}: tensor names`);
  for (const [n, v] of Object.entries(want)) assert.equal(got.get(n), v, `${what} ${n}`);
}

for (const [dir, method] of VARIANTS) {
  test(`golden replay: ${dir}`, () => {
    const rec = JSON.parse(readFileSync(`${ROOT}${dir}/steps.json`, "utf8")) as Recording;
    const initial = readSafetensors(`${ROOT}${dir}/initial.safetensors`).tensors;
    const steps = readSafetensors(`${ROOT}${dir}/steps.safetensors`).tensors;

    // Parameters in model order would be scrambled by the file's alphabetical order; any order must give
    // the reference iteration order (decay group first), so feed the alphabetical one.
    const params = new Map<string, Float32Array>();
    for (const n of [...initial.keys()].sort()) params.set(n, f32(initial, n).slice());
    const opt = new RoseAdamW({
      lr: 1,
      betas: rec.betas,
      eps: rec.eps,
      weightDecay: rec.weight_decay,
      method,
      upper: rec.upper,
      lower: rec.lower,
      gamma: rec.gamma,
      numWarmupSteps: rec.num_warmup_steps,
    });
    const orderFromModel = paramOrder(
      rec.param_order
        .filter((n) => !n.includes("LayerNorm") && !n.endsWith("bias"))
        .concat(rec.param_order.filter((n) => n.includes("LayerNorm") || n.endsWith("bias"))),
    );
    assert.deepEqual(orderFromModel, rec.param_order);
    assert.deepEqual(
      rec.param_order.filter((n) => opt.isEligible(n)),
      rec.selected,
    );

    const sched = linearSchedule({ baseLr: rec.log[0]!.lr, warmupSteps: 0, totalSteps: rec.steps });
    let worst = 0;
    for (const entry of rec.log) {
      const k = entry.step;
      assert.equal(sched(k - 1), entry.lr, `schedule lr at step ${k}`);
      const grads = new Map<string, Float32Array>();
      for (const n of params.keys()) grads.set(n, f32(steps, `step${k}/grad/${n}`));
      const kl = entry.kl_grad_norms ? new Map(Object.entries(entry.kl_grad_norms)) : undefined;
      assert.equal(
        opt.selector!.firstOrder && opt.willApplyMask(),
        kl !== undefined && entry.mask_applied === true,
        `KL gradients needed at step ${k}`,
      );
      const info = opt.step({ params, grads, lr: entry.lr, klGradNorms: kl });

      assert.equal(info.step, k);
      assert.equal(info.maskApplied, entry.mask_applied ?? false, `mask_applied at step ${k}`);
      if (entry.mask) assertMapEqual(info.mask, entry.mask, `step ${k} mask`);
      else assert.equal(info.mask.size, 0);
      if (entry.first_mask) assertMapEqual(info.firstMask, entry.first_mask, `step ${k} first_mask`);
      else assert.equal(info.firstMask, undefined);
      if (entry.second_saliency) {
        assert.ok(info.secondSaliency, `step ${k} second_saliency missing`);
        for (const [n, v] of Object.entries(entry.second_saliency)) {
          const got = info.secondSaliency.get(n)!;
          assert.ok(Math.abs(got - v) <= 1e-5 * Math.abs(v), `step ${k} second_saliency ${n}: ${got} vs ${v}`);
        }
      } else assert.equal(info.secondSaliency, undefined);
      const expectFrac =
        entry.mask && entry.mask_applied
          ? (() => {
              let live = 0,
                total = 0;
              for (const [n, p] of params) {
                total += p.length;
                if ((entry.mask![n] ?? 1) > 0) live += p.length;
              }
              return live / total;
            })()
          : 1;
      assert.equal(info.fractionUpdated, expectFrac);

      const st = opt.state();
      for (const [n, p] of params) {
        for (const [kind, got] of [
          ["param", p],
          ["exp_avg", st.expAvg.get(n)!],
          ["exp_avg_sq", st.expAvgSq.get(n)!],
        ] as const) {
          const d = maxAbsDiff(got, f32(steps, `step${k}/${kind}/${n}`));
          worst = Math.max(worst, d);
          assert.ok(d <= 1e-6, `step ${k} ${kind} ${n}: max abs diff ${d}`);
        }
        assert.equal(st.steps.get(n), k);
      }
    }
    assert.ok(worst < 1e-6);
  });
}
