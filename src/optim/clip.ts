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

/**
 * Scales every gradient in place by maxNorm / (norm + 1e-6) when that coefficient is below 1 and returns the
 * pre-clip global L2 norm (float64 accumulation). A non-finite norm is returned without touching the
 * gradients, so the caller can report divergence instead of training on NaNs.
 */
export function clipGradNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  let s = 0;
  for (const g of grads.values()) {
    for (let i = 0; i < g.length; i++) {
      const v = g[i]!;
      s += v * v;
    }
  }
  const norm = Math.sqrt(s);
  if (!Number.isFinite(norm)) return norm;
  // torch computes the coefficient as a float32 tensor and multiplies in float32.
  const coef = Math.fround(maxNorm / Math.fround(Math.fround(norm) + 1e-6));
  if (coef < 1) {
    for (const g of grads.values()) {
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
    }
  }
  return norm;
}
