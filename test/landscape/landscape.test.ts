import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readExamples } from "../../src/data/readers.ts";
import { customTask } from "../../src/data/tasks.ts";
import { filterNormalise, modelDirections, randomDirection } from "../../src/landscape/directions.ts";
import { computeLandscape, linspace, lossAndAccuracy } from "../../src/landscape/landscape.ts";
import { type LandscapeOptions, runLandscape } from "../../src/landscape/run.ts";
import { ConfigError } from "../../src/errors.ts";
import { circleMean, type Grid, sharpness } from "../../src/landscape/sharpness.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { encodeExamples } from "../../src/data/batches.ts";
import { predictLogits } from "../../src/infer/predictor.ts";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";
import { dirFiles } from "../../src/node/files.ts";

const norm = (a: Float32Array, from: number, to: number) => Math.sqrt(a.subarray(from, to).reduce((s, v) => s + v * v, 0));

test("filter normalisation: each row of a matrix gets its weight row's norm; rank-1 tensors and zero rows get zero", () => {
  const shapes = new Map<string, number[]>([
    ["w", [3, 4]],
    ["b", [3]],
    ["e", [2, 2, 2]],
  ]);
  const weights = new Map<string, Float32Array>([
    ["w", new Float32Array([1, 2, 3, 4, 0, 0, 0, 0, -5, 0.5, 0, 1])],
    ["b", new Float32Array([1, 2, 3])],
    ["e", new Float32Array([3, 4, 0, 0, 1, 1, 1, 1])],
  ]);
  const d = filterNormalise(randomDirection(shapes, 7, 0), weights, shapes);
  const w = weights.get("w")!,
    dw = d.get("w")!;
  for (let r = 0; r < 3; r++) assert.ok(Math.abs(norm(dw, r * 4, r * 4 + 4) - norm(w, r * 4, r * 4 + 4)) < 1e-5, `row ${r}`);
  assert.ok(
    [...dw.subarray(4, 8)].every((v) => v === 0),
    "a zero weight row gets a zero direction",
  );
  assert.ok(
    [...d.get("b")!].every((v) => v === 0),
    "biases are not perturbed",
  );
  // Rank 3: one slice per index of the first dimension (Li et al.'s filters).
  const e = weights.get("e")!,
    de = d.get("e")!;
  for (let r = 0; r < 2; r++) assert.ok(Math.abs(norm(de, r * 4, r * 4 + 4) - norm(e, r * 4, r * 4 + 4)) < 1e-5);
  // Rows of the raw direction keep their orientation (a positive rescaling).
  const raw = randomDirection(shapes, 7, 0).get("w")!;
  for (let i = 8; i < 12; i++) assert.equal(Math.sign(raw[i]!), Math.sign(dw[i]!));
});

