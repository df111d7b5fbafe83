// The compiled training step for each method. ROSE's first-order step is one graph: two forward passes
// with independent dropout masks, CE = mean of both passes' losses, the symmetric KL, the KL gradient
// reduced in the graph to one L2 norm per eligible tensor, and the CE gradients of every parameter.
import { Graph, grad, ops, Program, type Tensor } from "../engine/index.ts";
import type { HostTensor } from "../engine/index.ts";
import type { Batch } from "../data/batches.ts";

export type { Batch } from "../data/batches.ts";
import { type Architecture, type BuildContext, type LastLayerQueries, ParamScope } from "../models/index.ts";
import { crossEntropy, mse, symmetricKl } from "../models/losses.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { type Granularity, type NamePredicate, type RoseMethod, stepNeeds } from "../optim/rose.ts";

export interface StepOptions {
  method: RoseMethod;
  /** Dropout of the two passes in first-order / ensemble / R-Drop steps. */
  klDropout: number;
  /** R-Drop: adds alpha * KL to the training loss. */
  rdropAlpha: number;
  eligible: NamePredicate;
  granularity: Granularity;
  regression: boolean;
  /** Overrides the config's hidden/attention dropout in single-pass steps (pre-training without dropout: 0). */
  dropout?: number;
  threads?: number;
  /** onnxruntime profiling (benchmarks): file prefix; call `endProfiling()` to write it. */
  profilePrefix?: string;
}

export interface StepResult {
  /** The training loss (CE, plus alpha * KL with R-Drop). */
  loss: number;
  ce: number;
  kl: number | null;
  grads: Map<string, Float32Array>;
  /** Global L2 norm of `grads`, reduced inside the graph (for clipping without another pass over them). */
  gradNorm: number;
  klGradNorms: Map<string, number> | null;
  klGrads: Map<string, Float32Array> | null;
  logits: Float32Array;
}

/**
 * What is trained on top of the encoder: declares its own inputs (labels, ...) on the graph and returns
 * the head (hidden state -> logits) and the loss of those logits.
 */
export type Objective = (
  g: Graph,
  arch: Architecture,
) => {
  head: (ctx: BuildContext, hidden: Tensor, attentionMask: Tensor) => Tensor;
  /** The positions the head reads: the encoder's last layer computes those alone (see LastLayerQueries). */
  queries?: LastLayerQueries;
  loss: (logits: Tensor) => Tensor;
  /** Every sequence is one segment (type 0): the graph reads no token_type_ids (BERT's own default), so the
   * type embedding's gradient is a row sum instead of a scatter over every position. */
  singleSegment?: boolean;
};

/** Sequence classification (cross-entropy) or regression (MSE) on the `labels` input. */
export function classification(regression: boolean): Objective {
  return (g, arch) => {
    const labels = regression ? g.input("labels", "float32", ["batch"]) : g.input("labels", "int64", ["batch"]);
    return {
      head: (ctx, h, mask) => arch.classify(ctx, h, mask),
      ...(arch.firstTokenOnly ? { queries: "first" as const } : {}),
      loss: (logits) => (regression ? mse(logits, labels) : crossEntropy(logits, labels)),
    };
  };
}

export class TrainStep {
  private constructor(
    private readonly program: Program,
    readonly paramNames: string[],
    readonly eligibleNames: string[],
    private readonly opts: StepOptions,
    private readonly usesTokenTypes: boolean,
    /** Gradient buffers reused every step (see Program.run). */
    private readonly buffers: Record<string, HostTensor>,
  ) {}

