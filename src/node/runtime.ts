// Node's bindings for the portable core: importing this module registers onnxruntime-node for the engine
// (every core as the default thread count) and Hugging Face's native tokenizers for Tokenizer. Every Node
// entry point (the library, the CLI, benchmarks, tests) imports it before anything compiles a graph or
// loads a tokenizer.
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { type Runtime, setRuntime } from "../engine/runtime.ts";
import { setTokenizerEngine } from "../io/tokenizer-engine.ts";
import { nativeTokenizerEngine } from "./tokenizer-engine.ts";

export const nodeRuntime: Runtime = {
  name: "onnxruntime-node",
  ort,
  defaultThreads: availableParallelism(),
  preallocatedOutputs: true,
};

setRuntime(nodeRuntime);
setTokenizerEngine(nativeTokenizerEngine);
