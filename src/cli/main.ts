#!/usr/bin/env node
// The `rose` command. Thin: each subcommand maps its flags to one application call (src/app/).
import "../node/runtime.ts";
import { Command, CommanderError } from "commander";
import { RoseError } from "../errors.ts";
import { registerAttack } from "./attack.ts";
import { registerBaseline } from "./baseline.ts";
import { registerDemo } from "./demo.ts";
import { registerEval } from "./eval.ts";
import { registerExport } from "./export.ts";
import { registerLandscape } from "./landscape.ts";
import { registerPredict } from "./predict.ts";
import { registerPretrain } from "./pretrain.ts";
import { registerReport } from "./report.ts";
import { registerSweep } from "./sweep.ts";
import { registerTrain } from "./train.ts";

const program = new Command();
program
  .name("rose")
  .description("Robust Selective Fine-tuning (ROSE) of pre-trained transformer classifiers, and robustness evaluation")
  .version("0.1.0");

registerTrain(program);
registerEval(program);
registerPredict(program);
registerExport(program);
registerPretrain(program);
registerAttack(program);
registerDemo(program);
registerBaseline(program);
registerSweep(program);
registerLandscape(program);
registerReport(program);

// A usage error prints its one line and where to read more, not the whole help; --help marks required options.
for (const cmd of [program, ...program.commands]) {
  cmd.showHelpAfterError(`(see: ${cmd === program ? "rose --help" : `rose ${cmd.name()} --help`})`);
  for (const opt of cmd.options) if (opt.mandatory) opt.description = `${opt.description} (required)`;
}

// Commander answers `rose stuido --help` (and `rose help stuido`) with the top-level help, exiting 0 for the
// first, before it looks at the command; parsed alone, the unknown word gets its error and a suggestion.
const [first, second] = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const word = first === "help" ? second : first;
const known = (w: string) => w === "help" || program.commands.some((c) => c.name() === w || c.aliases().includes(w));
const argv = word !== undefined && !known(word) ? [...process.argv.slice(0, 2), word] : process.argv;

try {
  await program.parseAsync(argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof RoseError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