test("random directions: seeded, per name (independent of parameter order), different per index", () => {
  const a = randomDirection(
    new Map([
      ["x", [4, 5]],
      ["y", [2, 3]],
    ]),
    3,
    0,
  );
  const b = randomDirection(
    new Map([
      ["y", [2, 3]],
      ["x", [4, 5]],
    ]),
    3,
    0,
  );
  assert.deepEqual(a.get("x"), b.get("x"));
  assert.deepEqual(a.get("y"), b.get("y"));
  const c = randomDirection(new Map([["x", [4, 5]]]), 3, 1);
  assert.notDeepEqual(a.get("x"), c.get("x"));
  const d = randomDirection(new Map([["x", [4, 5]]]), 4, 0);
  assert.notDeepEqual(a.get("x"), d.get("x"));
  // Standard normal entries: mean near 0, variance near 1 over a larger tensor.
  const big = randomDirection(new Map([["z", [100, 100]]]), 1, 0).get("z")!;
  const mean = big.reduce((s, v) => s + v, 0) / big.length;
  const variance = big.reduce((s, v) => s + (v - mean) ** 2, 0) / big.length;
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

function bowl(l0: number, c: number, n = 51, half = 0.25, twoD = true): Grid {
  const xs = linspace(-half, half, n),
    ys = twoD ? xs : [0];
  return { xs, ys, values: ys.map((y) => xs.map((x) => l0 + c * (x * x + y * y))) };
}

test("sharpness on a known bowl L = L0 + c r^2: rise@r = c r^2, max rise at the corners, width sqrt(L0 / c)", () => {
  const g = bowl(0.1, 4);
  const s = sharpness(g, 0.1, [0.1, 0.25]);
  // Bilinear interpolation of r^2 errs by at most (grid spacing)^2 / 4 * c.
  const tol = 4 * 0.01 ** 2;
  assert.ok(Math.abs(s.rise["0.1"]! - 4 * 0.01) < tol, `rise@0.1 ${s.rise["0.1"]}`);
  assert.ok(Math.abs(s.rise["0.25"]! - 4 * 0.0625) < tol, `rise@0.25 ${s.rise["0.25"]}`);
  assert.ok(Math.abs(s.max_rise - 4 * 2 * 0.0625) < 1e-9);
  assert.ok(Math.abs(s.width! - Math.sqrt(0.1 / 4)) < 2e-3, `width ${s.width}`);
  // Flatter (c = 1): the loss doubles at r = 0.316, outside the grid's largest circle (0.25).
  const flat = sharpness(bowl(0.1, 1), 0.1);
  assert.equal(flat.width, null);
  assert.ok(flat.rise["0.1"]! < s.rise["0.1"]!);
  // A circle that leaves the grid has no rise.
  assert.equal(sharpness(g, 0.1, [0.3]).rise["0.3"], null);
  // 1-D: the same numbers from the two points -r and +r.
  const one = sharpness(bowl(0.1, 4, 51, 0.25, false), 0.1);
  assert.ok(Math.abs(one.rise["0.1"]! - 0.04) < tol);
  assert.ok(Math.abs(one.width! - Math.sqrt(0.1 / 4)) < 2e-3);
  assert.ok(Math.abs(one.max_rise - 0.25) < 1e-9);
});

test("circle means of an asymmetric surface average all directions", () => {
  // L = 1 + x: the circle's mean is 1 (the tilt cancels), so the rise is 0 though max rise is 0.25.
  const xs = linspace(-0.25, 0.25, 21);
  const g: Grid = { xs, ys: xs, values: xs.map(() => xs.map((x) => 1 + x)) };
  assert.ok(Math.abs(circleMean(g, 0.2)! - 1) < 1e-9);
  const s = sharpness(g, 1);
  assert.ok(Math.abs(s.rise["0.1"]!) < 1e-9);
  assert.ok(Math.abs(s.max_rise - 0.25) < 1e-9);
  assert.equal(s.width, null);
});

test("loss and accuracy: mean cross-entropy (natural log) and argmax accuracy", () => {
  const logits = [new Float32Array([2, 0]), new Float32Array([0, 1])];
  const r = lossAndAccuracy(logits, [0, 0], false);
  const ce = (l: number[], y: number) => Math.log(l.reduce((s, v) => s + Math.exp(v), 0)) - l[y]!;
  assert.ok(Math.abs(r.loss - (ce([2, 0], 0) + ce([0, 1], 0)) / 2) < 1e-9);
  assert.equal(r.accuracy, 0.5);
  const m = lossAndAccuracy([new Float32Array([1.5])], [0.5], true);
  assert.equal(m.loss, 1);
  assert.equal(m.accuracy, null);
});

const data = writeSentimentData(16, 24);

async function tinySetup() {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  const task = customTask({ labels: model.cfg.id2label });
  const { examples } = await readExamples(data.dev, { task });
  const encoded = await encodeExamples(model.tokenizer!, examples, 32);
  return { model, task, examples, encoded };
}

test("landscape on a tiny model: each grid point is the loss of the model moved along the directions", async () => {
  const { model, task, examples, encoded } = await tinySetup();
  const l = await computeLandscape([{ name: "bert", model }], encoded, task, {
    dims: 2,
    points: 5,
    range: [-0.5, 0.5],
    seed: 3,
    threads: 1,
  });
  assert.deepEqual(l.xs, [-0.5, -0.25, 0, 0.25, 0.5]);
  const m = l.models[0]!;
  assert.equal(m.losses.length, 5);
  assert.equal(m.losses[2]![2], m.center.loss, "the grid's middle point is the unperturbed model");
  // The model's own inference path (weights embedded, a separate graph) agrees at the origin...
  const labels = examples.map((e) => e.label!);
  const plain = lossAndAccuracy(await predictLogits(model, examples, { maxLength: 32, threads: 1 }), labels, false);
  assert.ok(Math.abs(plain.loss - m.center.loss) < 1e-5, `${plain.loss} vs ${m.center.loss}`);
  assert.equal(plain.accuracy, m.center.accuracy);
  // ...and at a perturbed point, with the weights moved by hand.
  const [d0, d1] = modelDirections(model.params, model.shapes, 3, 2);
  const moved = new PretrainedModel(
    model.cfg,
    new Map([...model.params].map(([n, w]) => [n, w.map((v, i) => v + 0.5 * d0!.get(n)![i]! - 0.25 * d1!.get(n)![i]!)])),
    model.shapes,
    model.tokenizer,
  );
  const there = lossAndAccuracy(await predictLogits(moved, examples, { maxLength: 32, threads: 1 }), labels, false);
  assert.ok(Math.abs(there.loss - m.losses[1]![4]!) < 1e-4, `${there.loss} vs ${m.losses[1]![4]}`);
  assert.notEqual(m.losses[1]![4], m.center.loss, "the perturbation changes the loss");
  assert.deepEqual(
    model.params.get("bert.encoder.layer.0.attention.self.query.weight"),
    (await PretrainedModel.load(dirFiles(GOLDEN_BERT))).params.get("bert.encoder.layer.0.attention.self.query.weight"),
    "the model's weights are left as they were",
  );
});

test("--compare: every model on the same directions, whatever its position in the list", async () => {
  const { model, task, encoded } = await tinySetup();
  // A second model of the same architecture: the first one with its weights scaled.
  const other = new PretrainedModel(
    model.cfg,
    new Map([...model.params].map(([n, w]) => [n, w.map((v) => v * 1.5)])),
    model.shapes,
    model.tokenizer,
  );
  const opts = { dims: 1 as const, points: 7, seed: 11, threads: 1 };
  const ab = await computeLandscape(
    [
      { name: "a", model },
      { name: "b", model: other },
    ],
    encoded,
    task,
    opts,
  );
  const ba = await computeLandscape(
    [
      { name: "b", model: other },
      { name: "a", model },
    ],
    encoded,
    task,
    opts,
  );
  assert.deepEqual(ab.models[0]!.losses, ba.models[1]!.losses);
  assert.deepEqual(ab.models[1]!.losses, ba.models[0]!.losses);
  assert.notDeepEqual(ab.models[0]!.losses, ab.models[1]!.losses);
  const bad = await PretrainedModel.load(dirFiles(GOLDEN_BERT), { labels: ["x", "y"] });
  await assert.rejects(
    computeLandscape(
      [
        { name: "a", model },
        { name: "c", model: bad },
      ],
      encoded,
      task,
      opts,
    ),
    /same architecture/,
  );
});

test("runLandscape writes landscape.json, SVG and PNG plots", async () => {
  const out = mkdtempSync(join(tmpdir(), "rose-landscape-"));
  const r = await runLandscape({
    model: GOLDEN_BERT,
    compare: [GOLDEN_BERT],
    data: data.dev,
    maxSamples: 12,
    dims: 2,
    points: 5,
    seed: 1,
    outputDir: out,
    threads: 1,
    maxSeqLength: 32,
  });
  const json = JSON.parse(readFileSync(join(out, "landscape.json"), "utf8")) as {
    models: { name: string; losses: number[][] }[];
    examples: number;
    directions: { normalisation: { kind: string } };
    sharpness_definitions: Record<string, string>;
  };
  assert.deepEqual(
    json.models.map((m) => m.name),
    ["bert", "bert-2"],
  );
  assert.equal(json.examples, 12);
  assert.equal(json.directions.normalisation.kind, "filter");
  assert.ok(json.sharpness_definitions.width!.length > 20);
  for (const name of ["bert", "bert-2"]) {
    for (const kind of ["contour", "surface"]) {
      const svg = readFileSync(join(out, `${name}.${kind}.svg`), "utf8");
      assert.match(svg, kind === "contour" ? /class="level"/ : /class="quad"/);
      const png = readFileSync(join(out, `${name}.${kind}.png`));
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG file");
    }
  }
  assert.equal(r.files.length, 9);
  assert.deepEqual((json as unknown as { untrained_head: string[] }).untrained_head, [], "the golden model's head is in its checkpoint");
  // Option mistakes name the library's options (the CLI maps them to its flags) and come before any loading.
  const refused = (opts: Partial<LandscapeOptions>, option: string, message: RegExp) =>
    assert.rejects(runLandscape({ model: join(out, "no-model"), data: data.dev, outputDir: out, ...opts }), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.deepEqual(e.options, [option]);
      assert.match(e.message, message);
      return true;
    });
  await refused({ dims: 3 as never }, "dims", /^dims must be 1 or 2, got 3/);
  await refused({ points: 1 }, "points", /^points must be an integer >= 2, got 1/);
  await refused({ range: [0.25, -0.25] }, "range", /^range must be two numbers lo,hi with lo < hi, got 0.25,-0.25/);
  await refused({ radii: [0.1, 0] }, "radii", /^radii must be positive/);
  await refused({ batchSize: 0 }, "batchSize", /^batchSize must be a positive integer/);
  await refused({ maxSamples: 2.5 }, "maxSamples", /^maxSamples must be a positive integer, got 2.5/);
  await assert.rejects(runLandscape({ model: join(out, "no-model"), data: join(out, "no-data.tsv") }), /no-data.tsv: no such file/);
});

test("runLandscape warns about a newly initialised classifier head and records it in landscape.json", async () => {
  const out = mkdtempSync(join(tmpdir(), "rose-landscape-"));
  const lines: string[] = [];
  // The shipped rose-mini is a masked LM: its sequence-classification head is created at load time.
  const tsv = join(out, "dev.tsv");
  writeFileSync(tsv, "sentence\tlabel\na fine film\t1\na dull film\t0\nwonderful\t1\nawful\t0\n");
  await runLandscape({
    model: "models/rose-mini",
    data: tsv,
    outputDir: join(out, "ls"),
    dims: 1,
    points: 3,
    threads: 1,
    maxSeqLength: 16,
    noPng: true,
    log: (l) => lines.push(l),
  });
  assert.ok(
    lines.some((l) => /^warning: the classifier head of .*rose-mini is newly initialised/.test(l)),
    lines.join("\n"),
  );
  const json = JSON.parse(readFileSync(join(out, "ls", "landscape.json"), "utf8")) as { untrained_head: string[] };
  assert.deepEqual(json.untrained_head, ["rose-mini"]);
});
