// onnxruntime-web's WebAssembly backend as a Runtime, for Node (tests compare it with onnxruntime-node; a
// browser registers onnxruntime-web the same way). Importing this module registers nothing: call
// `setRuntime(webRuntime)`. In Node the binding finds its kernels itself, offline: it imports
// ./ort-wasm-simd-threaded.mjs beside its own module in node_modules/onnxruntime-web/dist/, which reads
// ort-wasm-simd-threaded.wasm beside itself, so no `env.wasm.wasmPaths` is needed.
import * as ort from "onnxruntime-web";
import type { Runtime } from "../../src/engine/runtime.ts";

// One thread: the multi-threaded build would start worker threads, which a comparison does not need.
ort.env.wasm.numThreads = 1;

export const webRuntime: Runtime = {
  name: "onnxruntime-web",
  ort,
  defaultThreads: 1,
  // Preallocated outputs come back all zero (microsoft/onnxruntime#25786).
  preallocatedOutputs: false,
};
