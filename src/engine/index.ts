export { Graph, Tensor, Node } from "./graph.ts";
export type { DType, Dim, Shape, OpDef, Emitter, InputInfo } from "./graph.ts";
export * as ops from "./ops.ts";
export { grad } from "./autodiff.ts";
export { Program } from "./session.ts";
export type { HostTensor, HostArray, CompileOptions, RunOptions } from "./session.ts";
export { emitModel } from "./emit.ts";
export { Rng, hash32, mixKey } from "./rng.ts";
