// A task by name, and a data file read as that task's examples: what every command that reads data shares.
import { ConfigError } from "../errors.ts";
import { type Example, readExamples, type ReadOptions } from "./readers.ts";
import { customTask, GLUE_TASK_NAMES, getGlueTask, type Task } from "./tasks.ts";

export interface DataOptions {
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  skipBadRows?: boolean;
  /** Text encoding of the data files (utf8, latin1, windows-1252, utf16le); default utf8. */
  encoding?: string;
}

/** A GLUE task by name, or a custom task (labels read from the training data). */
export function taskByName(name: string | undefined, regression = false): Task {
  if (!name || name === "custom") return customTask({ regression });
  const t = getGlueTask(name);
  if (!t) throw new ConfigError(`unknown task ${name} (GLUE: ${GLUE_TASK_NAMES.join(", ")}; or custom)`);
  return t;
}

export async function readData(
  file: string,
  task: Task,
  d: DataOptions,
  log?: (s: string) => void,
): Promise<{ examples: Example[]; labels: string[] | null }> {
  const opts: ReadOptions = {
    task,
    textColumn: d.textColumn,
    textPairColumn: d.textPairColumn,
    labelColumn: d.labelColumn,
    skipBadRows: d.skipBadRows,
    encoding: d.encoding,
  };
  const r = await readExamples(file, opts);
  if (r.skipped > 0) {
    const first = r.firstSkipped ? ` (the first, line ${r.firstSkipped.line}: ${r.firstSkipped.problem})` : "";
    log?.(`${file}: skipped ${r.skipped} bad row${r.skipped === 1 ? "" : "s"} of ${r.skipped + r.examples.length}${first}`);
  }
  return { examples: r.examples, labels: r.labels };
}
