// Every op's gradient against central finite differences, in float64 where onnxruntime has a float64
// kernel for the op, otherwise float32 with a looser, stated tolerance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, grad, ops, Program, Rng } from "../../src/engine/index.ts";
import type { DType, Tensor } from "../../src/engine/index.ts";
import { EngineError } from "../../src/errors.ts";

interface InputSpec {
  shape: number[];
  /** Integer inputs get values in [0, int). */
  int?: number;
  /** Keep values positive (log, sqrt, pow bases). */
  positive?: boolean;
  /** Not differentiated (e.g. a bool condition built inside fn). */
  noGrad?: boolean;
}

interface Case {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  /** Forces float32 (ops with float-only kernels). */
  float32Only?: boolean;
}

const cases: Case[] = [
  { name: "add broadcast", inputs: [{ shape: [2, 3] }, { shape: [3] }], fn: ops.add },
  { name: "sub broadcast", inputs: [{ shape: [2, 1] }, { shape: [2, 3] }], fn: ops.sub },
  { name: "mul broadcast rank", inputs: [{ shape: [2, 2, 3] }, { shape: [2, 1, 3] }], fn: ops.mul },
  { name: "div", inputs: [{ shape: [2, 3] }, { shape: [2, 3], positive: true }], fn: ops.div },
  { name: "neg", inputs: [{ shape: [4] }], fn: ops.neg },
  { name: "sqrt", inputs: [{ shape: [4], positive: true }], fn: ops.sqrt },
  { name: "exp", inputs: [{ shape: [4] }], fn: ops.exp },
  { name: "log", inputs: [{ shape: [4], positive: true }], fn: ops.log },
  { name: "erf", inputs: [{ shape: [5] }], fn: ops.erf },
  { name: "tanh", inputs: [{ shape: [5] }], fn: ops.tanh },
  { name: "relu", inputs: [{ shape: [6] }], fn: ops.relu },
  { name: "gelu", inputs: [{ shape: [2, 5] }], fn: ops.gelu, float32Only: true },
  { name: "matmul 2d", inputs: [{ shape: [3, 4] }, { shape: [4, 2] }], fn: (a, b) => ops.matmul(a, b) },
  { name: "matmul batched x weight", inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], fn: (a, b) => ops.matmul(a, b) },
  { name: "matmul batched", inputs: [{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }], fn: (a, b) => ops.matmul(a, b) },
  {
    name: "matmul transB alpha (FusedMatMul)",
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }],
    fn: (a, b) => ops.matmul(a, b, { transB: true, alpha: 0.5 }),
    float32Only: true,
  },
  {
    name: "matmul transA (FusedMatMul)",
    inputs: [{ shape: [4, 3] }, { shape: [4, 2] }],
    fn: (a, b) => ops.matmul(a, b, { transA: true }),
    float32Only: true,
  },
  {
    name: "matmul transA transB (FusedMatMul)",
    inputs: [{ shape: [4, 3] }, { shape: [2, 4] }],
    fn: (a, b) => ops.matmul(a, b, { transA: true, transB: true }),
    float32Only: true,
  },
  {
    name: "matmul weight transB (FusedMatMul)",
    inputs: [{ shape: [2, 3, 4] }, { shape: [5, 4] }],
    fn: (a, b) => ops.matmul(a, b, { transB: true }),
    float32Only: true,
  },
  {
    name: "linear (Gemm) on 2-D input",
    inputs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }],
    fn: (x, w, b) => ops.linear(x, w, b),
  },
  {
    name: "linear (Gemm) on batched input",
    inputs: [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }],
    fn: (x, w, b) => ops.linear(x, w, b),
  },
  { name: "softmax", inputs: [{ shape: [2, 5] }], fn: (x) => ops.softmax(x) },
  { name: "logsoftmax", inputs: [{ shape: [2, 5] }], fn: (x) => ops.logSoftmax(x) },
  { name: "reduceSum axes", inputs: [{ shape: [2, 3, 4] }], fn: (x) => ops.reduceSum(x, [1]) },
  { name: "reduceSum keepdims", inputs: [{ shape: [2, 3, 4] }], fn: (x) => ops.reduceSum(x, [0, 2], true) },
  { name: "reduceSum all", inputs: [{ shape: [2, 3] }], fn: (x) => ops.reduceSum(x) },
  { name: "sumRows (matmul with ones)", inputs: [{ shape: [2, 3, 4] }], fn: (x) => ops.sumRows(x) },
  { name: "add broadcast [1, C] over rank 3 (row-sum gradient)", inputs: [{ shape: [2, 3, 4] }, { shape: [1, 4] }], fn: ops.add },
  { name: "reduceMean", inputs: [{ shape: [2, 3, 4] }], fn: (x) => ops.reduceMean(x, [-1]) },
  { name: "reduceSumSquare / l2norm", inputs: [{ shape: [3, 4] }], fn: (x) => ops.l2norm(x) },
  { name: "reshape", inputs: [{ shape: [2, 6] }], fn: (x) => ops.reshape(x, [3, -1]) },
  { name: "reshape copy dims", inputs: [{ shape: [2, 3, 4] }], fn: (x) => ops.reshape(x, [0, 0, 2, 2]) },
  { name: "transpose", inputs: [{ shape: [2, 3, 4] }], fn: (x) => ops.transpose(x, [2, 0, 1]) },
  {
    name: "unsqueeze/squeeze",
    inputs: [{ shape: [3, 2] }],
    fn: (x) => ops.mul(ops.unsqueeze(x, [1]), ops.squeeze(ops.unsqueeze(x, [0]), [0])),
  },
  { name: "slice", inputs: [{ shape: [3, 5] }], fn: (x) => ops.slice(x, 1, 1, 3) },
  { name: "slice to end", inputs: [{ shape: [2, 4, 3] }], fn: (x) => ops.slice(x, 1, 2) },
  { name: "first token", inputs: [{ shape: [2, 4, 3] }], fn: (x) => ops.squeeze(ops.slice(x, 1, 0, 1), [1]) },
  { name: "concat", inputs: [{ shape: [2, 3] }, { shape: [2, 2] }], fn: (a, b) => ops.concat([a, b], 1) },
  { name: "gather (embedding)", inputs: [{ shape: [5, 3] }, { shape: [2, 4], int: 5 }], fn: (w, i) => ops.gather(w, i) },
  { name: "cast", inputs: [{ shape: [4] }], fn: (x) => ops.mul(ops.cast(ops.cast(x, "float64"), x.dtype), x), float32Only: true },
  { name: "where", inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], fn: (a, b) => ops.where(ops.greater(a, b), ops.mul(a, a), ops.exp(b)) },
  { name: "expandAs", inputs: [{ shape: [1, 3] }, { shape: [4, 3], noGrad: true }], fn: (a, b) => ops.mul(ops.expandAs(a, b), b) },
  { name: "layerNorm", inputs: [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }], fn: (x, w, b) => ops.layerNorm(x, w, b, 1e-5) },
  {
    name: "cross-entropy on integer labels",
    inputs: [{ shape: [3, 4] }, { shape: [3], int: 4 }],
    fn: (logits, labels) =>
      ops.neg(ops.reduceMean(ops.reduceSum(ops.mul(ops.oneHot(labels, 4, logits.dtype), ops.logSoftmax(logits)), [-1]))),
  },
  {
    name: "softmax cross-entropy (fused)",
    inputs: [{ shape: [3, 5] }, { shape: [3], int: 5 }],
    fn: (logits, labels) => ops.softmaxCrossEntropy(logits, labels),
  },
  {
    name: "KL divergence",
    inputs: [{ shape: [3, 4] }, { shape: [3, 4] }],
    fn: (a, b) => {
      const p = ops.logSoftmax(a),
        q = ops.logSoftmax(b);
      return ops.reduceSum(ops.mul(ops.exp(q), ops.sub(q, p)));
    },
  },
  { name: "dropout (fixed seed and counter)", inputs: [{ shape: [4, 6] }], fn: (x) => ops.dropout(ops.mul(x, x), 0.3), float32Only: true },
  { name: "fan-out accumulation", inputs: [{ shape: [3] }], fn: (x) => ops.add(ops.mul(x, x), ops.mul(ops.exp(x), x)) },
];

