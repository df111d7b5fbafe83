// pytorch_model.bin through the restricted unpickler: the golden .bin twins equal their safetensors twins,
// every dtype and view layout torch.save writes reads back, shards load like safetensors shards, and hostile
// or broken checkpoints (built here, not committed) are refused with one line naming the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { checkpointTensors, type Float32Tensor } from "../../src/io/checkpoint.ts";
import { MemoryFiles } from "../../src/io/files.ts";
import { ALLOWED_OPCODES } from "../../src/io/pickle.ts";
import { ALLOWED_GLOBALS, parseTorchBin } from "../../src/io/torch-bin.ts";
import { FormatError } from "../../src/errors.ts";
import { dirFiles } from "../../src/node/files.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { predictLogits } from "../../src/infer/predictor.ts";
import {
  PickleWriter,
  saveTorchBin,
  stateDictPickle,
  storageBytes,
  torchCheckpoint,
  torchZip,
  type StorageSpec,
  type TensorSpec,
} from "../helpers/torch-zip.ts";

const GOLDEN = new URL("../fixtures/golden/models/", import.meta.url).pathname;

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function assertSameTensors(actual: Map<string, Float32Tensor>, expected: Map<string, Float32Tensor>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, t] of expected) {
    const u = actual.get(name)!;
    assert.deepEqual(u.shape, t.shape, name);
    assert.deepEqual(bits(u.data), bits(t.data), name);
  }
}

/** checkpointTensors of a folder holding only `pytorch_model.bin` = bytes. */
function loadBin(bytes: Uint8Array): Map<string, Float32Tensor> {
  return checkpointTensors(new MemoryFiles("mem", [["pytorch_model.bin", bytes]]));
}

