// Property test: valid model files (safetensors, config.json, tokenizer files) and training checkpoints,
// mutated by truncation at every region boundary, random byte flips and random JSON edits (seeded). Each
// mutant is refused with a typed error naming the file, or reads exactly like the original; a different
// valid result is accepted only where the mutation can make another valid file (text inside a string,
// a digit of a number). Never a crash or a hang.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelConfig, modelConfigJson, parseModelConfig, type EncoderConfig } from "../../src/io/config.ts";
import { parseSafetensors, type SafetensorsFile } from "../../src/io/safetensors.ts";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { RoseAdamW } from "../../src/optim/adamw.ts";
import { loadRunCheckpoint, saveRunCheckpoint, type Checkpointable } from "../../src/train/checkpoint.ts";
import { cutsAround, flip, jsonByteClasses, jsonEdits, outcome, positions, Rng } from "../helpers/mutate.ts";
import { dirFiles } from "../../src/node/files.ts";

const BERT = new URL("../fixtures/golden/models/bert/", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "rose-mutate-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Tally of outcomes, so a test also shows that its mutations were caught, not only survived. */
function tally(): { add(kind: string): void; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return {
    counts,
    add: (k) => {
      counts[k] = (counts[k] ?? 0) + 1;
    },
  };
}

// ------------------------------------------------------------------ safetensors

/** A comparable form: names, dtypes, shapes, metadata and the exact data bytes. */
function stView(f: SafetensorsFile): unknown {
  return {
    metadata: f.metadata,
    tensors: [...f.tensors].map(([n, t]) => [
      n,
      t.dtype,
      t.shape,
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("base64"),
    ]),
  };
}

function headerLayout(bytes: Uint8Array): { dataStart: number; ends: number[] } {
  const hlen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + hlen)).toString()) as Record<string, { data_offsets?: [number, number] }>;
  const ends = Object.values(header).flatMap((e) => e.data_offsets ?? []);
  return { dataStart: 8 + hlen, ends };
}

test("safetensors: truncation at every region boundary is refused; header byte flips are refused or harmless", {
  timeout: 300_000,
}, async () => {
  const file = join(BERT, "model.safetensors");
  const bytes = new Uint8Array(readFileSync(file));
  const original = stView(parseSafetensors(bytes, file));
  const { dataStart, ends } = headerLayout(bytes);
  const t = tally();
  // Regions: the 8 length bytes, the header, each tensor's byte range.
  for (const cut of cutsAround([0, 4, 8, dataStart, ...ends.map((e) => dataStart + e)], bytes.length)) {
    const o = await outcome(`truncated to ${cut} bytes`, file, () => stView(parseSafetensors(bytes.subarray(0, cut), file)), original);
    assert.equal(o.kind, "error", `truncated to ${cut} bytes was accepted`);
    t.add(o.kind);
  }
  const rng = new Rng(16, 1);
  const classes = jsonByteClasses(bytes.subarray(8, dataStart));
  for (const pos of [...Array(8).keys(), ...positions(rng, 8, dataStart, 600)]) {
    const what = `byte ${pos} flipped`;
    const o = await outcome(what, file, () => stView(parseSafetensors(flip(bytes, pos, rng), file)), original);
    // Inside a string (a tensor name, a dtype, metadata) a flip can spell another valid file; nowhere else.
    if (o.kind === "changed")
      assert.ok(
        pos >= 8 && classes[pos - 8] === "string",
        `${what} (a ${pos < 8 ? "length" : classes[pos - 8]} byte) was read as a different file`,
      );
    t.add(o.kind);
  }
  assert.ok(t.counts.error! > 600, JSON.stringify(t.counts));
});

// ------------------------------------------------------------------ config.json

/** The normalised config without `raw`, which mirrors the file. */
function cfgView(c: EncoderConfig): unknown {
  const { raw: _, ...rest } = c;
  return rest;
}

