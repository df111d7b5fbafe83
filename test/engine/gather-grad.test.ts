import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, grad, ops, Program } from "../../src/engine/index.ts";

// An embedding table's gradient sums the rows' gradients per id. With many repeated ids (the [CLS] token,
// position 0, token type 0) a multi-threaded scatter-add loses updates; this checks exact, repeatable sums.
test("gather gradient: exact per-id sums with repeated and negative ids, identical run to run (2 threads)", async () => {
  const V = 1000,
    H = 64,
    N = 4096;
  const g = new Graph();
  const table = g.param("table", [V, H]);
  const idx = g.input("idx", "int64", [N]);
  const up = g.input("up", "float32", [N, H]);
  const [gt] = grad(ops.reduceSum(ops.mul(ops.gather(table, idx), up)), [table]);
  const prog = await Program.compile(g, { gt: gt! }, { threads: 2 });
  const ids = new BigInt64Array(N);
  for (let i = 0; i < N; i++) ids[i] = BigInt(i % 5 === 0 ? 0 : i % 11 === 0 ? -1 : (i * 31) % 60);
  const u = Float32Array.from({ length: N * H }, (_, i) => Math.sin(i));
  const expect = new Float64Array(V * H);
  for (let i = 0; i < N; i++) {
    const row = (Number(ids[i]) + V) % V;
    for (let h = 0; h < H; h++) expect[row * H + h]! += u[i * H + h]!;
  }
  const feeds = { table: new Float32Array(V * H), idx: { data: ids, dims: [N] }, up: { data: u, dims: [N, H] } };
  const first = (await prog.run(feeds)).gt!.data as Float32Array;
  let err = 0;
  for (let i = 0; i < V * H; i++) err = Math.max(err, Math.abs(first[i]! - expect[i]!));
  assert.ok(err < 1e-5, `max abs error ${err}`);
  for (let r = 0; r < 3; r++) {
    const again = (await prog.run(feeds)).gt!.data as Float32Array;
    assert.ok(
      again.every((v, i) => v === first[i]),
      "same gradient every run",
    );
  }
  await prog.release();
});
