// The losses against their definitions: the fused cross-entropy equals logSoftmax x one-hot (the composed
// form it replaced) in value and gradient, and the masked one ignores the -100 positions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, grad, ops, Program, Rng } from "../../src/engine/index.ts";
import { crossEntropy, maskedCrossEntropy } from "../../src/models/losses.ts";
import { crossEntropyOfLogits } from "../../src/infer/predictor.ts";

const R = 6,
  C = 7;

function logitsData(seed: number, n: number): Float32Array {
  const rng = new Rng(seed, 1);
  return Float32Array.from({ length: n }, () => 3 * rng.normal());
}

test("crossEntropy equals -mean(sum(onehot * logSoftmax)) in value and gradient, bit for bit", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [R, C]);
  const y = g.input("y", "int64", [R]);
  const fused = crossEntropy(x, y);
  const composed = ops.neg(ops.reduceMean(ops.reduceSum(ops.mul(ops.oneHot(y, C), ops.logSoftmax(x)), [-1])));
  const [gf] = grad(fused, [x]);
  const [gc] = grad(composed, [x]);
  const prog = await Program.compile(g, { fused, composed, gf: gf!, gc: gc! }, { threads: 1 });
  const r = await prog.run({ x: logitsData(3, R * C), y: BigInt64Array.from([0, 6, 3, 3, 1, 5].map(BigInt)) });
  assert.deepEqual(r.fused!.data, r.composed!.data);
  assert.deepEqual(r.gf!.data, r.gc!.data);
});

test("maskedCrossEntropy averages over the labelled positions only; ignored positions get no gradient", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [2, 3, C]);
  const y = g.input("y", "int64", [2, 3]);
  const loss = maskedCrossEntropy(x, y);
  const [gx] = grad(loss, [x]);
  const prog = await Program.compile(g, { loss, gx: gx! }, { threads: 1 });
  const data = logitsData(5, 2 * 3 * C);
  const labels = [2, -100, 6, -100, -100, 0];
  const r = await prog.run({ x: { data, dims: [2, 3, C] }, y: { data: BigInt64Array.from(labels.map(BigInt)), dims: [2, 3] } });
  let sum = 0,
    count = 0;
  labels.forEach((l, i) => {
    if (l === -100) return;
    const row = Array.from(data.subarray(i * C, (i + 1) * C));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    sum += lse - row[l]!;
    count++;
  });
  const loss0 = r.loss!.data[0] as number;
  assert.ok(Math.abs(loss0 - sum / count) < 1e-5, `loss ${loss0} vs ${sum / count}`);
  const gd = r.gx!.data as Float32Array;
  labels.forEach((l, i) => {
    const row = Array.from(gd.subarray(i * C, (i + 1) * C));
    if (l === -100)
      assert.ok(
        row.every((v) => v === 0),
        `row ${i} is ignored but has gradient ${row}`,
      );
    else assert.ok(Math.abs(row.reduce((a, v) => a + v, 0)) < 1e-6, `row ${i}: softmax - onehot sums to 0`);
  });
});

test("the host-side cross-entropy (sweep loss, landscapes) is the graph's crossEntropy", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [R, C]);
  const y = g.input("y", "int64", [R]);
  const prog = await Program.compile(g, { loss: crossEntropy(x, y) }, { threads: 1 });
  const data = logitsData(9, R * C);
  const labels = [1, 0, 6, 2, 2, 4];
  const r = await prog.run({ x: data, y: BigInt64Array.from(labels.map(BigInt)) });
  const host = labels.reduce((a, l, i) => a + crossEntropyOfLogits(data.subarray(i * C, (i + 1) * C), l), 0) / R;
  const graph = r.loss!.data[0] as number;
  assert.ok(Math.abs(host - graph) < 1e-5, `host ${host} vs graph ${graph}`);
  // Large logits: the maximum is subtracted first, so nothing overflows.
  assert.ok(Math.abs(crossEntropyOfLogits([1000, 0], 1) - 1000) < 1e-9);
  assert.equal(crossEntropyOfLogits([0, 0], 0), Math.log(2));
});
