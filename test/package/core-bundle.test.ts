// The portable core (src/core.ts) bundles for browsers with no Node built-in and no native addon, and the
// bundle trains: a ROSE first-order step of the golden BERT through onnxruntime-web (WebAssembly, here in
// Node) gives the loss, gradients, masks and updated weights that the sources give on onnxruntime-node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";
import { nativeTokenizerEngine } from "../../src/node/tokenizer-engine.ts";
import { eligibleFrom } from "../../src/optim/rose.ts";
import { RoseAdamW } from "../../src/optim/adamw.ts";
import { TrainStep } from "../../src/train/step.ts";
import { webRuntime } from "../helpers/runtime-web.ts";
import { GOLDEN_BERT, goldenBatch } from "../helpers/synthetic.ts";

const CORE = new URL("../../src/core.ts", import.meta.url).pathname;

type Core = typeof import("../../src/core.ts");

async function bundleCore(): Promise<{ code: string; inputs: string[] }> {
  const r = await build({
    entryPoints: [CORE],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return { code: r.outputFiles[0]!.text, inputs: Object.keys(r.metafile.inputs) };
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale: number): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return scale === 0 ? d : d / scale;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

test("the core bundles for the browser without Node built-ins, native addons or onnxruntime-node", async () => {
  // esbuild refuses `node:` imports on the browser platform, so a successful build already says most of it.
  const { code, inputs } = await bundleCore();
  const offending = inputs.filter((p) => /^node:|node_modules\/(onnxruntime-node|tokenizers)\/|^src\/node\//.test(p));
  assert.deepEqual(offending, []);
  assert.ok(!/\brequire\(|from "node:/.test(code), "the bundle requires or imports a Node module");
});

test("a ROSE first-order step from the bundled core on onnxruntime-web matches the sources on onnxruntime-node", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "rose-core-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "core.mjs");
  writeFileSync(file, (await bundleCore()).code);
  const core = (await import(pathToFileURL(file).href)) as Core;
  core.setRuntime(webRuntime);
  core.setTokenizerEngine(nativeTokenizerEngine);

  // The model folder as a browser holds it: bytes in memory.
  const files = new core.MemoryFiles(
    "golden bert",
    readdirSync(GOLDEN_BERT).map((f) => [f, readFileSync(join(GOLDEN_BERT, f))]),
  );
  const webModel = await core.PretrainedModel.load(files);
  const nodeModel = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  assert.deepEqual(await webModel.tokenizer!.encode("the movie was good"), await nodeModel.tokenizer!.encode("the movie was good"));

  const stepOpts = { method: "rose-first", klDropout: 0.1, rdropAlpha: 0, granularity: "tensor", regression: false, threads: 1 } as const;
  const web = await core.TrainStep.build(webModel, { ...stepOpts, eligible: core.eligibleFrom() });
  const node = await TrainStep.build(nodeModel, { ...stepOpts, eligible: eligibleFrom() });
  const batch = goldenBatch(GOLDEN_BERT);
  const rng = { seed: 7, counter: 0 };
  const a = await node.run(batch, nodeModel.params, rng);
  const b = await web.run(batch, webModel.params, rng);
  assert.ok(Math.abs(b.loss - a.loss) <= 1e-4 * Math.abs(a.loss), `loss: bundle on web ${b.loss}, sources on node ${a.loss}`);
  // Attention key biases get gradients that are zero up to rounding: compared with the model's largest.
  const largest = Math.max(...[...a.grads.values()].map(maxAbs));
  for (const [n, g] of a.grads) {
    const own = maxAbs(g);
    const d = relDiff(b.grads.get(n)!, g, own < 1e-6 * largest ? largest : own);
    assert.ok(d <= 1e-4, `grad ${n}: ${d} relative`);
  }
  for (const [n, v] of a.klGradNorms!) assert.ok(Math.abs(b.klGradNorms!.get(n)! - v) <= 1e-4 * v, `KL gradient norm of ${n}`);

  // The optimizer step: the same masks and, within float rounding, the same weights.
  const optOpts = { lr: 1e-3, weightDecay: 0.01, method: "rose-first", upper: 60, lower: 0 } as const;
  const webInfo = new core.RoseAdamW(optOpts).step({ params: webModel.params, grads: b.grads, klGradNorms: b.klGradNorms! });
  const nodeInfo = new RoseAdamW(optOpts).step({ params: nodeModel.params, grads: a.grads, klGradNorms: a.klGradNorms! });
  assert.deepEqual([...webInfo.mask], [...nodeInfo.mask]);
  assert.ok(nodeInfo.maskApplied && [...nodeInfo.mask.values()].includes(0), "the step masked some tensors");
  for (const [n, p] of nodeModel.params) {
    const d = relDiff(webModel.params.get(n)!, p, 1);
    // Adam's first step moves each weight by lr times the sign of its gradient: where the gradient is
    // rounding noise (the key biases), the two bindings may move it either way.
    const noise = maxAbs(a.grads.get(n)!) < 1e-6 * largest;
    assert.ok(noise ? d <= 2 * optOpts.lr * 1.01 : d <= 1e-4 * maxAbs(p), `updated weights of ${n}: ${d}`);
  }
});