test("config.json: truncations, byte flips and JSON edits are refused or give a consistent config", { timeout: 300_000 }, async () => {
  const dir = join(work, "config");
  mkdirSync(dir);
  const file = join(dir, "config.json");
  const text = new Uint8Array(readFileSync(join(BERT, "config.json")));
  writeFileSync(file, text);
  const original = cfgView(loadModelConfig(dirFiles(dir)));
  const t = tally();
  const read = (bytes: Uint8Array | string) => () => {
    writeFileSync(file, bytes);
    return cfgView(loadModelConfig(dirFiles(dir)));
  };
  /** An accepted config must survive its own save/load round trip unchanged. */
  const consistent = (what: string) => {
    const cfg = loadModelConfig(dirFiles(dir));
    assert.deepEqual(cfgView(parseModelConfig(modelConfigJson(cfg), file)), cfgView(cfg), `${what}: accepted config does not round-trip`);
  };
  for (let cut = 0; cut < text.length; cut++) {
    const o = await outcome(`truncated to ${cut} bytes`, file, read(text.subarray(0, cut)), original);
    // Only the trailing whitespace can go.
    if (o.kind !== "error") assert.ok(/^\s*$/.test(Buffer.from(text.subarray(cut)).toString()), `truncated to ${cut} bytes was accepted`);
    t.add(o.kind);
  }
  const rng = new Rng(16, 2);
  const classes = jsonByteClasses(text);
  for (let pos = 0; pos < text.length; pos++) {
    const what = `byte ${pos} flipped`;
    const o = await outcome(what, file, read(flip(text, pos, rng)), original);
    if (o.kind === "changed") {
      assert.notEqual(classes[pos], "syntax", `${what} (JSON syntax) was read as a different config`);
      consistent(what);
    }
    t.add(o.kind);
  }
  for (const edit of jsonEdits(JSON.parse(Buffer.from(text).toString()), rng, 400)) {
    const o = await outcome(edit.what, file, read(JSON.stringify(edit.value)), original);
    if (o.kind === "changed") consistent(edit.what);
    t.add(o.kind);
  }
  assert.ok(t.counts.error! > 500 && t.counts.changed! > 0, JSON.stringify(t.counts));
});

// ------------------------------------------------------------------ tokenizer files

const SAMPLES = ["the movie was good", "A bad, BAD film!", "unknown zebra xylophone"];

async function tokView(dir: string): Promise<unknown> {
  const tok = await Tokenizer.load(dirFiles(dir));
  const enc = [];
  for (const s of SAMPLES) enc.push(await tok.encode(s, "a pair"));
  return { vocab: tok.vocabSize, special: tok.specialIds, tokens: tok.specialTokens, enc };
}

test("tokenizer.json and vocab.txt: mutations are refused or load a working tokenizer, never crash", { timeout: 300_000 }, async () => {
  const dir = join(work, "tok");
  mkdirSync(dir);
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(BERT, f), join(dir, f));
  const file = join(dir, "tokenizer.json");
  const text = new Uint8Array(readFileSync(file));
  const original = await tokView(dir);
  const t = tally();
  const read = (bytes: Uint8Array | string) => () => {
    writeFileSync(file, bytes);
    return tokView(dir);
  };
  for (let cut = 0; cut < text.length; cut += 7) {
    const o = await outcome(`tokenizer.json truncated to ${cut} bytes`, file, read(text.subarray(0, cut)), original);
    assert.equal(o.kind, "error", `tokenizer.json truncated to ${cut} bytes was accepted`);
    t.add(o.kind);
  }
  const rng = new Rng(16, 3);
  const classes = jsonByteClasses(text);
  for (const pos of positions(rng, 0, text.length, 500)) {
    const what = `tokenizer.json byte ${pos} flipped`;
    const o = await outcome(what, file, read(flip(text, pos, rng)), original);
    if (o.kind === "changed") assert.notEqual(classes[pos], "syntax", `${what} (JSON syntax) was read as a different tokenizer`);
    t.add(o.kind);
  }
  for (const edit of jsonEdits(JSON.parse(Buffer.from(text).toString()), rng, 300)) {
    t.add((await outcome(edit.what, file, read(JSON.stringify(edit.value)), original)).kind);
  }
  assert.ok(t.counts.error! > 300, JSON.stringify(t.counts));

  // vocab.txt (no tokenizer.json): a line-per-token file has no structure to check beyond its encoding, so
  // any outcome but a crash is allowed, except that bytes which are not UTF-8 must be refused.
  rmSync(file);
  const vfile = join(dir, "vocab.txt");
  const vocab = new Uint8Array(readFileSync(join(BERT, "vocab.txt")));
  writeFileSync(vfile, vocab);
  const vOriginal = await tokView(dir);
  for (let cut = 0; cut < vocab.length; cut += 3) {
    writeFileSync(vfile, vocab.subarray(0, cut));
    await outcome(`vocab.txt truncated to ${cut}`, vfile, () => tokView(dir), vOriginal);
  }
  for (const pos of positions(rng, 0, vocab.length, 150)) {
    const bad = Uint8Array.from(vocab);
    bad[pos] = 0xff;
    writeFileSync(vfile, bad);
    const o = await outcome(`vocab.txt byte ${pos} set to 0xFF`, vfile, () => tokView(dir), vOriginal);
    assert.equal(o.kind, "error", `vocab.txt with 0xFF at ${pos} was accepted`);
    assert.match((o as { message: string }).message, /line \d+: byte 0xFF at byte offset \d+ is not valid UTF-8/);
  }
});

