// Global gradient-norm clipping with torch.nn.utils.clip_grad_norm_ semantics.

/** L2 norm of one tensor, accumulated in float64. */
export function l2Norm(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    s += v * v;
  }
  return Math.sqrt(s);
}

/** Global L2 norm of all gradients, accumulated in float64 (four partial sums keep the adds pipelined). */
export function gradNorm(grads: Iterable<Float32Array>): number {
  let s = 0;
  for (const g of grads) {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    const n4 = g.length & ~3;
    let i = 0;
    for (; i < n4; i += 4) {
      const a = g[i]!,
        b = g[i + 1]!,
        c = g[i + 2]!,
        d = g[i + 3]!;
      s0 += a * a;
      s1 += b * b;
      s2 += c * c;
      s3 += d * d;
    }
    for (; i < g.length; i++) s0 += g[i]! * g[i]!;
    s += s0 + s1 + s2 + s3;
  }
  return Math.sqrt(s);
}

/**
 * clip_grad_norm_'s multiplier for gradients of global norm `norm`: maxNorm / (norm + 1e-6) in float32 as
 * torch computes it, or 1 when that is not below 1 (or the norm is not finite: the caller reports that).
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!Number.isFinite(norm) || !(maxNorm > 0)) return 1;
  const coef = Math.fround(maxNorm / Math.fround(Math.fround(norm) + 1e-6));
  return Math.min(coef, 1);
}

/**
 * Scales every gradient in place by maxNorm / (norm + 1e-6) when that coefficient is below 1 and returns the
 * pre-clip global L2 norm (float64 accumulation). A non-finite norm is returned without touching the
 * gradients, so the caller can report divergence instead of training on NaNs.
 */
export function clipGradNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  const norm = gradNorm(grads.values());
  // torch computes the coefficient as a float32 tensor and multiplies in float32.
  const coef = clipCoefficient(norm, maxNorm);
  if (coef < 1) {
    for (const g of grads.values()) {
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
    }
  }
  return norm;
}
