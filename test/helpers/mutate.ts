// Seeded mutations of valid files for property tests, and the oracle they are judged by: a reader given a
// mutated file either refuses it with a typed RoseError that names the file, or returns exactly what the
// unmutated file gives, or (only where a mutation can make another valid file) some other valid result.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { Rng } from "../../src/engine/rng.ts";
import { RoseError } from "../../src/errors.ts";

export type Outcome<T> = { kind: "error"; message: string } | { kind: "same" } | { kind: "changed"; value: T };

/**
 * Runs `read` and classifies the result. Anything thrown that is not a RoseError naming `file` fails the
 * test with `what` (the mutation) in the message, so a failure says how to reproduce it.
 */
export async function outcome<T>(what: string, file: string, read: () => T | Promise<T>, original: T): Promise<Outcome<T>> {
  let value: T;
  // A native crash kills the process without a word: ROSE_MUTATE_TRACE=1 names each mutation first.
  if (process.env.ROSE_MUTATE_TRACE) process.stderr.write(`${what}\n`);
  try {
    value = await read();
  } catch (e) {
    if (!(e instanceof RoseError)) assert.fail(`${what}: crashed with ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(e.message.includes(file), `${what}: the error does not name ${file}: ${e.message}`);
    assert.ok(!e.message.includes("\n"), `${what}: the error is not one line: ${e.message}`);
    return { kind: "error", message: e.message };
  }
  return isDeepStrictEqual(value, original) ? { kind: "same" } : { kind: "changed", value };
}

/** Cut points at and next to each boundary, within [0, length). */
export function cutsAround(boundaries: Iterable<number>, length: number): number[] {
  const out = new Set<number>();
  for (const b of boundaries) for (const c of [b - 1, b, b + 1]) if (c >= 0 && c < length) out.add(c);
  return [...out].sort((a, b) => a - b);
}

/** `bytes` with the byte at `pos` replaced by a different, random one. */
export function flip(bytes: Uint8Array, pos: number, rng: Rng): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[pos] = (bytes[pos]! + 1 + rng.int(255)) & 0xff;
  return out;
}

/** `n` distinct positions in [from, to), seeded. */
export function positions(rng: Rng, from: number, to: number, n: number): number[] {
  const all = Array.from({ length: to - from }, (_, i) => from + i);
  return rng
    .shuffle(all)
    .slice(0, n)
    .sort((a, b) => a - b);
}

/** For each byte of a JSON text: "string" inside a string literal (quotes excluded), "number", or "syntax". */
export function jsonByteClasses(text: Uint8Array): ("string" | "number" | "syntax")[] {
  const out: ("string" | "number" | "syntax")[] = [];
  let inString = false;
  let escaped = false;
  for (const b of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === 0x22) {
        inString = false;
        out.push("syntax");
        continue;
      }
      out.push("string");
    } else if (b === 0x22) {
      inString = true;
      out.push("syntax");
    } else out.push((b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x2b || b === 0x65 || b === 0x45 ? "number" : "syntax");
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Paths to every value in a JSON document (object keys and array indices), the root excluded. */
function jsonPaths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...prefix, i], ...jsonPaths(x, [...prefix, i]));
    });
  } else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...jsonPaths(x, [...prefix, k]));
  return out;
}

const REPLACEMENTS: Json[] = [null, true, "x", "", -1, 0, 1.5, 1e300, [], {}, [1, 2], { a: 1 }];

export interface JsonEdit {
  what: string;
  value: Json;
}

/** `n` seeded edits of `doc`: a value deleted, or replaced by one of another type or an edge value. */
export function jsonEdits(doc: Json, rng: Rng, n: number, paths = jsonPaths(doc)): JsonEdit[] {
  const out: JsonEdit[] = [];
  for (let i = 0; i < n; i++) {
    const path = paths[rng.int(paths.length)]!;
    const copy = structuredClone(doc) as Json;
    let parent = copy as Record<string | number, Json>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
    const key = path.at(-1)!;
    if (rng.int(3) === 0) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      out.push({ what: `delete ${path.join(".")}`, value: copy });
    } else {
      const r = REPLACEMENTS[rng.int(REPLACEMENTS.length)]!;
      parent[key] = structuredClone(r);
      out.push({ what: `set ${path.join(".")} = ${JSON.stringify(r)}`, value: copy });
    }
  }
  return out;
}

export { Rng };
