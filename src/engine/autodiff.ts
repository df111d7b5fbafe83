// Reverse-mode autodiff over the graph: appends the backward nodes to the same graph, so the forward
// activations are shared with the backward pass, never recomputed.
import { ShapeError } from "../errors.ts";
import type { Cotangents, Tensor } from "./graph.ts";
import { add, reshapeAs } from "./ops.ts";
import { fmt } from "./shape.ts";

/**
 * Gradients of `loss` (a scalar, or any tensor when `seed` gives its cotangent) with respect to each
 * of `wrt`. Entries are null where `loss` does not depend on that tensor. Ops whose gradient is zero by
 * definition (`noGradient: "zero"`: comparisons, integer ops, stopGradient) pass nothing through; an op on
 * the path without a rule is an error naming it, never a silently missing gradient.
 */
export function grad(loss: Tensor, wrt: Tensor[], seed?: Tensor): (Tensor | null)[] {
  const g = loss.graph;
  if (!seed && !loss.shape.every((d) => d === 1)) {
    throw new ShapeError(`grad: loss must be a scalar, got ${fmt(loss.shape)} (pass a seed cotangent otherwise)`);
  }
  if (!loss.isFloat) throw new ShapeError(`grad: loss must be float, got ${loss.dtype}`);

  // Forward sweep: which tensors depend on any of `wrt`.
  const depends = new Set<number>(wrt.map((t) => t.id));
  const lastNode = loss.node ? loss.node.id : -1;
  for (const n of g.nodes) {
    if (n.id > lastNode) break;
    if (n.inputs.some((t) => depends.has(t.id))) for (const o of n.outputs) depends.add(o.id);
  }

  const cot = new Map<number, Tensor>();
  cot.set(loss.id, seed ?? g.scalar(1, loss.dtype));
  const accumulate = (t: Tensor, c: Tensor): void => {
    const c2 = c.rank === t.rank || t.rank === 0 ? c : reshapeAs(c, t);
    const prev = cot.get(t.id);
    cot.set(t.id, prev ? add(prev, c2) : c2);
  };

  for (let i = lastNode; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.op.noGradient === "zero") continue;
    const outCot = n.outputs.map((o) => cot.get(o.id) ?? null);
    if (!isCotangents(outCot) || outCot.every((c) => c === null)) continue;
    if (!n.inputs.some((t) => depends.has(t.id) && t.isFloat)) continue;
    if (!n.op.vjp)
      throw new ShapeError(
        `grad: op ${n.op.name} (node ${n.id}) lies on the path from the loss to the wanted tensors and has no gradient rule`,
      );
    const inCot = n.op.vjp(n, outCot);
    n.inputs.forEach((t, k) => {
      const c = inCot[k];
      if (c && depends.has(t.id) && t.isFloat) accumulate(t, c);
    });
  }
  return wrt.map((t) => cot.get(t.id) ?? null);
}

/** Narrows to the non-empty list a `vjp` takes (a node without outputs has nothing to pass back). */
function isCotangents(c: (Tensor | null)[]): c is Cotangents {
  return c.length > 0;
}
