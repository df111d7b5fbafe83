// Ctrl-C / SIGTERM during a long command: stop the progress bar (cursor and line wrapping back), say what
// was saved and how to continue, and exit with the signal's conventional status (130, 143).
import { RUN_FILES, RunDir } from "../node/run-dir.ts";
import { stopAllProgress } from "../node/progress.ts";

/** Installs the handler; `saved()` says, at the moment of the interrupt, what is on disk. */
export function onInterrupt(saved: () => string): void {
  const handler = (signal: NodeJS.Signals): void => {
    stopAllProgress();
    process.stderr.write(`\n${signal === "SIGINT" ? "interrupted" : "terminated"} (${signal}). ${saved()}\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}

/** The command line again, for the user to copy: shell-quoted where needed. */
export function commandLine(args: readonly string[]): string {
  return ["rose", ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * What a training run (rose train, rose pretrain) has saved in `outputDir`, and the command that continues
 * it: the same arguments with --resume (and without --overwrite-output-dir, which would clear the folder).
 */
export function runSavedMessage(outputDir: string, args: readonly string[] = process.argv.slice(2)): string {
  const run = new RunDir(outputDir);
  const checkpoint = run.lastCheckpointIfReadable();
  if (!checkpoint) {
    return `No checkpoint was saved yet in ${outputDir} (one is written every --save-steps steps and at each epoch end): nothing to resume.`;
  }
  const again = args.filter((a) => a !== "--overwrite-output-dir" && a !== "--resume");
  return (
    `Saved: the checkpoint of step ${checkpoint.step} in ${run.checkpointPath(checkpoint.dir)} (${RUN_FILES.metrics} up to it).\n` +
    `Continue the run with:\n  ${commandLine([...again, "--resume"])}`
  );
}