function values(spec: InputSpec, rng: Rng, dtype: DType): Float64Array | Float32Array | BigInt64Array {
  const n = spec.shape.reduce((a, d) => a * d, 1);
  if (spec.int) return BigInt64Array.from({ length: n }, () => BigInt(rng.int(spec.int!)));
  const arr = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) arr[i] = spec.positive ? 0.5 + rng.next() : rng.normal();
  return arr;
}

async function check(c: Case, dtype: DType): Promise<void> {
  const rng = new Rng(7, c.name.length);
  const g = new Graph();
  const xs = c.inputs.map((s, i) => g.input(`x${i}`, s.int ? "int64" : dtype, s.shape));
  const out = c.fn(...xs);
  const n = out.shape.reduce<number>((a, d) => a * (d as number), 1);
  const cotData =
    dtype === "float64" ? Float64Array.from({ length: n }, () => rng.normal()) : Float32Array.from({ length: n }, () => rng.normal());
  const cot = g.constant(cotData, out.shape as number[], dtype);
  const loss = ops.reduceSum(ops.mul(out, cot));
  const diff = c.inputs.map((s, i) => (!s.int && !s.noGrad ? i : -1)).filter((i) => i >= 0);
  const grads = grad(
    loss,
    diff.map((i) => xs[i]!),
  );
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((gr, k) => {
    assert.ok(gr, `${c.name}: no gradient for input ${diff[k]}`);
    outputs[`g${k}`] = gr;
  });
  const prog = await Program.compile(g, outputs, { threads: 1 });
  const fwd = await Program.compile(g, { loss }, { threads: 1 });
  const feeds: Record<string, { data: Float64Array | Float32Array | BigInt64Array; dims: number[] }> = {};
  c.inputs.forEach((s, i) => {
    feeds[`x${i}`] = { data: values(s, rng, dtype), dims: s.shape };
  });
  const runOpts = { seed: 3, counter: 5 };
  const res = await prog.run(feeds, runOpts);
  const eps = dtype === "float64" ? 1e-6 : 1e-2;
  const tol = dtype === "float64" ? 1e-6 : 3e-2;
  for (let k = 0; k < diff.length; k++) {
    const data = feeds[`x${diff[k]}`]!.data as Float64Array | Float32Array;
    const analytic = res[`g${k}`]!.data as Float64Array | Float32Array;
    assert.equal(analytic.length, data.length, `${c.name}: gradient ${k} has ${analytic.length} values for ${data.length} inputs`);
    for (let j = 0; j < data.length; j++) {
      const orig = data[j]!;
      data[j] = orig + eps;
      const lp = (await fwd.run(feeds, runOpts)).loss!.data[0] as number;
      data[j] = orig - eps;
      const lm = (await fwd.run(feeds, runOpts)).loss!.data[0] as number;
      data[j] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const a = analytic[j]!;
      const err = Math.abs(a - numeric) / Math.max(1, Math.abs(numeric));
      assert.ok(err <= tol, `${c.name} (${dtype}): d/dx${diff[k]}[${j}] analytic ${a} vs numeric ${numeric}`);
    }
  }
}

