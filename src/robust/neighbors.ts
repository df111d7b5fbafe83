// Counter-fitted embedding neighbours (TextFooler, TextBugger) from a user JSON file:
//   { "good": ["nice", "decent", ...], ... }                 nearest first, or
//   { "good": [["nice", 0.83], ["decent", 0.79], ...], ... }  with cosine similarities,
// which enables the recipes' cosine bound (TextFooler: 0.5). Keys are matched lower-cased.

import { readJsonFileAsync } from "../node/files.ts";
import { FormatError } from "../errors.ts";

export interface Neighbor {
  word: string;
  /** Cosine similarity to the key word, when the file gives it. */
  cos?: number;
}

export class NeighborTable {
  constructor(
    readonly source: string,
    private readonly table: ReadonlyMap<string, readonly Neighbor[]>,
  ) {}

  get size(): number {
    return this.table.size;
  }

  /** Up to `max` neighbours of `word` (case-insensitive), nearest first, above `minCos` when cosines are known. */
  neighbors(word: string, max = 50, minCos?: number): Neighbor[] {
    const list = this.table.get(word.toLowerCase());
    if (list === undefined) return [];
    const out: Neighbor[] = [];
    for (const n of list) {
      if (out.length >= max) break;
      if (minCos !== undefined && n.cos !== undefined && n.cos < minCos) continue;
      out.push(n);
    }
    return out;
  }

  /** Builds a table from an in-memory object in the file format (validated). */
  static fromObject(obj: unknown, source = "<neighbors>"): NeighborTable {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      throw new FormatError(source, "expected a JSON object mapping each word to a list of neighbour words");
    }
    const table = new Map<string, Neighbor[]>();
    for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
      if (!Array.isArray(value)) {
        throw new FormatError(source, `entry "${key}": expected a list of neighbour words, got ${describe(value)}`);
      }
      const list: Neighbor[] = [];
      value.forEach((item: unknown, i: number) => {
        if (typeof item === "string" && item.length > 0) {
          list.push({ word: item });
        } else if (
          Array.isArray(item) &&
          item.length === 2 &&
          typeof item[0] === "string" &&
          item[0].length > 0 &&
          typeof item[1] === "number" &&
          Number.isFinite(item[1])
        ) {
          list.push({ word: item[0], cos: item[1] });
        } else {
          throw new FormatError(
            source,
            `entry "${key}", neighbour ${i}: expected a non-empty word or a [word, cosine] pair, got ${describe(item)}`,
          );
        }
      });
      const k = key.toLowerCase();
      table.set(k, [...(table.get(k) ?? []), ...list]);
    }
    return new NeighborTable(source, table);
  }
}

/** Reads and validates a neighbour file (see the module comment for the format). */
export async function loadNeighbors(file: string): Promise<NeighborTable> {
  return NeighborTable.fromObject(await readJsonFileAsync(file), file);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  const s = JSON.stringify(v);
  return typeof v === "string" ? `string ${s}` : `${typeof v} ${s && s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}
