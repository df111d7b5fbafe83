// Random classifiers of each architecture and batches for the benchmarks, as ../shared/bench/torch_baseline.py
// (BERT) and bench/torch/torch_baseline_arch.py (the others) build them: a preset's sizes plus the
// architecture's fields from bench/arch-configs.json, which both sides read.
import { readFileSync } from "node:fs";
import { Rng } from "../src/engine/index.ts";
import { type EncoderConfig, type JsonObject, parseModelConfig } from "../src/io/config.ts";
import { embeddingSize } from "../src/models/electra.ts";
import { attentionSpan } from "../src/models/deberta.ts";
import { PretrainedModel } from "../src/models/pretrained.ts";
import { PRESETS } from "../src/pretrain/masked-lm.ts";
import type { Batch } from "../src/train/step.ts";

interface ArchSpec {
  fields: JsonObject;
  /** Fields set to hidden_size times the ratio. */
  from_hidden?: Record<string, number>;
}

const SPECS = JSON.parse(readFileSync(new URL("./arch-configs.json", import.meta.url), "utf8")) as Record<string, ArchSpec>;

/** The --arch names: every key of arch-configs.json but its notes. */
export const ARCHS = Object.keys(SPECS).filter((k) => !k.startsWith("_"));

/** config.json (as an object) of a random classifier: `arch`'s fields at the preset's sizes. */
export function archConfig(config: string, arch = "bert", numLabels = 2): JsonObject {
  const preset = PRESETS[config];
  if (!preset) throw new Error(`unknown --config ${config} (${Object.keys(PRESETS).join(", ")})`);
  const spec = ARCHS.includes(arch) ? SPECS[arch] : undefined;
  if (!spec) throw new Error(`unknown --arch ${arch} (${ARCHS.join(", ")})`);
  const derived = Object.entries(spec.from_hidden ?? {}).map(([k, ratio]) => [k, Math.round(preset.hidden_size * ratio)]);
  return { ...preset, ...spec.fields, ...Object.fromEntries(derived), num_labels: numLabels };
}

export function randomModel(config: string, arch = "bert", numLabels = 2): PretrainedModel {
  return PretrainedModel.random(parseModelConfig(archConfig(config, arch, numLabels)), null, ["classifier"], 0);
}

export function randomBatch(batch: number, seq: number, numLabels = 2): Batch {
  const rng = new Rng(0, 0xbe7c);
  const n = batch * seq;
  return {
    batch,
    seq,
    inputIds: BigInt64Array.from({ length: n }, () => BigInt(1000 + rng.int(30522 - 1000))),
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: new BigInt64Array(n),
    labels: BigInt64Array.from({ length: batch }, () => BigInt(rng.int(numLabels))),
  };
}

/**
 * Matmul FLOPs that one classification forward pass executes: every layer in full, except that with a head
 * that reads only the first token (Architecture.logits) the last layer computes keys and values for every
 * token but queries, attention output and feed-forward for the first token only, so the count is what runs,
 * not the nominal size of the model.
 */
export function forwardFlops(cfg: EncoderConfig, batch: number, seq: number, firstTokenOnly: boolean): number {
  const H = cfg.hiddenSize,
    F = cfg.intermediateSize,
    L = cfg.numLayers;
  // Multiply-adds per query row: query, output projection, feed-forward (GeGLU: Wi to 2F, Wo from F).
  const perQuery = H * H * 2 + (cfg.modelType === "modernbert" ? 3 * H * F : 2 * H * F);
  // DeBERTa's relative terms: each query row against the 2 * span projected positions (c2p), each key too (p2c),
  // and the table projected by the layer's key and query weights.
  const span2 = cfg.deberta?.relativeAttention ? 2 * attentionSpan(cfg.deberta) : 0;
  const layer = (queries: number) =>
    batch * seq * H * H * 2 +
    batch * queries * perQuery +
    2 * batch * queries * seq * H +
    batch * (queries + seq) * span2 * H +
    span2 * H * H * 2;
  const embed = cfg.modelType === "electra" && embeddingSize(cfg) !== H ? batch * seq * embeddingSize(cfg) * H : 0;
  return 2 * (embed + (L - 1) * layer(seq) + layer(firstTokenOnly ? 1 : seq));
}

export function peakRssMib(): number {
  return process.resourceUsage().maxRSS / 1024;
}
