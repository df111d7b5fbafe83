// The process runTrial starts: `rose train` with the given flags, then the rung's extra measurements;
// it exits when its parent goes away.
import "../node/runtime.ts";
import { Command, CommanderError } from "commander";
import { registerTrain } from "../cli/train.ts";
import { RoseError } from "../errors.ts";
import { type ExtraEvals, measureExtras, type TrainFlags } from "./extra-evals.ts";

// A SIGKILLed parent cannot kill us; its IPC channel closing tells us instead. The listener is attached
// only once the imports above have loaded (seconds on a busy machine): a parent gone by then is seen here.
process.on("disconnect", () => process.exit(130));
if (process.send !== undefined && !process.connected) process.exit(130);

const [first, ...args] = process.argv.slice(2);
const extra = JSON.parse(first!.replace(/^--sweep-extra=/, "")) as ExtraEvals;
const program = new Command().exitOverride();
registerTrain(program);
try {
  await program.parseAsync(["node", "rose", "train", ...args]);
  if (extra.loss || extra.robust) {
    const f = program.commands[0]!.opts() as TrainFlags & { outputDir: string; threads?: number };
    await measureExtras(f.outputDir, f, extra, f.threads);
  }
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode || 2);
  if (e instanceof RoseError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
process.exit(0);
