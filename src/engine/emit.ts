// Lowers the part of a graph that the requested outputs need to an ONNX model.
import type { AttrValue, NodeProtoData, TensorProtoData, ValueInfoData, OnnxDTypeName } from "./proto.ts";
import { encodeModel } from "./proto.ts";
import type { DType, Emitter, Graph, InputInfo, Node, Tensor } from "./graph.ts";

export const OPSET = 18;
export const IR_VERSION = 8;

export interface EmittedModel {
  bytes: Uint8Array;
  /** Graph inputs the model reads, in declaration order. */
  inputs: InputInfo[];
  /** Node name -> description, to explain onnxruntime errors. */
  nodeInfo: Map<string, string>;
}

function rawOf(data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface EmitOptions {
  /** Embed these parameter values as initializers instead of graph inputs (for exported models). */
  initializers?: Map<string, Float32Array>;
  name?: string;
}

export function emitModel(graph: Graph, outputs: Record<string, Tensor>, opts: EmitOptions = {}): EmittedModel {
  const { needed, used } = neededBy(Object.values(outputs));
  const lowering = new Lowering();
  const inputInfos = lowering.nameInputs(graph, used);
  lowering.addConsts(graph, used);
  const renamed = lowering.nameOutputResults(outputs);
  lowering.emitNodes(needed);
  const graphOutputs = lowering.addOutputs(outputs, renamed);
  const { graphInputs, runtimeInputs } = lowering.addInputs(inputInfos, opts.initializers);
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    producer: "rose",
    opsets: [
      { domain: "", version: OPSET },
      { domain: "com.microsoft", version: 1 },
    ],
    graph: {
      name: opts.name ?? "rose",
      nodes: lowering.nodes,
      initializers: lowering.initializers,
      inputs: graphInputs,
      outputs: graphOutputs,
    },
  });
  return { bytes, inputs: runtimeInputs, nodeInfo: lowering.nodeInfo };
}

/** The nodes the outputs need, and the ids of every tensor on the way. */
function neededBy(outputs: Tensor[]): { needed: Set<Node>; used: Set<number> } {
  const needed = new Set<Node>();
  const used = new Set<number>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (used.has(t.id)) continue;
    used.add(t.id);
    if (t.node && !needed.has(t.node)) {
      needed.add(t.node);
      for (const i of t.node.inputs) stack.push(i);
    }
  }
  return { needed, used };
}

/** The ONNX nodes, initializers and value names of one model, built as the ops emit themselves. */
class Lowering implements Emitter {
  readonly nodes: NodeProtoData[] = [];
  readonly initializers: TensorProtoData[] = [];
  /** Node name -> description, to explain onnxruntime errors. */
  readonly nodeInfo = new Map<string, string>();
  private readonly names = new Map<number, string>();
  private readonly i64Cache = new Map<string, string>();
  private tmpCount = 0;
  private currentNode = "";

  /** Graph inputs keep their names; returns those the model reads. */
  nameInputs(graph: Graph, used: Set<number>): InputInfo[] {
    const read: InputInfo[] = [];
    for (const inp of graph.inputs) {
      this.names.set(inp.tensor.id, inp.name);
      if (used.has(inp.tensor.id)) read.push(inp);
    }
    return read;
  }

  /** The constants the model reads, as initializers. */
  addConsts(graph: Graph, used: Set<number>): void {
    for (const c of graph.consts) {
      if (!used.has(c.tensor.id)) continue;
      const name = `c${c.tensor.id}`;
      this.names.set(c.tensor.id, name);
      this.initializers.push({
        kind: "tensor",
        name,
        dtype: c.tensor.dtype as OnnxDTypeName,
        dims: c.tensor.shape as number[],
        raw: rawOf(c.data),
      });
    }
  }

