// The process runTrial starts: `rose train` with the given flags, which exits when its parent goes away.
import { Command, CommanderError } from "commander";
import { registerTrain } from "../cli/train.ts";
import { RoseError } from "../errors.ts";

// A SIGKILLed parent cannot kill us; its IPC channel closing tells us instead.
process.on("disconnect", () => process.exit(130));

const program = new Command().exitOverride();
registerTrain(program);
try {
  await program.parseAsync(["node", "rose", "train", ...process.argv.slice(2)]);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode || 2);
  if (e instanceof RoseError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
process.exit(0);
