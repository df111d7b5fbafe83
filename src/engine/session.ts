// Compiles a graph to a session of the registered onnxruntime binding (runtime.ts) and runs it. Parameters
// are graph inputs fed from Float32Arrays at every call, so one compiled graph serves every training step.
import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import { EngineError, ShapeError } from "../errors.ts";
import type { DType, Graph, InputInfo, Tensor } from "./graph.ts";
import { emitModel, type EmitOptions } from "./emit.ts";
import { hash32, mixKey } from "./rng.ts";
import { requireRuntime, type Runtime } from "./runtime.ts";
import { fmt, resolveDim } from "./shape.ts";

export type HostArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface HostTensor {
  data: HostArray;
  dims: number[];
}

export interface CompileOptions extends EmitOptions {
  /** Intra-op threads (default: the registered runtime's, all cores in Node). */
  threads?: number;
  optimization?: "disabled" | "basic" | "extended" | "all";
  /**
   * onnxruntime's memory pattern (one planned block for all activations). A few percent faster for
   * inference graphs, but the arena then holds both the first run's per-tensor allocations and the
   * planned block: training graphs peaked 35-40% higher with it (bench train --config mini: 1489 vs
   * 986 MiB) at the same speed. Default off.
   */
  memoryPattern?: boolean;
  /** Write the optimised model here (debugging, profiling). */
  optimizedModelPath?: string;
  /** Enable onnxruntime's per-node profiler; files start with this prefix (see `endProfiling`). */
  profilePrefix?: string;
}

export interface RunOptions {
  /** Seed and counter from which this run's dropout masks are derived (required if the graph has dropout). */
  seed?: number;
  counter?: number;
}

const ORT_TYPE: Record<DType, OrtTensor.Type> = {
  float32: "float32",
  float64: "float64",
  int64: "int64",
  int32: "int32",
  bool: "bool",
  uint8: "uint8",
};

// Dropout tables: element i of the table for drop probability p (0 or 1/(1-p)) depends only on (p, i),
// so a longer table extends a shorter one, and a site's mask depends only on (seed, counter, site, size).
const MIN_TABLE = 1 << 22;
const tables = new Map<string, Float32Array>();

function keepTable(p: number, length: number): Float32Array {
  const key = `${p}:${length}`;
  let t = tables.get(key);
  if (!t) {
    t = new Float32Array(length);
    const pk = mixKey(Math.round(p * 1e9), 0x0d0d);
    const threshold = Math.round(p * 65536);
    const keep = Math.fround(1 / (1 - p));
    for (let i = 0; i < length; i += 2) {
      const r = hash32((pk ^ Math.imul(i >>> 1, 0x9e3779b1)) >>> 0);
      t[i] = (r & 0xffff) >= threshold ? keep : 0;
      if (i + 1 < length) t[i + 1] = r >>> 16 >= threshold ? keep : 0;
    }
    tables.set(key, t);
  }
  return t;
}

/** Table length for a mask of n elements: at least twice n, so offsets vary widely. */
function tableLength(n: number): number {
  let l = MIN_TABLE;
  while (l < 2 * n) l *= 2;
  return l;
}

export class Program {
  private constructor(
    /** The binding this program was compiled with: it keeps using it whatever is registered later. */
    private readonly rt: Runtime,
    private readonly session: InferenceSession,
    readonly inputs: InputInfo[],
    private readonly nodeInfo: Map<string, string>,
    readonly outputNames: string[],
  ) {}

  static async compile(graph: Graph, outputs: Record<string, Tensor>, opts: CompileOptions = {}): Promise<Program> {
    const rt = requireRuntime();
    const emitted = emitModel(graph, outputs, opts);
    const options: InferenceSession.SessionOptions = {
      intraOpNumThreads: opts.threads ?? rt.defaultThreads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: opts.optimization ?? "all",
      enableCpuMemArena: true,
      enableMemPattern: opts.memoryPattern ?? false,
      logSeverityLevel: 3,
    };
    if (opts.optimizedModelPath) options.optimizedModelFilePath = opts.optimizedModelPath;
    if (opts.profilePrefix) {
      options.enableProfiling = true;
      options.profileFilePrefix = opts.profilePrefix;
    }
    let session: InferenceSession;
    try {
      session = await rt.ort.InferenceSession.create(emitted.bytes, options);
    } catch (e) {
      throw new EngineError(`${rt.name} rejected the graph: ${explain((e as Error).message, emitted.nodeInfo)}`);
    }
    return new Program(rt, session, emitted.inputs, emitted.nodeInfo, Object.keys(outputs));
  }

  /** Names of the parameter inputs this program reads. */
  get paramNames(): string[] {
    return this.inputs.filter((i) => i.kind === "param").map((i) => i.name);
  }