for (const c of cases) {
  test(`gradient: ${c.name}`, async () => {
    if (!c.float32Only) {
      try {
        await check(c, "float64");
        return;
      } catch (e) {
        // Fall back to float32 only where onnxruntime has no float64 kernel.
        if (!(e instanceof EngineError && /implementation|NOT_IMPLEMENTED|not supported/i.test(e.message))) throw e;
      }
    }
    await check(c, "float32");
  });
}

test("grad: an op without a gradient rule on the path is an error naming it; stopGradient passes nothing", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  assert.throws(() => grad(ops.reduceSum(ops.cumsum(x, 0)), [x]), /op CumSum .* has no gradient rule/);
  const [dx] = grad(ops.reduceSum(ops.mul(x, ops.stopGradient(x))), [x]);
  assert.ok(dx, "the un-stopped factor still has a gradient");
  assert.equal(grad(ops.reduceSum(ops.stopGradient(x)), [x])[0], null);
});

test("gelu gradient: the exact derivative to float32 precision, also where exp(x^2/2) overflows", async () => {
  const xs = [0, 1e-30, -1e-8, 1e-3, ...Array.from({ length: 801 }, (_, i) => -20 + i * 0.05), 13.4, -30, 100, -100];
  const g = new Graph();
  const x = g.input("x", "float32", [xs.length]);
  const [dx] = grad(ops.gelu(x), [x], g.constant(new Float32Array(xs.length).fill(1), [xs.length], "float32"));
  const prog = await Program.compile(g, { dx: dx! }, { threads: 1 });
  const got = (await prog.run({ x: Float32Array.from(xs) })).dx!.data as Float32Array;
  // erf in float64: Taylor series below 3, the erfc continued fraction above.
  const erf = (z: number): number => {
    const a = Math.abs(z);
    if (a >= 3) {
      let f = 0;
      for (let k = 60; k >= 1; k--) f = k / 2 / (a + f);
      return Math.sign(z) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
    }
    let s = 0,
      t = a;
    for (let k = 0; k < 200 && Math.abs(t) > 1e-18; ) {
      s += t / (2 * k + 1);
      k++;
      t *= (-a * a) / k;
    }
    return (Math.sign(z) * 2 * s) / Math.sqrt(Math.PI);
  };
  xs.forEach((v, i) => {
    const xf = Math.fround(v);
    const exact = 0.5 * (1 + erf(xf / Math.SQRT2)) + (xf * Math.exp((-xf * xf) / 2)) / Math.sqrt(2 * Math.PI);
    assert.ok(Math.abs(got[i]! - exact) < 3e-7, `gelu'(${v}) = ${got[i]}, exact ${exact}`);
  });
});
