// The masked-LM objective computes only the predicted positions in the last layer: the same loss and
// gradients as the full last layer followed by a gather of those positions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, grad, ops, Program, Rng } from "../../src/engine/index.ts";
import type { HostTensor, Tensor } from "../../src/engine/index.ts";
import { loadModelConfig } from "../../src/io/config.ts";
import { Architecture, ParamScope } from "../../src/models/index.ts";
import { crossEntropy } from "../../src/models/losses.ts";
import { maskedLm, mlmFeeds } from "../../src/pretrain/masked-lm.ts";
import { dirFiles } from "../../src/node/files.ts";

const GOLDEN_BERT = new URL("../fixtures/golden/models/bert", import.meta.url).pathname;

test("mlmFeeds: each sequence's predictions in its own row of mlm_rows, padded; mlm_positions point back to them", () => {
  // batch 3, seq 5: sequence 1 has no prediction.
  const positions = [1, 3, 4, 11, 13];
  const f = mlmFeeds(3, 5, positions, BigInt64Array.from([7n, 8n, 9n, 10n, 11n]));
  assert.deepEqual(f.mlm_rows!.dims, [3, 3]);
  assert.deepEqual([...f.mlm_rows!.data].map(Number), [1, 3, 4, 5, 5, 5, 11, 13, 11]);
  const rows = f.mlm_rows!.data as BigInt64Array;
  assert.deepEqual(
    [...f.mlm_positions!.data].map((i) => Number(rows[Number(i)])),
    positions,
  );
  assert.deepEqual([...f.mlm_labels!.data].map(Number), [7, 8, 9, 10, 11]);
});

test("maskedLm: loss and every gradient equal the full last layer's", async () => {
  const cfg = loadModelConfig(dirFiles(GOLDEN_BERT));
  const arch = new Architecture(cfg);
  const B = 3,
    T = 12;
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const ctx = { scope, train: false };
  const objective = maskedLm(g, arch);
  const reduced = objective.loss(objective.head(ctx, arch.encode(ctx, inputs, { queries: objective.queries }), inputs.attentionMask));
  // Reference: every position through the last layer, then the predicted rows by their flat positions.
  const flat = g.input("flat_positions", "int64", ["predicted"]);
  const full = crossEntropy(
    arch.mlmLogits(ctx, ops.gather(ops.reshape(arch.encode(ctx, inputs), [-1, cfg.hiddenSize]), flat)),
    g.input("mlm_labels_ref", "int64", ["predicted"]),
  );
  const names = [...scope.tensors.keys()];
  const gr = grad(
    reduced,
    names.map((n) => scope.tensors.get(n)!),
  );
  const gf = grad(
    full,
    names.map((n) => scope.tensors.get(n)!),
  );
  const outs: Record<string, Tensor> = { reduced, full };
  names.forEach((n, i) => {
    outs[`r/${n}`] = gr[i]!;
    outs[`f/${n}`] = gf[i]!;
  });
  const prog = await Program.compile(g, outs, { threads: 1 });

  const rng = new Rng(11, 2);
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(1 + rng.int(cfg.vocabSize - 1)));
  const mask = new BigInt64Array(B * T).fill(1n);
  for (const i of [T - 1, T - 2, 2 * T - 1]) mask[i] = 0n;
  const positions = [1, 4, 5, 9, 2 * T + 0, 2 * T + 7]; // sequence 1 predicts nothing
  const labels = BigInt64Array.from(positions, (p) => ids[p]!);
  const feeds: Record<string, HostTensor | Float32Array> = {
    input_ids: { data: ids, dims: [B, T] },
    attention_mask: { data: mask, dims: [B, T] },
    token_type_ids: { data: new BigInt64Array(B * T), dims: [B, T] },
    ...mlmFeeds(B, T, positions, labels),
    flat_positions: { data: BigInt64Array.from(positions.map(BigInt)), dims: [positions.length] },
    mlm_labels_ref: { data: labels, dims: [labels.length] },
  };
  for (const n of names) {
    const shape = scope.tensors.get(n)!.shape as number[];
    feeds[n] = Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => 0.5 * rng.normal());
  }
  const r = await prog.run(feeds);
  assert.equal(r.reduced!.data[0], r.full!.data[0], "the forward pass computes the same rows the same way");
  for (const n of names) {
    const a = r[`r/${n}`]!.data as Float32Array,
      b = r[`f/${n}`]!.data as Float32Array;
    let scale = 0,
      diff = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(b[i]!));
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    }
    assert.ok(diff <= 1e-5 * Math.max(scale, 1e-3), `${n}: max difference ${diff} (largest gradient ${scale})`);
  }
});