// ------------------------------------------------------------------ checkpoints

const SHAPES: [string, number[]][] = [
  ["encoder.layer.0.weight", [4, 3]],
  ["encoder.layer.0.bias", [3]],
  ["classifier.weight", [2, 3]],
];

interface RunState {
  globalStep: number;
  epoch: number;
  lossSum: number;
  bestMetric: number | null;
  logHistory: Record<string, unknown>[];
}
const FRESH: RunState = { globalStep: 0, epoch: 0, lossSum: 0, bestMetric: null, logHistory: [] };

function freshModel(): Checkpointable {
  const rng = new Rng(16, 4);
  const params = new Map(SHAPES.map(([n, s]) => [n, Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal())]));
  return { params, shapes: new Map(SHAPES) };
}

/** Everything a resume restores, comparable. */
async function resumeView(outputDir: string): Promise<unknown> {
  const model = freshModel();
  const opt = new RoseAdamW({ lr: 0.01 });
  const st = loadRunCheckpoint<RunState>(outputDir, model, opt, { template: FRESH, step: (s) => s.globalStep });
  const o = opt.state();
  return {
    st,
    params: [...model.params].map(([n, d]) => [n, [...d]]),
    steps: [...o.steps],
    m: [...o.expAvg].map(([n, d]) => [n, [...d]]),
    v: [...o.expAvgSq].map(([n, d]) => [n, [...d]]),
  };
}

