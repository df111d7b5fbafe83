// Shape rules shared by ops: broadcasting, axis normalisation, symbolic dimension arithmetic.
import { ShapeError } from "../errors.ts";
import type { Dim, Shape } from "./graph.ts";

export function fmt(s: Shape): string {
  return `[${s.join(", ")}]`;
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy broadcasting of two shapes. Named dims match when equal; 1 broadcasts against anything. */
export function broadcast(a: Shape, b: Shape, op: string): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 1;
    const y = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === "number" && typeof y === "number") {
      throw new ShapeError(`${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (axis ${i}: ${x} vs ${y})`);
    } else {
      // A named dim against a number or another name: only the runtime can tell; prefer the number.
      out.push(typeof x === "number" ? x : y);
    }
  }
  return out;
}

/** The product of dims: a number when all are known, else a name like "batch*seq". */
export function dimProduct(dims: Shape): Dim {
  let n = 1;
  const names: string[] = [];
  for (const d of dims) {
    if (typeof d === "number") n *= d;
    else names.push(d);
  }
  if (names.length === 0) return n;
  return n === 1 ? names.join("*") : `${names.join("*")}*${n}`;
}

/** Resolves a (possibly composite) named dim from bound values: "batch*seq*4" -> number. */
export function resolveDim(d: Dim, bound: ReadonlyMap<string, number>): number | undefined {
  if (typeof d === "number") return d;
  let n = 1;
  for (const part of d.split("*")) {
    const v = /^\d+$/.test(part) ? Number(part) : bound.get(part);
    if (v === undefined) return undefined;
    n *= v;
  }
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
