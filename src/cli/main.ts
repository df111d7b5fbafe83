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
  .version("0.1.0")
  .showHelpAfterError();

registerTrain(program);
registerEval(program);

const optional: [string, string][] = [
  ["./predict.ts", "registerPredict"],
  ["./export.ts", "registerExport"],
  ["./pretrain.ts", "registerPretrain"],
  ["./attack.ts", "registerAttack"],
  ["./demo.ts", "registerDemo"],
  ["./landscape.ts", "registerLandscape"],
  ["./report.ts", "registerReport"],
];
for (const [mod, fn] of optional) {
  if (!existsSync(new URL(mod, import.meta.url))) continue;
  const m = (await import(mod)) as Record<string, (p: Command) => void>;
  m[fn]!(program);
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