  /**
   * Runs the graph. `into` gives preallocated buffers for outputs of known size (gradients): onnxruntime
   * writes straight into them, saving an allocation and a copy per output per step (a binding that cannot
   * fill preallocated outputs gets its results copied into them).
   */
  async run(
    feeds: Record<string, HostTensor | HostArray>,
    opts: RunOptions = {},
    into?: Record<string, HostTensor>,
  ): Promise<Record<string, HostTensor>> {
    const bound = new Map<string, number>();
    const { Tensor } = this.rt.ort;
    const ortFeeds: Record<string, OrtTensor> = {};
    // Data and parameter inputs first: they bind the named dims.
    for (const inp of this.inputs) {
      if (inp.kind !== "data" && inp.kind !== "param") continue;
      const f = feeds[inp.name];
      if (f === undefined) throw new ShapeError(`missing input ${inp.name} (${inp.tensor.dtype}${fmt(inp.tensor.shape)})`);
      const t = toHost(f, inp);
      const shape = inp.tensor.shape;
      if (t.dims.length !== shape.length) {
        throw new ShapeError(`input ${inp.name}: expected rank ${shape.length} ${fmt(shape)}, got dims ${fmt(t.dims)}`);
      }
      shape.forEach((d, i) => {
        const actual = t.dims[i]!;
        if (typeof d === "number") {
          if (d !== actual) throw new ShapeError(`input ${inp.name}: expected ${fmt(shape)}, got ${fmt(t.dims)}`);
        } else if (!d.includes("*")) {
          const prev = bound.get(d);
          if (prev !== undefined && prev !== actual) {
            throw new ShapeError(`input ${inp.name}: dim ${d} is ${actual} but another input has ${d} = ${prev}`);
          }
          bound.set(d, actual);
        }
      });
      const n = t.dims.reduce((a, d) => a * d, 1);
      if (t.data.length !== n) throw new ShapeError(`input ${inp.name}: ${t.data.length} values for dims ${fmt(t.dims)}`);
      ortFeeds[inp.name] = new Tensor(ORT_TYPE[inp.tensor.dtype], t.data as OrtTensor.DataType, t.dims);
    }
    this.feedDropout(ortFeeds, bound, opts);
    const prealloc = into !== undefined && this.rt.preallocatedOutputs;
    let results: InferenceSession.ReturnType;
    try {
      if (prealloc) {
        const fetches: Record<string, OrtTensor | null> = {};
        for (const name of this.outputNames) {
          const t = into[name];
          fetches[name] = t ? new Tensor(t.data instanceof Float32Array ? "float32" : "float64", t.data as Float32Array, t.dims) : null;
        }
        results = await this.session.run(ortFeeds, fetches);
      } else {
        results = await this.session.run(ortFeeds);
      }
    } catch (e) {
      throw new EngineError(`${this.rt.name} failed while running the graph: ${explain((e as Error).message, this.nodeInfo)}`);
    }
    const out: Record<string, HostTensor> = {};
    for (const name of this.outputNames) {
      const given = into?.[name];
      const r = results[name]!;
      if (given) {
        if (!prealloc) copyInto(name, r, given);
        out[name] = given;
        continue;
      }
      out[name] = { data: r.data as HostArray, dims: [...r.dims] };
    }
    return out;
  }

  /** Feeds each dropout mask: a view of the keep-table (no copy) at an offset drawn from (seed, counter, site, size). */
  private feedDropout(ortFeeds: Record<string, OrtTensor>, bound: Map<string, number>, opts: RunOptions): void {
    const masks = this.inputs.filter((i) => i.kind === "dropout-mask");
    if (masks.length === 0) return;
    if (opts.seed === undefined || opts.counter === undefined) {
      throw new EngineError("this graph has dropout: run it with { seed, counter } so its masks are reproducible");
    }
    const dimsOf = masks.map((inp) =>
      inp.tensor.shape.map((d) => {
        const v = resolveDim(d, bound);
        if (v === undefined)
          throw new EngineError(`dropout site ${inp.dropout!.site}: cannot resolve dim ${d} of ${fmt(inp.tensor.shape)} from the inputs`);
        return v;
      }),
    );
    const sizes = dimsOf.map((dims) => dims.reduce((a, d) => a * d, 1));
    // One table per drop probability, long enough for its largest mask (a longer table extends a shorter one).
    const needByP = new Map<number, number>();
    masks.forEach((inp, k) => {
      needByP.set(inp.dropout!.p, Math.max(needByP.get(inp.dropout!.p) ?? 0, sizes[k]!));
    });
    masks.forEach((inp, k) => {
      const { site, p } = inp.dropout!;
      const n = sizes[k]!;
      const table = keepTable(p, tableLength(needByP.get(p)!));
      const range = tableLength(n) - n + 1;
      const start = Math.floor((hash32(mixKey(opts.seed!, opts.counter!, site, n)) / 4294967296) * range);
      ortFeeds[inp.name] = new this.rt.ort.Tensor("float32", table.subarray(start, start + n), dimsOf[k]!);
    });
  }

  /** Stops profiling and writes the profile file (when compiled with `profilePrefix`). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Copies a run's output into the caller's buffer for it, as a binding that fills preallocated outputs would. */
function copyInto(name: string, r: OrtTensor, into: HostTensor): void {
  const fits = r.dims.length === into.dims.length && r.dims.every((d, i) => d === into.dims[i]);
  if (!fits || r.data.constructor !== into.data.constructor) {
    throw new ShapeError(
      `output ${name}: ${r.type}${fmt([...r.dims])} does not fit its buffer (${into.data.constructor.name}${fmt(into.dims)})`,
    );
  }
  (into.data as Float32Array).set(r.data as Float32Array);
}

function toHost(f: HostTensor | HostArray, inp: InputInfo): HostTensor {
  if ("dims" in f && !ArrayBuffer.isView(f)) return f;
  const shape = inp.tensor.shape;
  if (!shape.every((d) => typeof d === "number")) {
    throw new ShapeError(`input ${inp.name} has dynamic shape ${fmt(shape)}: pass { data, dims }`);
  }
  return { data: f as HostArray, dims: shape as number[] };
}

function explain(message: string, info: Map<string, string>): string {
  for (const [name, desc] of info) {
    const base = name.split("/")[0]!;
    if (message.includes(name) || message.includes(`${base}/`)) return `${message}\n  at node ${name}: ${info.get(base) ?? desc}`;
  }
  return message;
}
