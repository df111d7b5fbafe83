import { test } from "node:test";
import assert from "node:assert/strict";
import { emitModel } from "../../src/engine/emit.ts";
import { Graph, ops, Program } from "../../src/engine/index.ts";

const count = (bytes: Uint8Array, s: string) => Buffer.from(bytes).toString("latin1").split(s).length - 1;

test("emit: a node's result is the graph output itself; inputs and repeated outputs go through Identity", async () => {
  const build = () => {
    const g = new Graph();
    const x = g.input("x", "float32", [4]);
    const y = ops.exp(x);
    const z = ops.mul(y, y); // y is an output that also feeds another node
    return { g, outs: { y, z, passthrough: x, again: y } };
  };
  const { g, outs } = build();
  assert.equal(count(emitModel(g, outs).bytes, "Identity"), 2);

  const prog = await Program.compile(g, outs, { threads: 1 });
  const x = new Float32Array([0, 1, -1, 0.5]);
  const into = { y: { data: new Float32Array(4), dims: [4] } };
  const r = await prog.run({ x }, {}, into);
  const ey = x.map(Math.exp);
  assert.ok(r.y!.data === into.y.data, "the preallocated buffer is the output");
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs((r.y!.data as Float32Array)[i]! - ey[i]!) < 1e-6);
    assert.ok(Math.abs((r.z!.data as Float32Array)[i]! - ey[i]! * ey[i]!) < 1e-5);
    assert.equal((r.again!.data as Float32Array)[i], (r.y!.data as Float32Array)[i]);
  }
  assert.deepEqual([...(r.passthrough!.data as Float32Array)], [...x]);
  await prog.release();
});