  /**
   * A node's result that is a graph output takes the output's name, so no Identity copies it (onnxruntime
   * keeps such copies when the result also feeds other nodes, e.g. a gradient that also feeds the norm).
   * Returns the outputs so named.
   */
  nameOutputResults(outputs: Record<string, Tensor>): Set<string> {
    const renamed = new Set<string>();
    for (const [name, t] of Object.entries(outputs)) {
      if (t.node && !this.names.has(t.id)) {
        this.names.set(t.id, name);
        renamed.add(name);
      }
    }
    return renamed;
  }

  /** Each node's ONNX nodes, in creation order (a topological order). */
  emitNodes(needed: Set<Node>): void {
    const ordered = [...needed].sort((a, b) => a.id - b.id);
    for (const n of ordered) {
      this.currentNode = `${n.op.name}_${n.id}`;
      const desc = `${n.op.name} (inputs ${n.inputs.map((t) => `${t.dtype}[${t.shape.join(",")}]`).join(", ")})`;
      this.nodeInfo.set(this.currentNode, desc);
      n.op.emit(this, n.inputs.map(this.nameOf), n.outputs.map(this.nameOf), n.attrs, n);
    }
  }

  /** The graph outputs, with an Identity for each not named in place. */
  addOutputs(outputs: Record<string, Tensor>, renamed: Set<string>): ValueInfoData[] {
    const graphOutputs: ValueInfoData[] = [];
    for (const [name, t] of Object.entries(outputs)) {
      if (!renamed.has(name)) this.nodes.push({ opType: "Identity", inputs: [this.nameOf(t)], outputs: [name], name: `out/${name}` });
      graphOutputs.push({ name, dtype: t.dtype as OnnxDTypeName, shape: [...t.shape] });
    }
    return graphOutputs;
  }

  /** The graph inputs, less the parameters embedded as initializers. */
  addInputs(
    inputInfos: InputInfo[],
    embedded: Map<string, Float32Array> | undefined,
  ): { graphInputs: ValueInfoData[]; runtimeInputs: InputInfo[] } {
    const graphInputs: ValueInfoData[] = [];
    const runtimeInputs: InputInfo[] = [];
    for (const inp of inputInfos) {
      const value = embedded?.get(inp.name);
      if (value && inp.kind === "param") {
        this.initializers.push({ kind: "tensor", name: inp.name, dtype: "float32", dims: inp.tensor.shape as number[], raw: rawOf(value) });
      } else {
        graphInputs.push({ name: inp.name, dtype: inp.tensor.dtype as OnnxDTypeName, shape: [...inp.tensor.shape] });
        runtimeInputs.push(inp);
      }
    }
    return { graphInputs, runtimeInputs };
  }

  private readonly nameOf = (t: Tensor): string => {
    let n = this.names.get(t.id);
    if (!n) {
      n = `t${t.id}`;
      this.names.set(t.id, n);
    }
    return n;
  };

  node(opType: string, inputs: string[], outs: string[], attrs?: Record<string, AttrValue>, domain?: string): void {
    const name = `${this.currentNode}/${opType}_${this.nodes.length}`;
    this.nodes.push({ opType, inputs, outputs: outs, attrs, domain, name });
    this.nodeInfo.set(name, this.currentNode);
  }

  constI64(values: number[], scalar = false): string {
    const key = `${scalar ? "s" : "v"}:${values.join(",")}`;
    let n = this.i64Cache.get(key);
    if (!n) {
      n = `k${this.i64Cache.size}`;
      this.i64Cache.set(key, n);
      const data = new BigInt64Array(values.map((v) => BigInt(Math.trunc(v))));
      this.initializers.push({ kind: "tensor", name: n, dtype: "int64", dims: scalar ? [] : [values.length], raw: rawOf(data) });
    }
    return n;
  }

  constScalar(value: number, dtype: DType): string {
    const n = `s${this.tmpCount++}`;
    const data = dtype === "float64" ? new Float64Array([value]) : new Float32Array([value]);
    this.initializers.push({ kind: "tensor", name: n, dtype: dtype as OnnxDTypeName, dims: [], raw: rawOf(data) });
    return n;
  }

  tmp(hint: string): string {
    return `${hint}_${this.tmpCount++}`;
  }
}
