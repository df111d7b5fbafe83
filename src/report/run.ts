// `rose report RUN_DIR...` as a library call: read the run directories and write the HTML file.
import { writeFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { prepareOutputFile } from "../node/outputs.ts";
import { buildReport } from "./html.ts";
import { readRun } from "./read.ts";

export interface ReportOptions {
  /** Output directories of rose train / pretrain (several are overlaid). */
  runDirs: readonly string[];
  /** The HTML file to write (default report.html); missing folders are created. */
  out?: string;
  title?: string;
}

/** Writes the report; returns its path. */
export async function writeReport(opts: ReportOptions): Promise<string> {
  if (!opts.runDirs.length) throw new ConfigError("runDirs: give at least one run directory", ["runDirs"]);
  const out = opts.out ?? "report.html";
  // The output path first: a mistake there must not wait for the runs to be read.
  prepareOutputFile(out, "--out");
  const html = buildReport(opts.runDirs.map(readRun), { title: opts.title });
  writeFileSync(out, html);
  return out;
}
