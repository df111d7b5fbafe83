// `rose report RUN_DIR...`: one self-contained HTML page of the runs' records.
import type { Command } from "commander";
import { writeReport } from "../report/run.ts";

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("one self-contained HTML page (opens offline) of training runs: losses, learning rate, gradient norm, KL, ROSE masks, evaluation, robustness, landscapes, options")
    .argument("<run-dirs...>", "output directories of rose train / pretrain (several are overlaid)")
    .option("--out <file>", "the HTML file to write", "report.html")
    .option("--title <text>", "page title")
    .action(async (dirs: string[], f: { out: string; title?: string }) => {
      const out = await writeReport(dirs, f.out, { title: f.title });
      process.stdout.write(`${out}\n`);
    });
}
