// The AdamW update in WebAssembly SIMD (adamw.wat, assembled into adamw-wasm.ts by scripts/build-wasm.ts).
// Four float32 lanes with no float64 detour make it several times faster than the scalar JavaScript loop, and
// each operation rounds as torch's float32 kernels do. WebAssembly sees only its own memory, so the arrays
// pass through it in chunks small enough to stay in cache.
import { ADAMW_WASM } from "./adamw-wasm.ts";

/** Float32 constants of one tensor's update. */
export interface AdamWConsts {
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  eps: number;
  /** -step_size */
  negStep: number;
  /** -lr*wd, or 0 for tensors without decay */
  negDecay: number;
}

type UpdateFn = (
  bytes: number,
  stride: number,
  scale: number,
  m: number,
  om: number,
  b1: number,
  c1: number,
  b2: number,
  c2: number,
  eps: number,
  negStep: number,
  negDecay: number,
) => void;

/** Floats per region: four regions of 64 KiB. */
const CHUNK = 16384;

let kernel: { update: UpdateFn; p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array } | null = null;

function load(): NonNullable<typeof kernel> {
  if (kernel) return kernel;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(ADAMW_WASM));
  const memory = inst.exports.memory as WebAssembly.Memory;
  const region = (i: number) => new Float32Array(memory.buffer, i * CHUNK * 4, CHUNK);
  kernel = { update: inst.exports.update as UpdateFn, p: region(0), g: region(1), m: region(2), v: region(3) };
  return kernel;
}

/**
 * In place: the masked AdamW update of one tensor with mask value `m` (1: plain AdamW) on gradients scaled
 * by `scale` (the clipping coefficient, 1 for none).
 */
export function adamwUpdate(
  p: Float32Array,
  grad: Float32Array,
  ea: Float32Array,
  eas: Float32Array,
  m: number,
  scale: number,
  k: AdamWConsts,
): void {
  const w = load();
  const om = Math.fround(1 - m);
  for (let off = 0; off < p.length; off += CHUNK) {
    const len = Math.min(CHUNK, p.length - off);
    const end = off + len;
    w.p.set(p.subarray(off, end));
    w.g.set(grad.subarray(off, end));
    w.m.set(ea.subarray(off, end));
    w.v.set(eas.subarray(off, end));
    const padded = (len + 3) & ~3;
    if (padded !== len) for (const r of [w.p, w.g, w.m, w.v]) r.fill(0, len, padded);
    w.update(padded * 4, CHUNK * 4, scale, m, om, k.b1, k.c1, k.b2, k.c2, k.eps, k.negStep, k.negDecay);
    p.set(w.p.subarray(0, len), off);
    ea.set(w.m.subarray(0, len), off);
    eas.set(w.v.subarray(0, len), off);
  }
}
