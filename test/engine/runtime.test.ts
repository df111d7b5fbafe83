// The engine on another onnxruntime binding: onnxruntime-web's WebAssembly backend, in Node, against
// onnxruntime-node (registered by test/setup.ts). Programs keep the binding they were compiled with, so both
// run side by side in one process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, grad, ops, Program, Rng, type Tensor } from "../../src/engine/index.ts";
import { currentRuntime, type Runtime, setRuntime } from "../../src/engine/runtime.ts";
import { EngineError } from "../../src/errors.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";
import { nodeRuntime } from "../../src/node/runtime.ts";
import { webRuntime } from "../helpers/runtime-web.ts";
import { eligibleFrom } from "../../src/optim/rose.ts";
import { TrainStep } from "../../src/train/step.ts";
import { GOLDEN_BERT, goldenBatch } from "../helpers/synthetic.ts";

/** Runs `fn` with `rt` registered, then restores the registration. */
async function withRuntime<T>(rt: Runtime | null, fn: () => Promise<T>): Promise<T> {
  const previous = setRuntime(rt);
  try {
    return await fn();
  } finally {
    setRuntime(previous);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Largest |a - b| relative to `scale`, by default the largest |b| of the tensor: elements near zero (sums
 * that cancel) would make a per-element ratio meaningless.
 */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale = maxAbs(b)): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  return scale === 0 ? diff : diff / scale;
}

/** A two-layer network's loss and parameter gradients. */
function mlpGraph(): { g: Graph; outs: Record<string, Tensor>; shapes: Record<string, number[]> } {
  const g = new Graph();
  const x = g.input("x", "float32", ["batch", 5]);
  const y = g.input("y", "int64", ["batch"]);
  const shapes: Record<string, number[]> = { w1: [5, 7], b1: [7], w2: [7, 3], b2: [3] };
  const [w1, b1, w2, b2] = Object.entries(shapes).map(([n, s]) => g.param(n, s)) as [Tensor, Tensor, Tensor, Tensor];
  const logits = ops.add(ops.matmul(ops.tanh(ops.add(ops.matmul(x, w1), b1)), w2), b2);
  const loss = ops.neg(ops.reduceMean(ops.reduceSum(ops.mul(ops.oneHot(y, 3), ops.logSoftmax(logits)), [-1])));
  const grads = grad(loss, [w1, b1, w2, b2]);
  const outs: Record<string, Tensor> = { loss, logits };
  Object.keys(shapes).forEach((n, i) => {
    outs[`grad/${n}`] = grads[i]!;
  });
  return { g, outs, shapes };
}

test("gradients run into preallocated buffers on onnxruntime-web equal onnxruntime-node's", async (t) => {
  const rng = new Rng(5);
  const { shapes } = mlpGraph();
  const feeds: Record<string, Float32Array | { data: Float32Array | BigInt64Array; dims: number[] }> = {
    x: { data: Float32Array.from({ length: 6 * 5 }, () => rng.normal()), dims: [6, 5] },
    y: { data: BigInt64Array.from([0n, 1n, 2n, 2n, 1n, 0n]), dims: [6] },
  };
  for (const [n, s] of Object.entries(shapes)) feeds[n] = Float32Array.from({ length: s.reduce((a, d) => a * d, 1) }, () => rng.normal());
  const results = [];
  for (const rt of [nodeRuntime, webRuntime]) {
    const { g, outs } = mlpGraph();
    const prog = await withRuntime(rt, () => Program.compile(g, outs, { threads: 1 }));
    const into = Object.fromEntries(
      Object.entries(shapes).map(([n, s]) => [`grad/${n}`, { data: new Float32Array(s.reduce((a, d) => a * d, 1)), dims: s }]),
    );
    const r = await prog.run(feeds, {}, into);
    for (const [k, t] of Object.entries(into)) assert.equal(r[k], t, `${rt.name}: ${k} is returned in the caller's buffer`);
    results.push(r);
    await prog.release();
  }
  const [node, web] = results as [(typeof results)[0], (typeof results)[0]];
  for (const k of ["loss", "logits", ...Object.keys(shapes).map((n) => `grad/${n}`)]) {
    const a = web[k]!.data as Float32Array,
      b = node[k]!.data as Float32Array;
    assert.ok(
      b.some((v) => v !== 0),
      `${k} is not all zero on onnxruntime-node`,
    );
    const d = relDiff(a, b);
    assert.ok(d <= 1e-4, `${k}: onnxruntime-web differs from onnxruntime-node by ${d} (relative)`);
    t.diagnostic(`${k}: relative difference ${d}`);
  }
});

test("one vanilla training step of the golden BERT on onnxruntime-web matches onnxruntime-node: loss and every gradient", async (t) => {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  const batch = goldenBatch(GOLDEN_BERT);
  const opts = {
    method: "vanilla",
    klDropout: 0.1,
    rdropAlpha: 0,
    eligible: eligibleFrom(),
    granularity: "tensor",
    regression: false,
    threads: 1,
  } as const;
  // With the config's dropout (0.1): both bindings read the same host-side masks.
  const node = await withRuntime(nodeRuntime, () => TrainStep.build(model, opts));
  const web = await withRuntime(webRuntime, () => TrainStep.build(model, opts));
  const rng = { seed: 3, counter: 0 };
  const a = await node.run(batch, model.params, rng);
  const b = await web.run(batch, model.params, rng);
  assert.ok(Math.abs(b.loss - a.loss) <= 1e-4 * Math.abs(a.loss), `loss: web ${b.loss}, node ${a.loss}`);
  assert.ok(Math.abs(b.gradNorm - a.gradNorm) <= 1e-4 * a.gradNorm, `gradient norm: web ${b.gradNorm}, node ${a.gradNorm}`);
  assert.equal(b.grads.size, model.params.size, "every parameter has a gradient");
  // Attention key biases get a gradient that is zero up to rounding (softmax ignores a constant added to a
  // query's scores): theirs is compared with the largest gradient of the model instead.
  const largest = Math.max(...[...a.grads.values()].map(maxAbs));
  let worst = 0;
  for (const [n, g] of a.grads) {
    const own = maxAbs(g);
    const d = relDiff(b.grads.get(n)!, g, own < 1e-6 * largest ? largest : own);
    worst = Math.max(worst, d);
    assert.ok(d <= 1e-4, `grad ${n}: onnxruntime-web differs from onnxruntime-node by ${d} (relative)`);
  }
  t.diagnostic(`loss ${a.loss} vs ${b.loss}; largest relative gradient difference ${worst}`);
});

test("a program keeps the binding it was compiled with after another is registered", async () => {
  const g = new Graph();
  const table = g.param("table", [4, 2]);
  const ids = g.input("ids", "int64", [3]);
  const prog = await withRuntime(webRuntime, () => Program.compile(g, { rows: ops.gather(table, ids) }, { threads: 1 }));
  assert.equal(currentRuntime(), nodeRuntime);
  const feeds = { table: new Float32Array(8), ids: BigInt64Array.from([0n, 1n, 9n]) };
  await assert.rejects(prog.run(feeds), (e: Error) => e instanceof EngineError && e.message.startsWith("onnxruntime-web failed"));
});

test("with no binding registered, compiling says how to register one", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [2]);
  await withRuntime(null, () =>
    assert.rejects(
      Program.compile(g, { y: ops.neg(x) }),
      (e: Error) => e instanceof EngineError && /no onnxruntime binding is registered: in Node import "rose"/.test(e.message),
    ),
  );
});
