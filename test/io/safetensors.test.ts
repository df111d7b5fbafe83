import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSafetensors, serializeSafetensors, f32ToF16, type WriteTensor } from "../../src/io/safetensors.ts";
import { readSafetensors, writeSafetensors } from "../../src/node/safetensors.ts";
import { FormatError } from "../../src/errors.ts";
import { Rng } from "../../src/engine/rng.ts";

const GOLDEN = new URL("../fixtures/golden/", import.meta.url);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "rose-st-"));
}

/** Builds a safetensors file from a raw header object and a data section. */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const h = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

test("F32 and I64 round trip is bit-identical, metadata and order kept", () => {
  const dir = tmp();
  try {
    const rng = new Rng(7);
    const f = new Float32Array(3 * 5);
    for (let i = 0; i < f.length; i++) f[i] = rng.normal();
    f[0] = -0;
    f[1] = Number.MIN_VALUE;
    f[2] = 3.4e38;
    f[3] = NaN;
    f[4] = -Infinity;
    const ids = BigInt64Array.from([0n, -1n, 9007199254740993n, -(2n ** 63n)]);
    const file = join(dir, "x.safetensors");
    writeSafetensors(
      file,
      [
        ["w", { shape: [3, 5], data: f }],
        ["ids", { shape: [2, 2], data: ids }],
        ["empty", { shape: [0, 4], data: new Float32Array(0) }],
      ],
      { format: "pt", note: "x" },
    );
    const st = readSafetensors(file);
    assert.deepEqual([...st.tensors.keys()], ["w", "ids", "empty"]);
    assert.deepEqual(st.metadata, { format: "pt", note: "x" });
    const w = st.tensors.get("w")!;
    assert.equal(w.dtype, "F32");
    assert.deepEqual(w.shape, [3, 5]);
    assert.deepEqual(bytesOf(w.data as Float32Array), bytesOf(f));
    const i = st.tensors.get("ids")!;
    assert.equal(i.dtype, "I64");
    assert.deepEqual([...(i.data as BigInt64Array)], [...ids]);
    assert.deepEqual(st.tensors.get("empty")!.shape, [0, 4]);
    // Re-serialising what was read gives the same bytes.
    const again = serializeSafetensors(st.tensors, st.metadata);
    assert.deepEqual(again, new Uint8Array(readFileSync(file)));
    // Data section is 8-byte aligned, as the reference writer pads it.
    const hlen = Number(new DataView(again.buffer).getBigUint64(0, true));
    assert.equal((8 + hlen) % 8, 0);
    assert.deepEqual(readdirSync(dir), ["x.safetensors"], "no temporary file left behind");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("golden checkpoint re-serialises to identical tensors", () => {
  const file = new URL("models/bert/model.safetensors", GOLDEN).pathname;
  const st = readSafetensors(file);
  assert.ok(st.tensors.size > 10);
  const back = parseSafetensors(serializeSafetensors(st.tensors, st.metadata));
  for (const [name, t] of st.tensors) {
    const b = back.tensors.get(name)!;
    assert.deepEqual(b.shape, t.shape, name);
    assert.deepEqual(bytesOf(b.data as Float32Array), bytesOf(t.data as Float32Array), name);
  }
});

test("F16 storage: exact for representable values, rounds to nearest even, stable on re-save", () => {
  const vals = [
    0,
    -0,
    1,
    -2,
    0.5,
    65504,
    2 ** -24,
    2 ** -14,
    1 + 2 ** -10,
    1 / 3,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    70000,
    2 ** -26,
    NaN,
    Infinity,
  ];
  const f = Float32Array.from(vals);
  const bytes = serializeSafetensors([["h", { shape: [f.length], data: f, dtype: "F16" }]]);
  const hdr = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))));
  assert.equal(hdr.h.dtype, "F16");
  assert.deepEqual(hdr.h.data_offsets, [0, 2 * f.length]);
  const got = parseSafetensors(bytes).tensors.get("h")!;
  assert.equal(got.dtype, "F32");
  const d = got.data as Float32Array;
  const expected = [
    0,
    -0,
    1,
    -2,
    0.5,
    65504,
    2 ** -24,
    2 ** -14,
    1 + 2 ** -10,
    0.333251953125,
    1 /* tie -> even */,
    1 + 2 ** -9 /* tie -> even */,
    Infinity,
    0,
    NaN,
    Infinity,
  ];
  assert.equal(d.length, expected.length);
  for (let k = 0; k < expected.length; k++) assert.ok(Object.is(d[k], expected[k]), `value ${vals[k]} -> ${d[k]}, want ${expected[k]}`);
  // Half -> float -> half is the identity on bits.
  for (let k = 0; k < d.length; k++) {
    assert.equal(f32ToF16(d[k]!), new Uint16Array(bytes.buffer, bytes.byteOffset + bytes.length - 2 * f.length, f.length)[k]!);
  }
  assert.deepEqual(serializeSafetensors([["h", { shape: [d.length], data: d, dtype: "F16" }]]), bytes);
});

