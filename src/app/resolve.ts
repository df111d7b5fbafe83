// What every command shares: the model (a directory, a Hub id, or the shipped default), the task by name,
// and a data file read as that task's examples.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Example, readExamples, type ReadOptions } from "../data/readers.ts";
import { customTask, getGlueTask, type Task } from "../data/tasks.ts";
import { ConfigError } from "../errors.ts";
import { resolveModel, type ResolveModelOptions } from "../io/hub.ts";
import { TRUNCATIONS, type Truncation } from "../io/tokenizer.ts";
import type { PretrainedModel } from "../models/pretrained.ts";

/** The pre-trained model shipped in the repository, used when no --model is given. */
export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), "../../models/rose-mini");

export interface DataOptions {
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  skipBadRows?: boolean;
  /** Text encoding of the data files (utf8, latin1, windows-1252, utf16le); default utf8. */
  encoding?: string;
}

export interface ModelRef {
  /** A local directory or a Hugging Face Hub id; default: the shipped rose-mini. */
  model?: string;
  hub?: ResolveModelOptions;
}

export async function resolveModelDir(ref: ModelRef): Promise<string> {
  if (!ref.model) {
    if (!existsSync(join(DEFAULT_MODEL, "config.json"))) {
      throw new ConfigError(`no model given and the default model ${DEFAULT_MODEL} is missing`, ["model"]);
    }
    return DEFAULT_MODEL;
  }
  return resolveModel(ref.model, ref.hub);
}

/** A GLUE task by name, or a custom task (labels read from the training data). */
export function taskByName(name: string | undefined, regression = false): Task {
  if (!name || name === "custom") return customTask({ regression });
  const t = getGlueTask(name);
  if (!t) throw new ConfigError(`unknown task ${name} (GLUE: cola, sst2, mrpc, qqp, stsb, mnli, mnli-mm, qnli, rte, wnli; or custom)`);
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

/** Makes the model's tokenizer keep `truncation`'s tokens of long texts (unchanged when not given). */
export function applyTruncation(model: PretrainedModel, truncation: Truncation | undefined): void {
  if (truncation === undefined) return;
  if (!TRUNCATIONS.includes(truncation))
    throw new ConfigError(`truncation must be one of ${TRUNCATIONS.join(", ")}, got ${JSON.stringify(truncation)}`, ["truncation"]);
  if (model.tokenizer) model.tokenizer.truncation = truncation;
}
