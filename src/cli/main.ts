#!/usr/bin/env node
// The `rose` command. Thin: each subcommand parses flags and calls the library.
import { existsSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { RoseError } from "../errors.ts";
import { registerTrain } from "./train.ts";
import { registerEval } from "./eval.ts";

const program = new Command();
program
  .name("rose")
  .description("Robust Selective Fine-tuning (ROSE) of pre-trained transformer classifiers, and robustness evaluation")
  .version("0.1.0");

registerTrain(program);
registerEval(program);

const optional: [string, string][] = [
  ["./predict.ts", "registerPredict"],
  ["./export.ts", "registerExport"],
  ["./pretrain.ts", "registerPretrain"],
  ["./attack.ts", "registerAttack"],
  ["./demo.ts", "registerDemo"],
  ["./baseline.ts", "registerBaseline"],
  ["./sweep.ts", "registerSweep"],
];
// Compiled to dist/, these modules are .js files (tsc rewrites the import itself, not this check).
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
for (const [mod, fn] of optional) {
  if (!existsSync(new URL(mod.replace(/\.ts$/, ext), import.meta.url))) continue;
  const m = (await import(mod)) as Record<string, (p: Command) => void>;
  m[fn]!(program);
}

// A usage error prints its one line and where to read more, not the whole help; --help marks required options.
for (const cmd of [program, ...program.commands]) {
  cmd.showHelpAfterError(`(see: ${cmd === program ? "rose --help" : `rose ${cmd.name()} --help`})`);
  for (const opt of cmd.options) if (opt.mandatory) opt.description = `${opt.description} (required)`;
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof RoseError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
