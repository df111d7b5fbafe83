import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, ops, Program } from "../../src/engine/index.ts";
import { EngineError, ShapeError } from "../../src/errors.ts";

async function dropoutProgram(p: number) {
  const g = new Graph();
  const x = g.input("x", "float32", ["batch", "seq"]);
  const a = ops.dropout(x, p);
  const b = ops.dropout(x, p);
  return Program.compile(g, { a, b }, { threads: 1 });
}

const ones = (n: number) => ({ data: new Float32Array(n).fill(1), dims: [n / 100, 100] });

test("dropout: keep rate, inverted scaling, reproducible from (seed, counter)", async () => {
  const prog = await dropoutProgram(0.1);
  const r1 = await prog.run({ x: ones(100_000) }, { seed: 1, counter: 0 });
  const a = r1.a!.data as Float32Array;
  let kept = 0;
  for (const v of a) {
    if (v !== 0) {
      kept++;
      assert.ok(Math.abs(v - 1 / 0.9) < 1e-6);
    }
  }
  assert.ok(Math.abs(kept / a.length - 0.9) < 0.005, `keep rate ${kept / a.length}`);
  const r2 = await prog.run({ x: ones(100_000) }, { seed: 1, counter: 0 });
  assert.deepEqual(r2.a!.data, a, "same seed and counter give the same mask");
  const r3 = await prog.run({ x: ones(100_000) }, { seed: 1, counter: 1 });
  assert.notDeepEqual(r3.a!.data, a, "a new counter gives a new mask");
  const r4 = await prog.run({ x: ones(100_000) }, { seed: 2, counter: 0 });
  assert.notDeepEqual(r4.a!.data, a, "a new seed gives a new mask");
});

test("dropout: two calls on the same input draw independent masks", async () => {
  const prog = await dropoutProgram(0.5);
  const r = await prog.run({ x: ones(100_000) }, { seed: 9, counter: 4 });
  const a = r.a!.data as Float32Array,
    b = r.b!.data as Float32Array;
  let both = 0,
    ka = 0,
    kb = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]) ka++;
    if (b[i]) kb++;
    if (a[i] && b[i]) both++;
  }
  const n = a.length;
  // Independence: P(both) = P(a) P(b) within sampling error.
  assert.ok(Math.abs(both / n - (ka / n) * (kb / n)) < 0.01, `joint ${both / n} vs ${(ka / n) * (kb / n)}`);
});

test("dropout: a graph with dropout demands a seed", async () => {
  const prog = await dropoutProgram(0.1);
  await assert.rejects(prog.run({ x: ones(200) }), EngineError);
});

test("shape errors name the op and both shapes", () => {
  const g = new Graph();
  const a = g.input("a", "float32", [2, 3]);
  const b = g.input("b", "float32", [4, 5]);
  assert.throws(
    () => ops.matmul(a, b),
    (e: Error) => e instanceof ShapeError && /MatMul/.test(e.message) && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message),
  );
  assert.throws(
    () => ops.add(a, b),
    (e: Error) => e instanceof ShapeError && /Add/.test(e.message),
  );
});

test("feeding a wrong shape is a clear error", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", ["batch", 3]);
  const w = g.param("w", [3, 2]);
  const prog = await Program.compile(g, { y: ops.matmul(x, w) }, { threads: 1 });
  await assert.rejects(
    prog.run({ x: { data: new Float32Array(8), dims: [2, 4] }, w: new Float32Array(6) }),
    /input x: expected \[batch, 3\], got \[2, 4\]/,
  );
  await assert.rejects(prog.run({ x: { data: new Float32Array(6), dims: [2, 3] }, w: new Float32Array(5) }), /input w/);
});
