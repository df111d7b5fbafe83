// `rose report` as a library call: read the run directories and write the HTML file.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "../errors.ts";
import { buildReport } from "./html.ts";
import { readRun } from "./read.ts";

export async function writeReport(runDirs: readonly string[], out = "report.html", opts: { title?: string } = {}): Promise<string> {
  if (!runDirs.length) throw new ConfigError("give at least one run directory");
  const html = buildReport(runDirs.map(readRun), opts);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  return out;
}