test("checkpoints: every file truncated, flipped, edited or deleted is refused on resume, never silently restarted", {
  timeout: 300_000,
}, async () => {
  const out = join(work, "run");
  const model = freshModel();
  const opt = new RoseAdamW({ lr: 0.01, weightDecay: 0.01 });
  const rng = new Rng(16, 5);
  for (let k = 0; k < 2; k++) {
    const grads = new Map([...model.params].map(([n, d]) => [n, d.map(() => rng.normal())]));
    opt.step({ params: model.params, grads });
  }
  saveRunCheckpoint<RunState>(out, 2, model, opt, {
    globalStep: 2,
    epoch: 1,
    lossSum: 1.25,
    bestMetric: -0.5,
    logHistory: [{ step: 1, loss: 0.5 }],
  });
  const original = await resumeView(out);
  const ckpt = join(out, "checkpoint-2");
  const files = {
    pointer: join(out, "last_checkpoint.json"),
    weights: join(ckpt, "model.safetensors"),
    optimizer: join(ckpt, "optimizer.safetensors"),
    state: join(ckpt, "trainer_state.json"),
  };
  const pristine = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, new Uint8Array(readFileSync(f))])) as Record<
    keyof typeof files,
    Uint8Array
  >;
  const t = tally();
  /** Resume with `file` replaced by `bytes` (null: deleted); the file is restored afterwards. */
  const attempt = async (what: string, key: keyof typeof files, bytes: Uint8Array | string | null) => {
    const f = files[key];
    if (bytes === null) rmSync(f);
    else writeFileSync(f, bytes);
    try {
      const o = await outcome(what, f, () => resumeView(out), original);
      t.add(o.kind);
      return o;
    } finally {
      writeFileSync(f, pristine[key]);
    }
  };

  for (const key of ["weights", "optimizer", "state"] as const) {
    const o = await attempt(`${key} deleted`, key, null);
    assert.equal(o.kind, "error", `${key} deleted was accepted`);
  }
  // Without the pointer, the complete checkpoint next to it must not be ignored.
  assert.match(
    ((await attempt("pointer deleted", "pointer", null)) as { message: string }).message,
    /missing, but .*checkpoint-2 holds a complete checkpoint/,
  );

  for (const key of ["weights", "optimizer"] as const) {
    const bytes = pristine[key];
    const { dataStart, ends } = headerLayout(bytes);
    for (const cut of cutsAround([0, 8, dataStart, ...ends.map((e) => dataStart + e)], bytes.length)) {
      assert.equal(
        (await attempt(`${key} truncated to ${cut}`, key, bytes.subarray(0, cut))).kind,
        "error",
        `${key} truncated to ${cut} was accepted`,
      );
    }
    const header = Buffer.from(bytes.subarray(8, dataStart)).toString();
    const metaAt = header.indexOf('"__metadata__"');
    const metaEnd =
      metaAt + '"__metadata__":'.length + JSON.stringify((JSON.parse(header) as { __metadata__: unknown }).__metadata__).length;
    for (const pos of positions(rng, 0, dataStart, 300)) {
      const o = await attempt(`${key} byte ${pos} flipped`, key, flip(bytes, pos, rng));
      // Only the optimizer's step counts (metadata) may change into other valid values.
      if (o.kind === "changed")
        assert.ok(pos - 8 > metaAt && pos - 8 < metaEnd, `${key} byte ${pos} flipped was read as a different checkpoint`);
    }
  }

  for (const key of ["state", "pointer"] as const) {
    const bytes = pristine[key];
    for (let cut = 0; cut < bytes.length; cut++) {
      const o = await attempt(`${key} truncated to ${cut}`, key, bytes.subarray(0, cut));
      if (o.kind !== "error")
        assert.ok(/^\s*$/.test(Buffer.from(bytes.subarray(cut)).toString()), `${key} truncated to ${cut} was accepted`);
    }
    const classes = jsonByteClasses(bytes);
    for (let pos = 0; pos < bytes.length; pos++) {
      const o = await attempt(`${key} byte ${pos} flipped`, key, flip(bytes, pos, rng));
      // The pointer has no free values; in the run state, only a number or the text of a log record may change.
      if (o.kind === "changed")
        assert.ok(
          key === "state" && classes[pos] !== "syntax",
          `${key} byte ${pos} flipped (${classes[pos]}) was accepted as a different run`,
        );
    }
  }
  // Edits of the run state's own fields: deleted, of another type, or negative counters are all refused.
  const state = JSON.parse(Buffer.from(pristine.state).toString()) as Record<string, unknown>;
  for (const edit of jsonEdits(
    state as never,
    rng,
    200,
    Object.keys(FRESH).map((k) => [k]),
  )) {
    const o = await attempt(`state: ${edit.what}`, "state", JSON.stringify(edit.value));
    const key = edit.what.replace(/^(?:set|delete) /, "").split(" ")[0]! as keyof RunState;
    const v = (edit.value as Record<string, unknown>)[key];
    // Only a value of the field's own type (a number for a number or null, an array for the history) can
    // be another valid state, and never at another step than the checkpoint's.
    if (o.kind === "changed") {
      const sameType = typeof v === "number" || (v === null && FRESH[key] === null) || (Array.isArray(v) && Array.isArray(FRESH[key]));
      assert.ok(key !== "globalStep" && sameType, `state: ${edit.what} was accepted`);
      if (typeof v === "number" && FRESH[key] !== null) assert.ok(v >= 0, `state: ${edit.what} (a negative counter) was accepted`);
    }
  }
  const pointer = JSON.parse(Buffer.from(pristine.pointer).toString()) as Record<string, unknown>;
  for (const edit of jsonEdits(pointer as never, rng, 60)) {
    assert.equal(
      (await attempt(`pointer: ${edit.what}`, "pointer", JSON.stringify(edit.value))).kind,
      "error",
      `pointer: ${edit.what} was accepted`,
    );
  }
  for (const dir of ["../checkpoint-2", "/tmp/checkpoint-2", "checkpoint-02", "checkpoint-3"]) {
    assert.equal((await attempt(`pointer dir ${dir}`, "pointer", JSON.stringify({ dir, step: 2 }))).kind, "error", dir);
  }
  assert.ok(t.counts.error! > 1000, JSON.stringify(t.counts));
});