/** Asserts a one-line FormatError naming mem/pytorch_model.bin whose message matches `re`. */
function refused(bytes: Uint8Array, re: RegExp): void {
  assert.throws(
    () => loadBin(bytes),
    (e: unknown) => {
      assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
      assert.equal(e.file, "mem/pytorch_model.bin");
      assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

const f32 = (xs: number[]): Uint8Array => storageBytes(Float32Array.from(xs));
const floats = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => start + i);
const oneStorage = (data: Uint8Array, type = "FloatStorage", numel?: number): Map<string, StorageSpec> =>
  new Map([["0", { type, data, ...(numel === undefined ? {} : { numel }) }]]);

/** A zip of data.pkl = `pkl` (no storages). */
const pickleOnly = (pkl: PickleWriter): Uint8Array => torchZip({ "data.pkl": pkl.bytes(), version: new TextEncoder().encode("3\n") });

test("golden bert-bin and deberta-v3-bin load bit-identical to their safetensors twins", () => {
  for (const [bin, st] of [
    ["bert-bin", "bert"],
    ["deberta-v3-bin", "deberta-v3"],
  ]) {
    const fromBin = checkpointTensors(dirFiles(GOLDEN + bin));
    assert.ok(fromBin.size > 40, bin);
    assertSameTensors(fromBin, checkpointTensors(dirFiles(GOLDEN + st)));
  }
});

test("bert-bin through PretrainedModel.load: same parameters and logits as bert", async () => {
  const fromBin = await PretrainedModel.load(dirFiles(`${GOLDEN}bert-bin`));
  const fromSt = await PretrainedModel.load(dirFiles(`${GOLDEN}bert`));
  assert.deepEqual(fromBin.report, fromSt.report);
  assert.deepEqual([...fromBin.params.keys()], [...fromSt.params.keys()]);
  for (const [n, p] of fromSt.params) assert.deepEqual(bits(fromBin.params.get(n)!), bits(p), n);
  const inputs = [{ text: "a fine film" }, { text: "yes", pair: "no" }];
  const [a, b] = [await predictLogits(fromBin, inputs), await predictLogits(fromSt, inputs)];
  assert.deepEqual(a, b);
  assert.equal(a[0]!.length, 3);
});

test("dtypes, offsets, strided and shared views read back as torch would", () => {
  const storages = new Map<string, StorageSpec>([
    ["f32", { type: "FloatStorage", data: f32(floats(12)) }],
    ["f16", { type: "HalfStorage", data: storageBytes(Float32Array.from([0.5, -2, 65504, 1e-7]), "F16") }],
    ["bf16", { type: "BFloat16Storage", data: storageBytes(Float32Array.from([1.5, -3.25, 1e30]), "BF16") }],
    ["f64", { type: "DoubleStorage", data: new Uint8Array(Float64Array.from([0.25, -1e300]).buffer) }],
    ["i64", { type: "LongStorage", data: new Uint8Array(BigInt64Array.from([0n, 1n, -5n, 511n]).buffer) }],
    ["i32", { type: "IntStorage", data: new Uint8Array(Int32Array.from([7, -8]).buffer) }],
    ["bool", { type: "BoolStorage", data: Uint8Array.from([1, 0, 1]) }],
  ]);
  const tensors: TensorSpec[] = [
    { name: "whole", storage: "f32", shape: [3, 4] },
    // Shared storage: a row-offset view, a transposed (column-major) view, a strided column and a scalar.
    { name: "rows", storage: "f32", shape: [2, 4], offset: 4 },
    { name: "transposed", storage: "f32", shape: [4, 3], stride: [1, 4] },
    { name: "column", storage: "f32", shape: [3], stride: [4], offset: 2 },
    { name: "scalar", storage: "f32", shape: [], stride: [], offset: 11 },
    { name: "empty", storage: "f32", shape: [0, 4], offset: 12 },
    { name: "half", storage: "f16", shape: [4] },
    { name: "bfloat", storage: "bf16", shape: [3] },
    { name: "double", storage: "f64", shape: [2] },
    { name: "long", storage: "i64", shape: [1, 4] },
    { name: "int", storage: "i32", shape: [2] },
    { name: "bool", storage: "bool", shape: [3] },
  ];
  for (const ordered of [true, false]) {
    const t = loadBin(torchCheckpoint(tensors, storages, { ordered }));
    const v = (n: string) => [...t.get(n)!.data];
    assert.deepEqual(
      [...t.keys()],
      tensors.map((x) => x.name),
      "state_dict order is kept",
    );
    assert.deepEqual(v("whole"), floats(12));
    assert.deepEqual(t.get("whole")!.shape, [3, 4]);
    assert.deepEqual(v("rows"), floats(8, 4));
    assert.deepEqual(v("transposed"), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.deepEqual(v("column"), [2, 6, 10]);
    assert.deepEqual(v("scalar"), [11]);
    assert.deepEqual(t.get("scalar")!.shape, []);
    assert.deepEqual(v("empty"), []);
    assert.deepEqual(v("half"), [0.5, -2, 65504, Math.fround(1.1920928955078125e-7)]);
    assert.deepEqual(v("bfloat"), [1.5, -3.25, Math.fround(new Float32Array(new Uint32Array([0x7149f2ca & 0xffff0000]).buffer)[0]!)]);
    assert.deepEqual(v("double"), [0.25, -Infinity]);
    assert.deepEqual(v("long"), [0, 1, -5, 511]);
    assert.deepEqual(v("int"), [7, -8]);
    assert.deepEqual(v("bool"), [1, 0, 1]);
    // Tensors sharing a storage do not share memory.
    t.get("whole")!.data[5] = 99;
    assert.equal(t.get("rows")!.data[1], 5);
    assert.equal(t.get("transposed")!.data[5], 9);
  }
});

test("deflated zip entries and any archive prefix are read", () => {
  const tensors = new Map<string, Float32Tensor>([["w", { shape: [2, 3], data: Float32Array.from(floats(6)) }]]);
  const specs: TensorSpec[] = [{ name: "w", storage: "0", shape: [2, 3] }];
  for (const opts of [{ level: 6 as const }, { prefix: "pytorch_model" }]) {
    assertSameTensors(loadBin(torchCheckpoint(specs, oneStorage(f32(floats(6))), opts)), tensors);
  }
  assertSameTensors(loadBin(saveTorchBin(tensors, { ordered: false })), tensors);
});

test("sharded pytorch_model.bin with pytorch_model.bin.index.json loads like the whole checkpoint", () => {
  const dir = mkdtempSync(join(tmpdir(), "rose-torchbin-"));
  try {
    const whole = checkpointTensors(dirFiles(`${GOLDEN}bert`));
    const names = [...whole.keys()];
    const weightMap: Record<string, string> = {};
    const half = Math.ceil(names.length / 2);
    for (let s = 0; s < 2; s++) {
      const file = `pytorch_model-0000${s + 1}-of-00002.bin`;
      const part = names.slice(s * half, (s + 1) * half);
      writeFileSync(join(dir, file), saveTorchBin(new Map(part.map((n) => [n, whole.get(n)!]))));
      for (const n of part) weightMap[n] = file;
    }
    const index = join(dir, "pytorch_model.bin.index.json");
    writeFileSync(index, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    copyFileSync(join(GOLDEN, "bert", "config.json"), join(dir, "config.json"));
    assertSameTensors(checkpointTensors(dirFiles(dir)), whole);

    // Safetensors win when a folder has both.
    writeFileSync(join(dir, "model.safetensors"), "not read when...");
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file.endsWith("model.safetensors"),
    );
    rmSync(join(dir, "model.safetensors"));

    // The same weight_map checks as safetensors shards.
    weightMap["ghost.weight"] = "pytorch_model-00001-of-00002.bin";
    writeFileSync(index, JSON.stringify({ weight_map: weightMap }));
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file.endsWith("pytorch_model-00001-of-00002.bin") && /ghost\.weight/.test(e.message),
    );
    weightMap["ghost.weight"] = "pytorch_model-00009-of-00002.bin";
    writeFileSync(index, JSON.stringify({ weight_map: weightMap }));
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && e.file === index && /does not exist/.test(e.message),
    );
    weightMap["ghost.weight"] = "../pytorch_model.bin";
    writeFileSync(index, JSON.stringify({ weight_map: weightMap }));
    assert.throws(
      () => checkpointTensors(dirFiles(dir)),
      (e: unknown) => e instanceof FormatError && /not a shard file name/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("code-executing globals are refused at GLOBAL, before anything after them is read", () => {
  const marker = join(tmpdir(), `rose-pwned-${process.pid}`);
  for (const [module, name] of [
    ["os", "system"],
    ["posix", "system"],
    ["builtins", "eval"],
    ["builtins", "exec"],
    ["builtins", "getattr"],
    ["subprocess", "Popen"],
    ["torch", "load"],
    ["torch._utils", "_rebuild_tensor"],
    ["torch.serialization", "_load"],
    ["collections", "defaultdict"],
    ["numpy.core.multiarray", "_reconstruct"],
  ] as const) {
    for (const stack of [false, true]) {
      const p = new PickleWriter().proto(stack ? 4 : 2);
      if (stack) p.str(module).str(name);
      // The refusal points at the GLOBAL / STACK_GLOBAL opcode itself: nothing after it was read.
      const at = p.pos;
      if (stack) p.op(0x93);
      else p.global(module, name);
      const bytes = pickleOnly(p.str(`touch ${marker}`).op(0x85).reduce().stop());
      refused(bytes, new RegExp(`archive/data\\.pkl byte ${at}: global ${module.replace(/\./g, "\\.")}\\.${name} is refused`));
    }
  }
  assert.ok(!existsSync(marker));
});

test("hostile and broken checkpoints are refused with one line naming the file", async (t) => {
  const good = (o: { ordered?: boolean } = {}) =>
    torchCheckpoint([{ name: "w", storage: "0", shape: [2, 2] }], oneStorage(f32([1, 2, 3, 4])), o);
  const tensorArgs = (p: PickleWriter, storageNumel = 4): PickleWriter =>
    p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(storageNumel).tuple().persid();
  /** A state_dict {"w": _rebuild_tensor_v2(storage "0", ...args written by `rest`)}. */
  const withArgs = (rest: (p: PickleWriter) => PickleWriter, storage = f32([1, 2, 3, 4])): Uint8Array => {
    const p = new PickleWriter().proto(2).emptyDict().str("w").global("torch._utils", "_rebuild_tensor_v2").mark();
    rest(tensorArgs(p)).tuple().reduce().setitem().stop();
    return torchZip({ "data.pkl": p.bytes(), "data/0": storage });
  };
  const empty = stateDictPickle([], new Map());
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "REDUCE of a storage class",
      pickleOnly(new PickleWriter().proto(2).global("torch", "FloatStorage").emptyTuple().reduce().stop()),
      /REDUCE of torch\.FloatStorage is not allowed/,
    ],
    ["REDUCE of a str", pickleOnly(new PickleWriter().proto(2).str("os.system").emptyTuple().reduce().stop()), /REDUCE of a str/],
    [
      "OrderedDict with arguments",
      pickleOnly(new PickleWriter().proto(2).global("collections", "OrderedDict").emptyList().op(0x85).reduce().stop()),
      /builds it empty/,
    ],
    ["BUILD of a plain dict", pickleOnly(new PickleWriter().proto(2).emptyDict().emptyDict().build().stop()), /BUILD of a dict/],
    ["INST", pickleOnly(new PickleWriter().proto(2).mark().op(0x69).raw("os\nsystem\n").stop()), /opcode INST is not allowed/],
    ["OBJ", pickleOnly(new PickleWriter().proto(2).mark().op(0x6f).stop()), /opcode OBJ is not allowed/],
    ["NEWOBJ", pickleOnly(new PickleWriter().proto(2).emptyDict().emptyTuple().op(0x81).stop()), /opcode NEWOBJ is not allowed/],
    ["EXT1", pickleOnly(new PickleWriter().proto(2).op(0x82, 1).stop()), /opcode EXT1 is not allowed/],
    ["text PERSID", pickleOnly(new PickleWriter().proto(2).op(0x50).raw("x\n").stop()), /opcode PERSID is not allowed/],
    ["unknown opcode", pickleOnly(new PickleWriter().proto(2).op(0xff).stop()), /unknown opcode 0xff/],
    ["protocol 1", pickleOnly(new PickleWriter().proto(1).emptyDict().stop()), /pickle protocol 1/],
    ["no STOP", pickleOnly(new PickleWriter().proto(2).emptyDict()), /ends without STOP/],
    [
      "string past the end",
      pickleOnly(new PickleWriter().proto(2).op(0x58, 0xff, 0xff, 0, 0, 0x41).stop()),
      /truncated: BINUNICODE needs 65535 more bytes/,
    ],
    ["bytes after STOP", pickleOnly(new PickleWriter().proto(2).emptyDict().stop().raw("junk")), /4 bytes after STOP/],
    ["memo entry never stored", pickleOnly(new PickleWriter().proto(2).get(7).stop()), /memo entry 7 was never stored/],
    ["not a state_dict", pickleOnly(new PickleWriter().proto(2).emptyList().stop()), /holds a list, not a state_dict/],
    [
      "non-tensor value",
      pickleOnly(new PickleWriter().proto(2).emptyDict().str("a").int(1).setitem().stop()),
      /state_dict entry a is an int, not a tensor/,
    ],
    [
      "dict key that is a tuple",
      pickleOnly(new PickleWriter().proto(2).emptyDict().emptyTuple().int(1).setitem().stop()),
      /dict key that is a tuple/,
    ],
    ["malformed persistent id", pickleOnly(new PickleWriter().proto(2).str("storage").persid().stop()), /persistent id that is not/],
    [
      "storage shorter than its view",
      withArgs((p) => p.int(0).ints([2, 3]).ints([3, 1]).bool(false).orderedDict()),
      /reaches element 5 of storage 0, which has 4/,
    ],
    [
      "offset past the storage",
      withArgs((p) => p.int(3).ints([2]).ints([1]).bool(false).orderedDict()),
      /reaches element 4 of storage 0, which has 4/,
    ],
    [
      "negative offset",
      withArgs((p) => p.int(-1).ints([2]).ints([1]).bool(false).orderedDict()),
      /storage offset is -1, not a non-negative int/,
    ],
    ["negative stride", withArgs((p) => p.int(3).ints([2]).ints([-1]).bool(false).orderedDict()), /stride\[0\] is -1/],
    [
      "stride rank differs",
      withArgs((p) => p.int(0).ints([2, 2]).ints([2]).bool(false).orderedDict()),
      /size \[2,2\] and stride \[2\] differ in length/,
    ],
    [
      "stride past the storage",
      withArgs((p) => p.int(0).ints([2, 2]).ints([4, 1]).bool(false).orderedDict()),
      /reaches element 5 of storage 0/,
    ],
    [
      "stride-0 blow-up",
      withArgs((p) => p.int(0).ints([1_000_000_000]).ints([0]).bool(false).orderedDict()),
      /overlapping views are not read/,
    ],
    ["size not a tuple", withArgs((p) => p.int(0).str("2").ints([1]).bool(false).orderedDict()), /size is a str, not a tuple/],
    ["requires_grad not a bool", withArgs((p) => p.int(0).ints([2]).ints([1]).int(0).orderedDict()), /requires_grad is an int, not a bool/],
    ["backward hooks", withArgs((p) => p.int(0).ints([2]).ints([1]).bool(false).emptyDict().str("h").int(1).setitem()), /backward hooks/],
    ["wrong argument count", withArgs((p) => p.int(0).ints([2])), /with 3 arguments, expected 6 or 7/],
    [
      "storage bytes shorter than declared",
      withArgs((p) => p.int(0).ints([2]).ints([1]).bool(false).orderedDict(), f32([1, 2, 3])),
      /storage 0 \(archive\/data\/0\) holds 12 bytes but declares 4 F32 elements \(16 bytes\)/,
    ],
    [
      "missing storage entry",
      torchCheckpoint([{ name: "w", storage: "0", shape: [2, 2] }], oneStorage(f32([1, 2, 3, 4])), { omit: ["data/0"] }),
      /storage 0 has no entry archive\/data\/0/,
    ],
    [
      "storage key with a slash",
      torchCheckpoint([{ name: "w", storage: "../0", shape: [1] }], new Map([["../0", { type: "FloatStorage", data: f32([1]) }]])),
      /storage key "\.\.\/0" is not a plain name/,
    ],
    ["empty file", new Uint8Array(0), /empty file/],
    [
      "unsupported storage type",
      torchCheckpoint([{ name: "w", storage: "0", shape: [1] }], oneStorage(new Uint8Array(8), "ComplexFloatStorage", 1)),
      /global torch\.ComplexFloatStorage is refused/,
    ],
    [
      "quantized storage type",
      torchCheckpoint([{ name: "w", storage: "0", shape: [1] }], oneStorage(new Uint8Array(1), "QInt8Storage", 1)),
      /global torch\.QInt8Storage is refused/,
    ],
    [
      "legacy non-zip pickle",
      Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]),
      /legacy \(non-zip, PyTorch < 1\.6\) pickle/,
    ],
    ["HDF5 renamed", new TextEncoder().encode("\x89HDF\r\n\x1a\n"), /not a PyTorch zip checkpoint/],
    ["truncated zip", good().slice(0, 200), /not a readable zip archive, or truncated/],
    ["no data.pkl", torchZip({ version: new TextEncoder().encode("3\n") }), /no <name>\/data\.pkl entry/],
    ["two archives", zipSync({ "a/data.pkl": [empty, { level: 0 }], "b/data.pkl": [empty, { level: 0 }] }), /several data\.pkl entries/],
    [
      "big-endian storages",
      torchZip({ "data.pkl": stateDictPickle([], new Map()), byteorder: new TextEncoder().encode("big") }),
      /big-endian/,
    ],
  ];
  for (const [name, bytes, re] of cases) await t.test(name, () => refused(bytes, re));

  await t.test("one storage named with two types", () => {
    const p = new PickleWriter().proto(2).emptyDict().mark();
    for (const [n, type] of [
      ["a", "FloatStorage"],
      ["b", "IntStorage"],
    ] as const) {
      p.str(n).global("torch._utils", "_rebuild_tensor_v2").mark();
      p.mark().str("storage").global("torch", type).str("0").str("cpu").int(1).tuple().persid();
      p.int(0).ints([1]).ints([1]).bool(false).orderedDict().tuple().reduce();
    }
    refused(torchZip({ "data.pkl": p.setitems().stop().bytes(), "data/0": f32([1]) }), /storage 0 is named as 1 F32 and as 1 I32 elements/);
  });

  await t.test("zip entry shorter than the central directory says", () => {
    const bytes = good().slice();
    const view = new DataView(bytes.buffer);
    // Central directory record of the first entry: declare it runs to the end of the file and beyond.
    let cd = bytes.length - 22;
    while (view.getUint32(cd, true) !== 0x02014b50) cd--;
    for (
      cd = view.getUint32(bytes.length - 22 + 16, true);
      view.getUint32(cd, true) === 0x02014b50;
      cd += 46 + view.getUint16(cd + 28, true) + view.getUint16(cd + 30, true) + view.getUint16(cd + 32, true)
    ) {
      if (new TextDecoder().decode(bytes.subarray(cd + 46, cd + 46 + view.getUint16(cd + 28, true))).endsWith("data/0")) {
        view.setUint32(cd + 20, bytes.length - 1, true);
        view.setUint32(cd + 24, bytes.length - 1, true);
      }
    }
    refused(bytes, /zip entry archive\/data\/0 holds \d+ of its \d+ bytes: the archive is truncated or corrupt/);
  });

  await t.test("compression method other than stored or deflate", () => {
    const bytes = good().slice();
    const view = new DataView(bytes.buffer);
    for (
      let cd = view.getUint32(bytes.length - 22 + 16, true);
      view.getUint32(cd, true) === 0x02014b50;
      cd += 46 + view.getUint16(cd + 28, true) + view.getUint16(cd + 30, true) + view.getUint16(cd + 32, true)
    )
      view.setUint16(cd + 10, 12, true);
    refused(bytes, /uses compression method 12; only stored and deflated entries are read/);
  });

  await t.test("deep nesting", () => {
    const marks = new PickleWriter().proto(2);
    for (let i = 0; i < 1000; i++) marks.mark();
    refused(pickleOnly(marks), /MARKs nested more than 100 deep/);
    const tuples = new PickleWriter().proto(2).int(1);
    for (let i = 0; i < 100_000; i++) tuples.op(0x85);
    refused(pickleOnly(tuples.stop()), /values nested more than 100 deep/);
    // Lists built inside out (each filled before it is used), as a pickler writes them.
    const lists = new PickleWriter().proto(2).emptyList();
    for (let i = 0; i < 1000; i++) lists.put(0).op(0x30).emptyList().get(0).append();
    refused(pickleOnly(lists.stop()), /values nested more than 100 deep/);
    const dicts = new PickleWriter().proto(2).emptyDict();
    for (let i = 0; i < 200; i++) dicts.str("k").emptyDict();
    for (let i = 0; i < 200; i++) dicts.setitem();
    refused(pickleOnly(dicts.stop()), /values nested more than 100 deep/);
    // Filling a list after it went inside another (outside in, or into itself) is a recursive structure.
    const outsideIn = new PickleWriter().proto(2).emptyList().emptyList().put(0).append().get(0).int(1).append().stop();
    refused(pickleOnly(outsideIn), /APPEND on a list already inside another value/);
    refused(pickleOnly(new PickleWriter().proto(2).emptyList().put(0).get(0).append().stop()), /APPEND puts a list inside itself/);
  });

  await t.test("huge memo", () => {
    const p = new PickleWriter().proto(2).emptyDict();
    for (let i = 0; i <= 1_000_000; i++) p.put(256 + i);
    refused(pickleOnly(p.stop()), /more than 1000000 memo entries/);
    // A large index alone allocates nothing.
    refused(pickleOnly(new PickleWriter().proto(2).emptyList().put(0xfffffff0).get(0xfffffff0).stop()), /STOP with 2 values/);
  });
});

test("the allow-lists are the documented ones", () => {
  assert.deepEqual(
    [...ALLOWED_GLOBALS].sort(),
    [
      "collections.OrderedDict",
      "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_tensor_v2",
      ...["Float", "Half", "BFloat16", "Double", "Long", "Int", "Short", "Char", "Byte", "Bool"].map((s) => `torch.${s}Storage`),
    ].sort(),
  );
  // docs/formats.md lists the opcodes the unpickler runs: exactly these.
  const docs = readFileSync(new URL("../../docs/formats.md", import.meta.url), "utf8");
  const listed = docs.match(/protocol 2 to 5: `([A-Z0-9_\s]+)`/)?.[1]?.split(/\s+/);
  assert.deepEqual([...(listed ?? [])].sort(), [...ALLOWED_OPCODES].sort());
  for (const op of ["INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "PERSID"]) assert.ok(!ALLOWED_OPCODES.includes(op), op);
  // parseTorchBin is the same reader checkpointTensors uses.
  const t = parseTorchBin(saveTorchBin(new Map([["w", { shape: [1], data: Float32Array.from([3]) }]])), "x.bin");
  assert.deepEqual(t.get("w"), { dtype: "F32", shape: [1], data: Float32Array.from([3]) });
});
