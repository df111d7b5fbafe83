// `rose landscape`'s cost per grid point: a small grid of a real model on real rows, timed in CPU seconds
// (process.cpuUsage, so a busy machine inflates it less than wall time), with the token positions the
// forward passes process (real tokens vs padded).
import { taskByName } from "../src/data/task-data.ts";
import { readExamples } from "../src/data/readers.ts";
import { computeLandscape } from "../src/landscape/landscape.ts";
import { PretrainedModel } from "../src/models/pretrained.ts";
import { encodeExamples } from "../src/data/batches.ts";
import { maxInputLength } from "../src/io/config.ts";
import { peakRssMib } from "./models.ts";
import { parseFlags } from "./util.ts";
import { dirFiles } from "../src/node/files.ts";

export async function benchLandscape(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, {
    model: "models/rose-mini",
    data: "../shared/data/glue/sst2/dev.tsv",
    task: "sst2",
    samples: 256,
    seq: 64,
    points: 5,
    dims: 2,
    batch: 128,
    threads: 1,
  });
  const model = await PretrainedModel.load(dirFiles(f.model));
  const { examples } = await readExamples(f.data, { task: taskByName(f.task) });
  const encoded = await encodeExamples(model.tokenizer!, examples.slice(0, f.samples), maxInputLength(model.cfg, f.seq));
  const realTokens = encoded.reduce((s, e) => s + e.ids.length, 0);
  // Per point: from the first point's end to the last's, so the one-off work (directions, compiling, the
  // centre) is left out.
  const cpuNow = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const t0 = cpuNow();
  let first = 0,
    last = 0;
  const l = await computeLandscape(
    [{ name: "m", model }],
    encoded,
    { isRegression: false },
    {
      dims: f.dims === 1 ? 1 : 2,
      points: f.points,
      batchSize: f.batch,
      threads: f.threads,
      onProgress: (done, total) => {
        if (done === 1) first = cpuNow();
        if (done === total) last = cpuNow();
      },
    },
  );
  const points = l.xs.length * l.ys.length;
  return {
    model: f.model,
    samples: encoded.length,
    seq: f.seq,
    points,
    batch: f.batch,
    threads: f.threads,
    real_tokens: realTokens,
    padded_to_seq_tokens: encoded.length * f.seq,
    cpu_s_per_point: +((last - first) / (points - 1)).toFixed(3),
    cpu_s_setup: +(first - t0).toFixed(2),
    center_loss: +l.models[0]!.center.loss.toFixed(6),
    peak_rss_mib: +peakRssMib().toFixed(1),
  };
}
