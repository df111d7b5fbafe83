// The onnxruntime binding the engine runs graphs on, chosen at the edge: rose's Node entry registers
// onnxruntime-node (src/node/runtime.ts), a browser registers onnxruntime-web. The engine itself imports no
// binding, so it runs wherever one is registered.
import type { InferenceSession, TensorConstructor } from "onnxruntime-common";
import { EngineError } from "../errors.ts";

/** The part of an onnxruntime binding (`import * as ort from "onnxruntime-…"`) the engine uses. */
export interface OrtBinding {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  readonly Tensor: TensorConstructor;
}

export interface Runtime {
  /** Names the binding in messages, e.g. "onnxruntime-node". */
  readonly name: string;
  readonly ort: OrtBinding;
  /** Intra-op threads when a compile does not say (the engine does not ask the platform). */
  readonly defaultThreads: number;
  /**
   * Whether `session.run(feeds, fetches)` fills preallocated output tensors. onnxruntime-web leaves them
   * zero without an error (microsoft/onnxruntime#25786); the engine then copies the outputs instead.
   */
  readonly preallocatedOutputs: boolean;
}

let registered: Runtime | null = null;

/** Registers the binding that programs compiled from now on use (null: none); returns the one it replaces. */
export function setRuntime(rt: Runtime | null): Runtime | null {
  const previous = registered;
  registered = rt;
  return previous;
}

/** The registered binding, or null. */
export function currentRuntime(): Runtime | null {
  return registered;
}

/** The registered binding; throws an EngineError saying how to register one when there is none. */
export function requireRuntime(): Runtime {
  if (registered) return registered;
  throw new EngineError(
    'no onnxruntime binding is registered: in Node import "rose" (or src/node/runtime.ts) first; in a browser call setRuntime() with onnxruntime-web',
  );
}
