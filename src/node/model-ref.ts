// Which model folder a command works on: a directory, a Hugging Face Hub id, or the shipped default.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.ts";
import { type ResolveModelOptions, resolveModel } from "./hub.ts";

/** The pre-trained model shipped in the repository, used when no --model is given. */
export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), "../../models/rose-mini");

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
