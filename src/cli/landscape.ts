// `rose landscape`: flags -> runLandscape (landscape/run.ts): loss surfaces along filter-normalised random
// directions (Li et al. 2018), with sharpness numbers; --compare puts several models on the same directions.
import { type Command, InvalidArgumentError, Option } from "commander";
import { GRID_DEFAULTS as D } from "../landscape/landscape.ts";
import { type LandscapeOptions, runLandscape } from "../landscape/run.ts";
import { createProgress, type Progress } from "../node/progress.ts";
import { type DataFlags, dataFlags, dataOptions, hubOptions, int, type ModelFlags, modelOptions, pick, withFlags } from "./flags.ts";

/** "lo,hi" with lo < hi. */
export function range(v: string): [number, number] {
  const parts = v.split(",").map((x) => x.trim());
  const [lo, hi] = parts.map(Number) as [number, number];
  if (parts.length !== 2 || parts.includes("") || !Number.isFinite(lo) || !Number.isFinite(hi))
    throw new InvalidArgumentError(`expected lo,hi (e.g. -0.25,0.25), got ${v}`);
  if (!(lo < hi)) throw new InvalidArgumentError(`expected lo < hi, got ${v}`);
  return [lo, hi];
}

/** Positive numbers, comma-separated. */
export function radii(v: string): number[] {
  const r = v.split(",").map((x) => Number(x.trim()));
  if (!r.every((x) => Number.isFinite(x) && x > 0)) throw new InvalidArgumentError(`expected positive radii, e.g. 0.1,0.25, got ${v}`);
  return r;
}

export function dims(v: string): 1 | 2 {
  if (v !== "1" && v !== "2") throw new InvalidArgumentError(`expected 1 or 2, got ${v}`);
  return Number(v) as 1 | 2;
}

/** At least two grid points per direction. */
export function points(v: string): number {
  const n = int(v);
  if (n < 2) throw new InvalidArgumentError(`expected at least 2 points, got ${v}`);
  return n;
}

export function registerLandscape(program: Command): void {
  const cmd = program
    .command("landscape")
    .description(
      "loss and accuracy on a grid along seeded, filter-normalised random directions (Li et al. 2018); contour/surface or curve plots and sharpness numbers",
    );
  modelOptions(cmd);
  dataOptions(cmd)
    .option("--task <name>", "GLUE task or custom (labels from the model)", "custom")
    .requiredOption("--data <file>", "labelled examples the loss is measured on")
    .option("--max-samples <n>", "use the first N rows of --data", int)
    .option("--dims <n>", "1 (curve) or 2 (surface) random directions", dims, D.dims)
    .addOption(new Option("--range <lo,hi>", "step range along each direction").argParser(range).default(D.range, D.range.join(",")))
    .option("--points <n>", "grid points per direction (at least 2)", points, D.points)
    .option("--seed <n>", "seed of the random directions (the same for every compared model)", int, D.seed)
    .addOption(new Option("--radii <list>", "radii of the rise@r sharpness numbers").argParser(radii).default(D.radii, D.radii.join(",")))
    .option("--compare <dirs...>", "more models (same architecture) on the same directions")
    .option("--output-dir <dir>", "where landscape.json and the plots go", "landscape")
    .option("--batch-size <n>", "at most this many rows per forward pass", int, D.batchSize)
    .option("--max-seq-length <n>", "truncate inputs to this many tokens", int, 128)
    .option("--no-png", "write SVG plots only")
    .option("--threads <n>", "compute threads (default: all cores)", int)
    .option("--quiet", "no progress output")
    .action(
      withFlags(cmd, { noPng: "--no-png" }, async (f: LandscapeFlags) => {
        // The grid size is known once the models are loaded: the bar starts at the first point.
        let bar: Progress | null = null;
        const r = await runLandscape({
          ...landscapeOptions(f),
          log: (line) => process.stderr.write(`${line}\n`),
          onProgress: (done, total) => {
            bar ??= createProgress("landscape", total, { quiet: Boolean(f.quiet) });
            bar.update(done);
          },
        });
        (bar as Progress | null)?.stop();
        const l = r.landscape;
        if (!f.quiet) {
          process.stderr.write(
            `${l.models.length * l.xs.length * l.ys.length} grid points x ${l.examples} examples in ${l.seconds.toFixed(1)} s (${l.seconds_per_point.toFixed(3)} s per point)\n`,
          );
          process.stderr.write(`wrote ${r.files.join(", ")}\n`);
        }
        const rows = l.models.map((m) => ({
          model: m.name,
          center_loss: m.center.loss,
          center_accuracy: m.center.accuracy,
          ...Object.fromEntries(Object.entries(m.sharpness.rise).map(([k, v]) => [`rise@${k}`, v])),
          max_rise: m.sharpness.max_rise,
          width: m.sharpness.width,
        }));
        process.stdout.write(`${JSON.stringify({ output_dir: r.outputDir, seconds: +l.seconds.toFixed(2), sharpness: rows })}\n`);
      }),
    );
}

/** Flags whose attribute names are the library's option names: a renamed option fails to compile here. */
const SAME_NAMED = [
  "task",
  "data",
  "maxSamples",
  "dims",
  "range",
  "points",
  "seed",
  "radii",
  "compare",
  "outputDir",
  "batchSize",
  "maxSeqLength",
  "threads",
] as const satisfies readonly (keyof LandscapeOptions)[];

/** The flags as commander parses them (attribute names of the options above). */
export type LandscapeFlags = ModelFlags &
  DataFlags &
  Pick<LandscapeOptions, (typeof SAME_NAMED)[number]> & {
    data: string;
    /** false with --no-png. */
    png: boolean;
    quiet?: boolean;
  };

/** Flags -> library options: the same-named ones, then those the CLI spells its own way. */
export function landscapeOptions(f: LandscapeFlags): LandscapeOptions {
  return { ...pick(f, SAME_NAMED), model: f.model, hub: hubOptions(f), ...dataFlags(f), data: f.data, noPng: !f.png };
}
