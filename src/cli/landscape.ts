// `rose landscape`: loss surfaces along filter-normalised random directions (Li et al. 2018), with
// sharpness numbers; --compare puts several models on the same directions.
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { GRID_DEFAULTS as D } from "../landscape/landscape.ts";
import { runLandscape } from "../landscape/run.ts";
import { createProgress, type Progress } from "../train/progress.ts";
import { dataOptions, hubOptions, int, type ModelFlags, modelOptions } from "./flags.ts";

function range(v: string): [number, number] {
  const parts = v.split(",").map((x) => Number(x.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite)) throw new InvalidArgumentError(`expected lo,hi (e.g. -0.25,0.25), got ${v}`);
  return [parts[0]!, parts[1]!];
}

function radii(v: string): number[] {
  const r = v.split(",").map((x) => Number(x.trim()));
  if (!r.length || !r.every((x) => Number.isFinite(x) && x > 0)) throw new InvalidArgumentError(`expected positive radii, e.g. 0.1,0.25, got ${v}`);
  return r;
}

export function registerLandscape(program: Command): void {
  const cmd = program
    .command("landscape")
    .description("loss and accuracy on a grid along seeded, filter-normalised random directions (Li et al. 2018); contour/surface or curve plots and sharpness numbers");
  modelOptions(cmd);
  dataOptions(cmd)
    .option("--task <name>", "GLUE task or custom (labels from the model)", "custom")
    .requiredOption("--data <file>", "labelled examples the loss is measured on")
    .option("--max-samples <n>", "use the first N rows of --data", int)
    .option("--dims <n>", "1 (curve) or 2 (surface) random directions", int, D.dims)
    .option("--range <lo,hi>", "step range along each direction", range, D.range)
    .option("--points <n>", "grid points per direction", int, D.points)
    .option("--seed <n>", "seed of the random directions (the same for every compared model)", int, D.seed)
    .option("--radii <list>", "radii of the rise@r sharpness numbers", radii, D.radii)
    .option("--compare <dirs...>", "more models (same architecture) on the same directions")
    .option("--output-dir <dir>", "where landscape.json and the plots go", "landscape")
    .option("--batch-size <n>", "inference batch size", int, D.batchSize)
    .option("--max-seq-length <n>", "truncate inputs to this many tokens", int, 128)
    .option("--no-png", "write SVG plots only")
    .option("--threads <n>", "compute threads", int)
    .option("--quiet", "no progress output")
    .action(async (f: Record<string, unknown> & ModelFlags) => {
      const quiet = Boolean(f.quiet);
      // The grid size is known once the models are loaded: the bar starts at the first point.
      let bar: Progress | null = null;
      const r = await runLandscape({
        ...(f as object),
        hub: hubOptions(f),
        data: f.data as string,
        dims: f.dims as 1 | 2,
        compare: f.compare as string[] | undefined,
        noPng: f.png === false,
        log: (line) => process.stderr.write(`${line}\n`),
        onProgress: (done, total) => (bar ??= createProgress("landscape", total, { quiet })).update(done),
      });
      (bar as Progress | null)?.stop();
      const l = r.landscape;
      if (!quiet) {
        process.stderr.write(`${l.models.length * l.xs.length * l.ys.length} grid points x ${l.examples} examples in ${l.seconds.toFixed(1)} s (${l.seconds_per_point.toFixed(3)} s per point)\n`);
        process.stderr.write(`wrote ${r.files.join(", ")}\n`);
      }
      const rows = l.models.map((m) => ({ model: m.name, center_loss: m.center.loss, center_accuracy: m.center.accuracy, ...Object.fromEntries(Object.entries(m.sharpness.rise).map(([k, v]) => [`rise@${k}`, v])), max_rise: m.sharpness.max_rise, width: m.sharpness.width }));
      process.stdout.write(`${JSON.stringify({ output_dir: r.outputDir, seconds: +l.seconds.toFixed(2), sharpness: rows })}\n`);
    });
}
