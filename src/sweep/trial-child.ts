// The process runTrial starts: fine-tuning with `rose train` flags (read with rose train's flag description,
// train/flags.ts), then the rung's extra measurements; it exits when its parent goes away.
import "../node/runtime.ts";
import { RoseError } from "../errors.ts";
import { fineTune } from "../train/fine-tune.ts";
import { flagNames, inFlagTerms } from "../train/flag-spec.ts";
import { TRAIN_FLAGS } from "../train/flags.ts";
import { type ExtraEvals, measureExtras } from "./extra-evals.ts";
import { trialOptions } from "./train-flags.ts";

// A SIGKILLed parent cannot kill us; its IPC channel closing tells us instead. The listener is attached
// only once the imports above have loaded (seconds on a busy machine): a parent gone by then is seen here.
process.on("disconnect", () => process.exit(130));
if (process.send !== undefined && !process.connected) process.exit(130);
// The exit statuses `rose train` gives these signals.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

const [first, ...args] = process.argv.slice(2);
const extra = JSON.parse(first!.replace(/^--sweep-extra=/, "")) as ExtraEvals;
try {
  const o = trialOptions(args);
  try {
    await fineTune(o);
  } catch (e) {
    // The library names its options; the trial's error speaks in the flags it was given, as rose train's does.
    throw inFlagTerms(e, flagNames(TRAIN_FLAGS));
  }
  if (extra.loss || extra.robust) await measureExtras(o.outputDir!, { ...o, perDeviceEvalBatchSize: o.evalBatchSize }, extra, o.threads);
} catch (e) {
  if (e instanceof RoseError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
process.exit(0);