test("BF16 and F16 tensors written by other tools decode to float32", () => {
  const bf = new Uint16Array([0x3f80, 0xc000, 0x0000]); // 1, -2, 0
  const h = new Uint16Array([0x3c00, 0xc000, 0x7c00]); // 1, -2, inf
  const data = new Uint8Array(12);
  data.set(new Uint8Array(bf.buffer), 0);
  data.set(new Uint8Array(h.buffer), 6);
  const st = parseSafetensors(
    rawFile({ b: { dtype: "BF16", shape: [3], data_offsets: [0, 6] }, h: { dtype: "F16", shape: [3], data_offsets: [6, 12] } }, data),
  );
  assert.deepEqual([...(st.tensors.get("b")!.data as Float32Array)], [1, -2, 0]);
  assert.deepEqual([...(st.tensors.get("h")!.data as Float32Array)], [1, -2, Infinity]);
});

function expectFormatError(fn: () => unknown, file: string, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    for (const p of parts) {
      if (typeof p === "string") assert.ok(e.message.includes(p), `"${e.message}" should mention "${p}"`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

const F = "bad.safetensors";
const four = new Uint8Array(16);

test("corrupt: truncated file (no header length / missing data)", () => {
  expectFormatError(() => parseSafetensors(new Uint8Array(5), F), F, "truncated");
  const good = serializeSafetensors([["weight", { shape: [4], data: new Float32Array(4) }]]);
  expectFormatError(() => parseSafetensors(good.subarray(0, good.length - 3), F), F, "truncated", "weight");
});

test("corrupt: header length too large", () => {
  const b = rawFile({}, new Uint8Array(0));
  new DataView(b.buffer).setBigUint64(0, 1000n, true);
  expectFormatError(() => parseSafetensors(b, F), F, "header length 1000");
  new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  expectFormatError(() => parseSafetensors(b, F), F, "header length");
});

test("corrupt: header is not JSON / not an object", () => {
  expectFormatError(() => parseSafetensors(rawFile(null, four, '{"a": {"dtype": "F32",'), F), F, "not valid JSON");
  expectFormatError(() => parseSafetensors(rawFile([1, 2], four), F), F, "not a JSON object");
  expectFormatError(() => parseSafetensors(rawFile({ t: 3 }, four), F), F, "tensor t", "not an object");
  expectFormatError(() => parseSafetensors(rawFile({ __metadata__: { a: 1 } }, four), F), F, "__metadata__");
});

test("corrupt: unknown dtype", () => {
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F8", shape: [4], data_offsets: [0, 4] } }, four), F),
    F,
    "tensor w",
    "unknown dtype",
    "F8",
  );
  // A key of Object.prototype must not pass as a dtype.
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "toString", shape: [4], data_offsets: [0, 4] } }, four), F),
    F,
    "tensor w",
    "unknown dtype",
  );
  expectFormatError(() => parseSafetensors(rawFile({ w: { shape: [4], data_offsets: [0, 4] } }, four), F), F, "tensor w", "unknown dtype");
});

test("corrupt: invalid shape or offsets", () => {
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, four), F),
    F,
    "tensor w",
    "invalid shape",
  );
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, four), F),
    F,
    "tensor w",
    "invalid data_offsets",
  );
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [0] } }, four), F),
    F,
    "tensor w",
    "invalid data_offsets",
  );
});

test("corrupt: shape x dtype size differs from the byte range", () => {
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, four), F),
    F,
    "tensor w",
    "needs 16 bytes",
    "span 12",
  );
  expectFormatError(
    () => parseSafetensors(rawFile({ ids: { dtype: "I64", shape: [3], data_offsets: [0, 16] } }, four), F),
    F,
    "tensor ids",
    "needs 24 bytes",
  );
});

