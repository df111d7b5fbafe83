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
  // Which nodes the outputs need.
  const needed = new Set<Node>();
  const usedTensors = new Set<number>();
  const stack: Tensor[] = Object.values(outputs);
  while (stack.length) {
    const t = stack.pop()!;
    if (usedTensors.has(t.id)) continue;
    usedTensors.add(t.id);
    if (t.node && !needed.has(t.node)) {
      needed.add(t.node);
      for (const i of t.node.inputs) stack.push(i);
    }
  }

  const names = new Map<number, string>();
  const inputInfos: InputInfo[] = [];
  for (const inp of graph.inputs) {
    names.set(inp.tensor.id, inp.name);
    if (usedTensors.has(inp.tensor.id)) inputInfos.push(inp);
  }
  const initializers: TensorProtoData[] = [];
  for (const c of graph.consts) {
    if (!usedTensors.has(c.tensor.id)) continue;
    const name = `c${c.tensor.id}`;
    names.set(c.tensor.id, name);
    initializers.push({
      kind: "tensor",
      name,
      dtype: c.tensor.dtype as OnnxDTypeName,
      dims: c.tensor.shape as number[],
      raw: rawOf(c.data),
    });
  }
  const nameOf = (t: Tensor): string => {
    let n = names.get(t.id);
    if (!n) {
      n = `t${t.id}`;
      names.set(t.id, n);
    }
    return n;
  };

  // A node's result that is a graph output takes the output's name, so no Identity copies it (onnxruntime
  // keeps such copies when the result also feeds other nodes, e.g. a gradient that also feeds the norm).
  const renamedOutputs = new Set<string>();
  for (const [name, t] of Object.entries(outputs)) {
    if (t.node && !names.has(t.id)) {
      names.set(t.id, name);
      renamedOutputs.add(name);
    }
  }

  const nodes: NodeProtoData[] = [];
  const i64Cache = new Map<string, string>();
  let tmpCount = 0;
  let currentNode = "";
  const nodeInfo = new Map<string, string>();
  const emitter: Emitter = {
    node(opType: string, inputs: string[], outs: string[], attrs?: Record<string, AttrValue>, domain?: string) {
      const name = `${currentNode}/${opType}_${nodes.length}`;
      nodes.push({ opType, inputs, outputs: outs, attrs, domain, name });
      nodeInfo.set(name, currentNode);
    },
    constI64(values: number[], scalar = false) {
      const key = `${scalar ? "s" : "v"}:${values.join(",")}`;
      let n = i64Cache.get(key);
      if (!n) {
        n = `k${i64Cache.size}`;
        i64Cache.set(key, n);
        const data = new BigInt64Array(values.map((v) => BigInt(Math.trunc(v))));
        initializers.push({ kind: "tensor", name: n, dtype: "int64", dims: scalar ? [] : [values.length], raw: rawOf(data) });
      }
      return n;
    },
    constScalar(value: number, dtype: DType) {
      const n = `s${tmpCount++}`;
      const data = dtype === "float64" ? new Float64Array([value]) : new Float32Array([value]);
      initializers.push({ kind: "tensor", name: n, dtype: dtype as OnnxDTypeName, dims: [], raw: rawOf(data) });
      return n;
    },
    tmp(hint: string) {
      return `${hint}_${tmpCount++}`;
    },
  };

  const ordered = [...needed].sort((a, b) => a.id - b.id);
  for (const n of ordered) {
    currentNode = `${n.op.name}_${n.id}`;
    const desc = `${n.op.name} (inputs ${n.inputs.map((t) => `${t.dtype}[${t.shape.join(",")}]`).join(", ")})`;
    nodeInfo.set(currentNode, desc);
    n.op.emit(emitter, n.inputs.map(nameOf), n.outputs.map(nameOf), n.attrs, n);
  }

  const graphOutputs: ValueInfoData[] = [];
  for (const [name, t] of Object.entries(outputs)) {
    if (!renamedOutputs.has(name)) nodes.push({ opType: "Identity", inputs: [nameOf(t)], outputs: [name], name: `out/${name}` });
    graphOutputs.push({ name, dtype: t.dtype as OnnxDTypeName, shape: [...t.shape] });
  }

  const embedded = opts.initializers;
  const graphInputs: ValueInfoData[] = [];
  const runtimeInputs: InputInfo[] = [];
  for (const inp of inputInfos) {
    const value = embedded?.get(inp.name);
    if (value && inp.kind === "param") {
      initializers.push({ kind: "tensor", name: inp.name, dtype: "float32", dims: inp.tensor.shape as number[], raw: rawOf(value) });
    } else {
      graphInputs.push({ name: inp.name, dtype: inp.tensor.dtype as OnnxDTypeName, shape: [...inp.tensor.shape] });
      runtimeInputs.push(inp);
    }
  }

  const bytes = encodeModel({
    irVersion: IR_VERSION,
    producer: "rose",
    opsets: [
      { domain: "", version: OPSET },
      { domain: "com.microsoft", version: 1 },
    ],
    graph: { name: opts.name ?? "rose", nodes, initializers, inputs: graphInputs, outputs: graphOutputs },
  });
  return { bytes, inputs: runtimeInputs, nodeInfo };
}
