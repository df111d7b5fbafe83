// `rose report RUN_DIR...`: flags -> writeReport (report/run.ts), one self-contained HTML page of the runs' records.
import type { Command } from "commander";
import { type ReportOptions, writeReport } from "../report/run.ts";
import { withFlags } from "./flags.ts";

/** The flags as commander parses them: the library's option names. */
export type ReportFlags = Required<Pick<ReportOptions, "out">> & Pick<ReportOptions, "title">;

export function registerReport(program: Command): void {
  const cmd = program
    .command("report")
    .description(
      "one self-contained HTML page (opens offline) of training runs: losses, learning rate, gradient norm, KL, ROSE masks, evaluation, robustness, landscapes, options",
    )
    .argument("<run-dirs...>", "output directories of rose train / pretrain (several are overlaid)")
    .option("--out <file>", "the HTML file to write", "report.html")
    .option("--title <text>", "page title");
  cmd.action(
    withFlags(cmd, {}, async (runDirs: string[], f: ReportFlags) => {
      process.stdout.write(`${await writeReport(reportOptions(runDirs, f))}\n`);
    }),
  );
}

export function reportOptions(runDirs: string[], f: ReportFlags): ReportOptions {
  return { runDirs, out: f.out, title: f.title };
}