  static async build(
    model: PretrainedModel,
    opts: StepOptions,
    objective: Objective = classification(opts.regression),
  ): Promise<TrainStep> {
    const arch = model.arch;
    const g = new Graph();
    const scope = new ParamScope(g);
    const { head, loss: lossOf, queries, singleSegment } = objective(g, arch);
    const tokenTypes = arch.usesTokenTypes && !singleSegment;
    const inputs = arch.inputs(g, { tokenTypes });
    const forward = (ctx: BuildContext) => head(ctx, arch.encode(ctx, inputs, { queries }), inputs.attentionMask);
    const outs: Record<string, Tensor> = {};
    let ce: Tensor,
      loss: Tensor,
      kl: Tensor | null = null;
    // ROSE says what to compute: the passes, and which gradient of the KL term its selection reads.
    const needs = stepNeeds(opts);
    if (needs.twoPasses) {
      const ctx: BuildContext = { scope, train: true, dropoutOverride: opts.klDropout };
      const l1 = forward(ctx),
        l2 = forward(ctx);
      ce = ops.scale(ops.add(lossOf(l1), lossOf(l2)), 0.5);
      kl = symmetricKl(l1, l2);
      loss = opts.rdropAlpha > 0 ? ops.add(ce, ops.scale(kl, opts.rdropAlpha)) : ce;
      outs.logits = l1;
      outs.kl = kl;
    } else {
      const logits = forward({ scope, train: true, ...(opts.dropout !== undefined ? { dropoutOverride: opts.dropout } : {}) });
      ce = lossOf(logits);
      loss = ce;
      outs.logits = logits;
    }
    outs.loss = loss;
    outs.ce = ce;
    const names = [...scope.tensors.keys()];
    const grads = grad(
      loss,
      names.map((n) => scope.tensors.get(n)!),
    );
    const squares: Tensor[] = [];
    names.forEach((n, i) => {
      if (!grads[i]) return;
      outs[`grad/${n}`] = grads[i]!;
      squares.push(ops.reduceSumSquare(grads[i]!));
    });
    outs.grad_sq = squares.reduce((a, b) => ops.add(a, b), g.scalar(0));
    const eligibleNames = names.filter((n) => opts.eligible(n));
    if (needs.klGradient !== "none" && kl) {
      const klGrads = grad(
        kl,
        eligibleNames.map((n) => scope.tensors.get(n)!),
      );
      if (needs.klGradient === "elements") {
        eligibleNames.forEach((n, i) => {
          outs[`klgrad/${n}`] = klGrads[i] ?? ops.scale(scope.tensors.get(n)!, 0);
        });
      } else {
        const norms = eligibleNames.map((_n, i) => ops.unsqueeze(klGrads[i] ? ops.l2norm(klGrads[i]!) : g.scalar(0), [0]));
        outs.kl_norms = norms.length ? ops.concat(norms, 0) : ops.unsqueeze(g.scalar(0), [0]);
      }
    }
    const program = await Program.compile(g, outs, { threads: opts.threads, profilePrefix: opts.profilePrefix });
    const buffers: Record<string, HostTensor> = {};
    for (const n of names) {
      if (!outs[`grad/${n}`]) continue;
      const shape = model.shapes.get(n)!;
      buffers[`grad/${n}`] = { data: new Float32Array(shape.reduce((a, d) => a * d, 1)), dims: shape };
    }
    return new TrainStep(program, names, eligibleNames, opts, tokenTypes, buffers);
  }

  endProfiling(): void {
    this.program.endProfiling();
  }

  /** One step; `extra` feeds the objective's own inputs (classification reads `batch.labels`). */
  async run(
    batch: Batch,
    params: Map<string, Float32Array>,
    rng: { seed: number; counter: number },
    extra: Record<string, HostTensor> = {},
  ): Promise<StepResult> {
    const dims = [batch.batch, batch.seq];
    const feeds: Record<string, HostTensor | Float32Array> = {
      input_ids: { data: batch.inputIds, dims },
      attention_mask: { data: batch.attentionMask, dims },
      ...extra,
    };
    if (batch.labels) feeds.labels = { data: batch.labels, dims: [batch.batch] };
    if (this.usesTokenTypes) feeds.token_type_ids = { data: batch.tokenTypeIds, dims };
    for (const n of this.paramNames) feeds[n] = params.get(n)!;
    const r = await this.program.run(feeds, rng, this.buffers);
    const grads = new Map<string, Float32Array>();
    for (const n of this.paramNames) {
      const t = r[`grad/${n}`];
      if (t) grads.set(n, t.data as Float32Array);
    }
    let klGradNorms: Map<string, number> | null = null;
    let klGrads: Map<string, Float32Array> | null = null;
    if (r.kl_norms) {
      const v = r.kl_norms.data as Float32Array;
      klGradNorms = new Map(this.eligibleNames.map((n, i) => [n, v[i]!]));
    }
    if (this.opts.granularity === "element" && r[`klgrad/${this.eligibleNames[0]}`]) {
      klGrads = new Map(this.eligibleNames.map((n) => [n, r[`klgrad/${n}`]!.data as Float32Array]));
    }
    return {
      loss: r.loss!.data[0] as number,
      ce: r.ce!.data[0] as number,
      kl: r.kl ? (r.kl.data[0] as number) : null,
      grads,
      gradNorm: Math.sqrt(r.grad_sq!.data[0] as number),
      klGradNorms,
      klGrads,
      logits: r.logits!.data as Float32Array,
    };
  }
}
