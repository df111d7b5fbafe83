// The graph builder: symbolic tensors with a dtype and a shape whose dimensions are numbers or named
// dynamic dims ("batch", "seq"). It knows nothing of models; ops (ops.ts) are the only way to add nodes.
import { ShapeError } from "../errors.ts";
import type { AttrValue, NodeProtoData } from "./proto.ts";

export type DType = "float32" | "float64" | "int64" | "int32" | "bool" | "uint8";
export type Dim = number | string;
export type Shape = readonly Dim[];

/** Where a graph value comes from when it is not computed by a node. */
export type InputKind = "data" | "param" | "dropout-mask";

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly node: Node<unknown> | null,
    /** Output index within `node`. */
    readonly index: number,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  get isFloat(): boolean {
    return this.dtype === "float32" || this.dtype === "float64";
  }
  toString(): string {
    return `${this.node ? this.node.op.name : "input"}#${this.id}<${this.dtype}>[${this.shape.join(",")}]`;
  }
}

/** Emission context handed to an op's `emit`: it names values and appends ONNX nodes. */
export interface Emitter {
  node(opType: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>, domain?: string): void;
  /** A constant int64 vector (or scalar when `scalar`), deduplicated, returned by name. */
  constI64(values: number[], scalar?: boolean): string;
  /** A constant float scalar of the given dtype. */
  constScalar(value: number, dtype: DType): string;
  /** A fresh value name. */
  tmp(hint: string): string;
}

/** An op's attributes when it has none. */
export type NoAttrs = Record<string, never>;

/**
 * Why no gradient flows through an op, stated in its definition instead of a `vjp`:
 * "zero": its output does not vary with its float inputs (integer or boolean outputs, values that depend
 * on shapes only, stopGradient); grad() passes nothing through.
 * "none": differentiable, but rose has no rule; grad() throws, naming the op, if it lies on the path.
 */
export type NoGradient = "zero" | "none";

/** Cotangents of a node's outputs, one per output (null = zero): never empty, as every op has an output. */
export type Cotangents = [Tensor | null, ...(Tensor | null)[]];

export interface OpDef<A = NoAttrs> {
  name: string;
  /** Shape and dtype rule: throws ShapeError on mismatch. One entry per output. */
  infer(inputs: Tensor[], attrs: A): { dtype: DType; shape: Shape }[];
  /** ONNX emission for one node. */
  emit(e: Emitter, inputs: string[], outputs: string[], attrs: A, node: Node<A>): void;
  /**
   * Vector-Jacobian product: given cotangents of the outputs (null = zero), the cotangents of the
   * inputs (null = no gradient). Built from ops, so the backward pass is part of the same graph.
   */
  vjp?(node: Node<A>, cotangents: Cotangents): (Tensor | null)[];
  /** Set instead of `vjp` (ops.ts's `def` requires exactly one of the two). */
  noGradient?: NoGradient;
}

/** A node: an op applied to inputs, with the op's own attribute type. */
export class Node<A = unknown> {
  outputs: Tensor[] = [];
  constructor(
    readonly id: number,
    readonly op: OpDef<A>,
    readonly inputs: Tensor[],
    readonly attrs: A,
  ) {}
}

/** Whether `n` applies `op`, typing its attributes as that op's. */
export function isNodeOf<A>(n: Node<unknown>, op: OpDef<A>): n is Node<A> {
  return n.op === (op as OpDef<unknown>);
}

export interface InputInfo {
  tensor: Tensor;
  name: string;
  kind: InputKind;
  /** Dropout masks: the site (numbered in creation order, which seeds its mask) and the drop probability. */
  dropout?: { site: number; p: number };
}

export interface ConstInfo {
  tensor: Tensor;
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

export class Graph {
  readonly nodes: Node<unknown>[] = [];
  readonly inputs: InputInfo[] = [];
  readonly consts: ConstInfo[] = [];
  private nextId = 0;
  private names = new Set<string>();
  /** Named dims and where their value can be read: (input name, axis). */
  readonly dimSources = new Map<string, { input: string; axis: number }>();
  private dropoutSites = 0;

  private newTensor(dtype: DType, shape: Shape, node: Node | null, index: number): Tensor {
    return new Tensor(this, this.nextId++, dtype, shape, node, index);
  }

  private addInput(name: string, dtype: DType, shape: Shape, kind: InputKind): Tensor {
    if (this.names.has(name)) throw new ShapeError(`graph input ${name} declared twice`);
    this.names.add(name);
    const t = this.newTensor(dtype, shape, null, 0);
    this.inputs.push({ tensor: t, name, kind });
    shape.forEach((d, axis) => {
      if (typeof d === "string" && !this.dimSources.has(d)) this.dimSources.set(d, { input: name, axis });
    });
    return t;
  }

  /** A data input (token ids, masks, labels): fed at every run. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    return this.addInput(name, dtype, shape, "data");
  }

  /** A trainable parameter: a float input fed from the parameter store at every run. */
  param(name: string, shape: number[], dtype: DType = "float32"): Tensor {
    return this.addInput(name, dtype, shape, "param");
  }

  /** A constant embedded in the model (small tensors: scalars, masks, index vectors). */
  constant(data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array, shape: number[], dtype: DType): Tensor {
    const n = shape.reduce((a, d) => a * d, 1);
    if (n !== data.length) throw new ShapeError(`constant of shape [${shape}] given ${data.length} values`);
    const t = this.newTensor(dtype, shape, null, 0);
    this.consts.push({ tensor: t, data });
    return t;
  }

  scalar(value: number, dtype: DType = "float32"): Tensor {
    switch (dtype) {
      case "float32":
        return this.constant(new Float32Array([value]), [], dtype);
      case "float64":
        return this.constant(new Float64Array([value]), [], dtype);
      case "int64":
        return this.constant(new BigInt64Array([BigInt(value)]), [], dtype);
      case "int32":
        return this.constant(new Int32Array([value]), [], dtype);
      default:
        return this.constant(new Uint8Array([value ? 1 : 0]), [], dtype);
    }
  }

  /**
   * A fresh dropout mask shaped like `shape`: 0 (dropped) or 1/(1-p) (kept), fed by the runtime at every
   * run (session.ts), a new mask per (seed, counter, site).
   */
  dropoutMask(p: number, shape: Shape): Tensor {
    const site = this.dropoutSites++;
    const t = this.addInput(`rose_dropout_mask_${site}`, "float32", shape, "dropout-mask");
    this.inputs[this.inputs.length - 1]!.dropout = { site, p };
    return t;
  }

  /** Appends a node; ops call this (via `apply` in ops.ts). */
  addNode<A>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor[] {
    for (const t of inputs) {
      if (t.graph !== this) throw new ShapeError(`${op.name}: input ${t} belongs to another graph`);
    }
    const outs = op.infer(inputs, attrs);
    const node = new Node<A>(this.nodes.length, op, inputs, attrs);
    node.outputs = outs.map((o, i) => this.newTensor(o.dtype, o.shape, node, i));
    this.nodes.push(node);
    return node.outputs;
  }
}

export type { NodeProtoData };