test("corrupt: byte range outside the file", () => {
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [2], data_offsets: [12, 20] } }, four), F),
    F,
    "tensor w",
    "ends at byte 20",
    "only 16 bytes",
  );
});

test("corrupt: overlapping byte ranges", () => {
  const h = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } };
  expectFormatError(() => parseSafetensors(rawFile(h, four), F), F, "tensors a and b overlap");
  // Empty tensors sharing an offset with a real one are fine (the reference writer produces them).
  const ok = {
    e: { dtype: "F32", shape: [0], data_offsets: [8, 8] },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
  };
  assert.equal(parseSafetensors(rawFile(ok, four), F).tensors.size, 3);
});

test("corrupt: element counts that overflow, gaps and trailing bytes (the ranges must tile the data)", () => {
  const huge = 2 ** 30;
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [huge, huge, huge], data_offsets: [0, 16] } }, four), F),
    F,
    "tensor w",
    "overflows",
  );
  // 2^51 x 4 bytes is past 2^53 even though every dimension is a safe integer.
  expectFormatError(
    () => parseSafetensors(rawFile({ w: { dtype: "F32", shape: [2 ** 51, 1], data_offsets: [0, 16] } }, four), F),
    F,
    "tensor w",
    "overflows",
  );
  const gap = { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } };
  expectFormatError(() => parseSafetensors(rawFile(gap, four), F), F, "bytes 4..8", "before tensor b", "belong to no tensor");
  const short = { a: { dtype: "F32", shape: [3], data_offsets: [0, 12] } };
  expectFormatError(() => parseSafetensors(rawFile(short, four), F), F, "4 bytes after the last tensor");
  const late = { a: { dtype: "F32", shape: [1], data_offsets: [12, 16] } };
  expectFormatError(() => parseSafetensors(rawFile(late, four), F), F, "bytes 0..12", "before tensor a");
  // A file cut anywhere in its data, or with bytes appended, is refused.
  const good = serializeSafetensors([
    ["a", { shape: [2], data: new Float32Array([1, 2]) }],
    ["b", { shape: [1], data: new Float32Array([3]) }],
  ]);
  for (let cut = 1; cut <= 12; cut++)
    expectFormatError(() => parseSafetensors(good.subarray(0, good.length - cut), F), F, /truncated|ends at byte/);
  const padded = new Uint8Array(good.length + 4);
  padded.set(good);
  expectFormatError(() => parseSafetensors(padded, F), F, "4 bytes after the last tensor");
});

test("readSafetensors names the file it cannot read; corrupt file on disk names it", () => {
  const dir = tmp();
  try {
    const missing = join(dir, "none.safetensors");
    expectFormatError(() => readSafetensors(missing), missing, "cannot read");
    const bad = join(dir, "bad.safetensors");
    writeFileSync(bad, rawFile({ w: { dtype: "Q4", shape: [1], data_offsets: [0, 4] } }, four));
    expectFormatError(() => readSafetensors(bad), bad, "tensor w", "unknown dtype");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writer rejects inconsistent input, naming the tensor", () => {
  const t = (w: WriteTensor): [string, WriteTensor][] => [["w", w]];
  expectFormatError(
    () => serializeSafetensors(t({ shape: [3], data: new Float32Array(4) }), undefined, "out.st"),
    "out.st",
    "tensor w",
    "does not match 4 elements",
  );
  expectFormatError(
    () => serializeSafetensors(t({ shape: [4], data: new BigInt64Array(4), dtype: "F16" }), undefined, "out.st"),
    "out.st",
    "tensor w",
    "F16 storage needs float32",
  );
  expectFormatError(
    () => serializeSafetensors(t({ shape: [4], data: new Float32Array(4), dtype: "BF16" }), undefined, "out.st"),
    "out.st",
    "tensor w",
    "as BF16",
  );
  expectFormatError(
    () =>
      serializeSafetensors(
        [
          ["w", { shape: [1], data: new Float32Array(1) }],
          ["w", { shape: [1], data: new Float32Array(1) }],
        ],
        undefined,
        "out.st",
      ),
    "out.st",
    "appears twice",
  );
  expectFormatError(
    () => serializeSafetensors([["__metadata__", { shape: [1], data: new Float32Array(1) }]], {}, "out.st"),
    "out.st",
    "__metadata__",
  );
});
