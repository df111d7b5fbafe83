// Reads labelled (or unlabelled) text examples from TSV, CSV, JSON Lines / JSON and Parquet files,
// in Hugging Face layout (header with HF column names) or the original GLUE layouts, or user columns.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { ConfigError, DataError, FormatError } from "../errors.ts";
import { jsonProblem } from "../io/json.ts";
import { decodeText, type DecodedText, parseEncoding, type TextEncoding } from "../io/text.ts";
import { parseDelimited, type RawRow } from "./delimited.ts";
import type { ColumnLayout, ColumnRef, Task } from "./tasks.ts";

export interface Example {
  text: string;
  pair?: string;
  /** Class id, regression target, or null for an unlabelled example (test files, HF label -1). */
  label: number | null;
  /** 1-based line where the row starts; for JSON arrays and Parquet, the 1-based record number. */
  line: number;
}

export type DataFormat = "tsv" | "csv" | "jsonl" | "json" | "parquet";

export interface ReadOptions {
  task: Task;
  /** Column name, or 0-based index (a number, or a string of digits that is not a column name). */
  textColumn?: ColumnRef;
  textPairColumn?: ColumnRef;
  labelColumn?: ColumnRef;
  /** TSV/CSV only. Default: auto (see detectHeader). */
  hasHeader?: boolean;
  /** Count unusable rows in `skipped` instead of failing on the first one. */
  skipBadRows?: boolean;
  /** Default: from the file extension. */
  format?: DataFormat;
  /**
   * Text encoding of TSV/CSV/JSON files (utf8, latin1, windows-1252, utf16le; default utf8). Bytes that are
   * not valid in it are bad rows, never replaced silently.
   */
  encoding?: string;
}

export interface ReadResult {
  examples: Example[];
  skipped: number;
  /** The first skipped row and why, for a summary line. */
  firstSkipped?: { line: number; problem: string };
  /**
   * Class names in id order: the task's labels, or for a custom task without labels the sorted distinct
   * label values of this file (numerically when all are integers). Null for regression and unlabelled data.
   * Read a custom task's other splits with `customTask({ labels })` so ids agree.
   */
  labels: string[] | null;
}

/** A file read into cells: `header` names the columns (null for header-less delimited files). */
interface Table {
  header: string[] | null;
  width: number;
  rows: { cells: unknown[]; line: number; problem?: string }[];
}

interface Resolved {
  text: number;
  pair?: number;
  label: number | null;
}

export function detectFormat(file: string): DataFormat {
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case ".tsv":
    case ".tab":
      return "tsv";
    case ".csv":
      return "csv";
    case ".jsonl":
    case ".ndjson":
      return "jsonl";
    case ".json":
      return "json";
    case ".parquet":
    case ".pq":
      return "parquet";
    default:
      throw new ConfigError(
        `${file}: cannot tell the data format from the extension "${ext}"; give the format (tsv, csv, jsonl, json or parquet)`,
      );
  }
}

export async function readExamples(file: string, opts: ReadOptions): Promise<ReadResult> {
  const format = opts.format ?? detectFormat(file);
  const table = await readTable(file, format, opts);
  const cols = resolveColumns(file, table, opts);
  return toExamples(file, table, cols, opts);
}

// ---------------------------------------------------------------- tables

async function readText(file: string, encoding: TextEncoding): Promise<DecodedText> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, null, code === "ENOENT" ? "no such file" : `cannot read: ${(e as Error).message}`);
  }
  const decoded = decodeText(bytes, file, encoding);
  if (encoding === "utf8" && decoded.problems.length > 0) {
    // The hint goes with the first problem only: that is the one a user sees without --skip-bad-rows.
    const p = decoded.problems[0]!;
    decoded.problems[0] = {
      ...p,
      problem: `${p.problem} (if the file is in a legacy encoding, read it with encoding latin1 or windows-1252)`,
    };
  }
  return decoded;
}

async function readTable(file: string, format: DataFormat, opts: ReadOptions): Promise<Table> {
  const encoding = parseEncoding(opts.encoding ?? "utf8");
  switch (format) {
    case "tsv":
    case "csv": {
      const { text, problems } = await readText(file, encoding);
      const rows = parseDelimited(text, {
        delimiter: format === "csv" ? "," : "\t",
        quoted: format === "csv",
        continueAfterError: opts.skipBadRows ?? false,
        lineProblems: problems,
      });
      return delimitedTable(file, rows, opts);
    }
    case "jsonl":
    case "json":
      return jsonTable(file, await readText(file, encoding), format);
    case "parquet":
      return parquetTable(file);
  }
}

function delimitedTable(file: string, raw: RawRow[], opts: ReadOptions): Table {
  if (raw.length === 0) throw new DataError(file, null, "the file is empty");
  // The first row decides the header and the width, so it cannot be skipped, even with skipBadRows:
  // the next row would be taken for the header and lost without a count.
  if (raw[0]!.problem) throw new DataError(file, raw[0]!.line, `${raw[0]!.problem} (in the first row, which is needed to read the rest)`);
  const header =
    opts.hasHeader ??
    detectHeader(
      raw.filter((r) => !r.problem),
      opts,
    );
  const width = raw[0]!.fields.length;
  const body = header ? raw.slice(1) : raw;
  const what = header ? "the header" : "the first row";
  return {
    header: header ? raw[0]!.fields.map((f) => f.trim()) : null,
    width,
    rows: body.map((r) => ({
      cells: r.fields,
      line: r.line,
      // A field-count mismatch means a stray delimiter or a truncated row: every position is suspect.
      ...(r.problem
        ? { problem: r.problem }
        : r.fields.length !== width
          ? { problem: fieldCountProblem(r.fields.length, width, what) }
          : {}),
    })),
  };
}

function fieldCountProblem(n: number, width: number, what: string): string {
  return n < width
    ? `missing fields: row has ${n} of the ${width} fields in ${what}`
    : `row has ${n} fields, ${what} has ${width} (a stray delimiter?)`;
}

function jsonTable(file: string, { text, problems }: DecodedText, format: DataFormat): Table {
  const records: { value: unknown; line: number; problem?: string }[] = [];
  const trimmed = text.trimStart();
  if (format === "json" && trimmed.startsWith("[")) {
    // One JSON document: a bad byte anywhere makes the whole of it suspect.
    if (problems[0]) throw new DataError(file, problems[0].line, problems[0].problem);
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new FormatError(file, `invalid JSON: ${jsonProblem(e)}`);
    }
    if (!Array.isArray(arr)) throw new FormatError(file, "expected a JSON array of records");
    arr.forEach((value, i) => {
      records.push({ value, line: i + 1 });
    });
  } else {
    const lines = text.split("\n");
    const bad = new Map(problems.map((p) => [p.line, p.problem]));
    lines.forEach((l, i) => {
      if (l.trim() === "") return;
      const problem = bad.get(i + 1);
      if (problem !== undefined) {
        records.push({ value: null, line: i + 1, problem });
        return;
      }
      try {
        records.push({ value: JSON.parse(l), line: i + 1 });
      } catch (e) {
        records.push({ value: null, line: i + 1, problem: `invalid JSON: ${jsonProblem(e)}` });
      }
    });
  }
  const header: string[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    if (isRecord(r.value)) {
      for (const k of Object.keys(r.value)) {
        if (!seen.has(k)) {
          seen.add(k);
          header.push(k);
        }
      }
    }
  }
  return {
    header,
    width: header.length,
    rows: records.map((r) => {
      if (r.problem) return { cells: [], line: r.line, problem: r.problem };
      if (!isRecord(r.value)) return { cells: [], line: r.line, problem: "not a JSON object" };
      const obj = r.value;
      return { cells: header.map((k) => (Object.hasOwn(obj, k) ? obj[k] : undefined)), line: r.line };
    }),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function parquetTable(file: string): Promise<Table> {
  let rows: Record<string, unknown>[];
  let header: string[];
  try {
    const buf = await asyncBufferFromFile(file);
    const metadata = await parquetMetadataAsync(buf);
    header = parquetSchema(metadata).children.map((c) => c.element.name);
    rows = await parquetReadObjects({ file: buf, metadata, rowFormat: "object" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new DataError(file, null, "no such file");
    throw new FormatError(file, `cannot read as Parquet: ${(e as Error).message}`);
  }
  return {
    header,
    width: header.length,
    rows: rows.map((r, i) => ({ cells: header.map((k) => r[k]), line: i + 1 })),
  };
}

// ---------------------------------------------------------------- columns

function isIndexString(ref: ColumnRef): boolean {
  return typeof ref === "string" && /^\d+$/.test(ref);
}

/**
 * Position of the column named `name`: the exact name, else the one column that matches ignoring case
 * ("Sentence" for "sentence"), else -1.
 */
function nameIndex(name: string, header: readonly string[]): number {
  const i = header.indexOf(name);
  if (i >= 0) return i;
  const lower = name.toLowerCase();
  const matches = header.flatMap((h, j) => (h.toLowerCase() === lower ? [j] : []));
  return matches.length === 1 ? matches[0]! : -1;
}

/** Position of `ref` in the table, or -1. Names win over digit strings so a column called "0" still works. */
function refIndex(ref: ColumnRef, header: string[] | null, width: number): number {
  if (typeof ref === "string") {
    const i = header ? nameIndex(ref, header) : -1;
    if (i >= 0) return i;
    if (!isIndexString(ref)) return -1;
  }
  const n = Number(ref);
  return Number.isInteger(n) && n >= 0 && n < width ? n : -1;
}

function describe(ref: ColumnRef): string {
  return typeof ref === "number" || isIndexString(ref) ? `column ${ref}` : `column "${ref}"`;
}

/** Task layouts with the caller's columns laid over them, in the order they are tried. */
function candidateLayouts(opts: ReadOptions, headerPresent: boolean): ColumnLayout[] {
  const out: ColumnLayout[] = [];
  for (const l of opts.task.layouts) {
    // A positional task layout (original CoLA) only describes header-less files.
    if (headerPresent && !l.header) continue;
    const pair = opts.textPairColumn ?? l.pair;
    out.push({
      header: l.header,
      text: opts.textColumn ?? l.text,
      label: opts.labelColumn ?? l.label,
      ...(pair !== undefined ? { pair } : {}),
    });
  }
  return out;
}

/**
 * Whether the first row of a TSV/CSV file is a header. It is when it holds the text (and pair) column
 * names of some layout. With positional columns, it is when its label cell cannot be a label: not a known
 * class (fixed labels), not a number (regression), or, for labels read from the data, a value seen nowhere
 * else in a label column that does repeat (e.g. "Label" over ham/spam). Pass `hasHeader` to override.
 */
function detectHeader(raw: RawRow[], opts: ReadOptions): boolean {
  const first = raw[0]!.fields.map((f) => f.trim());
  const layouts = candidateLayouts(opts, false);
  const named = (r: ColumnRef | undefined): boolean => typeof r === "string" && nameIndex(r, first) >= 0;
  for (const l of layouts) {
    if (named(l.text) && (l.pair === undefined || named(l.pair))) return true;
  }
  const positional = layouts.find(
    (l) => refIndex(l.text, null, Infinity) >= 0 && (l.pair === undefined || refIndex(l.pair, null, Infinity) >= 0),
  );
  if (!positional) return true; // nothing could read the file header-less; report against its first row
  const li = refIndex(positional.label, null, Infinity);
  if (li < 0) return false;
  const cell = raw[0]!.fields[li];
  if (cell === undefined) return false;
  const task = opts.task;
  if (task.isRegression) return !Number.isFinite(Number(cell.trim())) || cell.trim() === "";
  if (task.labels) {
    const r = labelParser(task)(cell);
    return r !== null && typeof r === "object";
  }
  const rest = raw.slice(1).map((r) => r.fields[li]?.trim() ?? "");
  if (rest.length === 0 || rest.includes(cell.trim())) return false;
  const allInts = rest.every((v) => /^-?\d+$/.test(v));
  return new Set(rest).size < rest.length || (allInts && !/^-?\d+$/.test(cell.trim()));
}

function resolveColumns(file: string, table: Table, opts: ReadOptions): Resolved {
  const { header, width } = table;
  const cols = header ? `; its columns are: ${header.map((h) => JSON.stringify(h)).join(", ")}` : `; it has ${width} columns`;
  // Columns the caller named must exist.
  for (const [ref, what] of [
    [opts.textColumn, "text"],
    [opts.textPairColumn, "text pair"],
    [opts.labelColumn, "label"],
  ] as const) {
    if (ref !== undefined && refIndex(ref, header, width) < 0) {
      throw new DataError(file, null, `no ${describe(ref)} for the ${what}${header ? "" : " (the file has no header row)"}${cols}`);
    }
  }
  let unlabeled: Resolved | null = null;
  for (const l of candidateLayouts(opts, header !== null)) {
    const text = refIndex(l.text, header, width);
    const pair = l.pair === undefined ? undefined : refIndex(l.pair, header, width);
    if (text < 0 || pair === -1) continue;
    const label = refIndex(l.label, header, width);
    const r: Resolved = { text, label: label < 0 ? null : label, ...(pair !== undefined ? { pair } : {}) };
    if (label >= 0) return r;
    unlabeled ??= r;
  }
  if (unlabeled) return unlabeled;
  const expected = candidateLayouts(opts, header !== null)
    .map((l) =>
      [l.text, l.pair, l.label]
        .filter((x) => x !== undefined)
        .map(describe)
        .join(" + "),
    )
    .join(" | ");
  throw new DataError(
    file,
    null,
    `cannot find the ${opts.task.name} columns (tried: ${expected || "none"})${cols}; name them with the text/pair/label column options`,
  );
}

// ---------------------------------------------------------------- labels and examples

/** Cell value as text; undefined when the cell is missing or null, an error string when not text-like. */
function cellText(v: unknown): string | undefined | { error: string } {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  return { error: `expected text, found ${Array.isArray(v) ? "an array" : typeof v}` };
}

/** Parses a label cell of a task with known labels (or regression): id/value, null (unlabelled), or an error. */
function labelParser(task: Task): (raw: string) => number | null | { error: string } {
  if (task.isRegression) {
    const glue = task.name !== "custom";
    return (raw) => {
      const s = raw.trim();
      const v = Number(s);
      if (s === "" || !Number.isFinite(v)) return { error: `label ${JSON.stringify(raw)} is not a number` };
      return glue && v === -1 ? null : v; // HF GLUE test splits carry -1
    };
  }
  const labels = task.labels ?? [];
  const lower = labels.map((l) => l.toLowerCase());
  return (raw) => {
    const s = raw.trim();
    const exact = labels.indexOf(s);
    if (exact >= 0) return exact;
    const folded = lower.indexOf(s.toLowerCase());
    if (folded >= 0) return folded;
    const n = Number(s);
    if (s !== "" && Number.isInteger(n)) {
      if (n === -1) return null; // HF convention for a missing label
      if (n >= 0 && n < labels.length) return n;
      return { error: `label ${n} is out of range 0..${labels.length - 1}` };
    }
    return { error: `unknown label ${JSON.stringify(raw)} (expected one of: ${labels.join(", ")}, or an id 0..${labels.length - 1})` };
  };
}

/** Sorted distinct labels, numerically when every value is an integer (as HF class_encode_column sorts). */
function discoverLabels(values: Iterable<string>): string[] {
  const distinct = [...new Set(values)];
  if (distinct.length > 0 && distinct.every((v) => /^-?\d+$/.test(v))) {
    return distinct.sort((a, b) => Number(a) - Number(b));
  }
  return distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

interface Pending {
  text: string;
  pair?: string;
  rawLabel: string | null;
  line: number;
}

function toExamples(file: string, table: Table, cols: Resolved, opts: ReadOptions): ReadResult {
  const { header } = table;
  const task = opts.task;
  const name = (i: number): string => (header ? `"${header[i]}"` : `column ${i}`);
  let skipped = 0;
  let firstSkipped: ReadResult["firstSkipped"];
  const bad = (line: number, problem: string): void => {
    if (!opts.skipBadRows) throw new DataError(file, line, problem);
    skipped++;
    firstSkipped ??= { line, problem };
  };

  const pending: Pending[] = [];
  rows: for (const row of table.rows) {
    if (row.problem) {
      bad(row.line, row.problem);
      continue;
    }
    const fields: Partial<Record<"text" | "pair" | "label", string>> = {};
    for (const [key, idx, what] of [
      ["text", cols.text, "text"],
      ["pair", cols.pair, "text pair"],
      ["label", cols.label, "label"],
    ] as const) {
      if (idx === undefined || idx === null) continue;
      const v = cellText(row.cells[idx]);
      if (v === undefined) {
        bad(row.line, `missing ${what} field ${name(idx)}`);
        continue rows;
      }
      if (typeof v !== "string") {
        bad(row.line, `${what} field ${name(idx)}: ${v.error}`);
        continue rows;
      }
      if (key !== "label" && v.trim() === "") {
        bad(row.line, `empty ${what} in ${name(idx)}`);
        continue rows;
      }
      if (key === "label" && v.trim() === "") {
        bad(row.line, `empty label in ${name(idx)}`);
        continue rows;
      }
      fields[key] = v;
    }
    pending.push({
      text: fields.text!,
      ...(fields.pair !== undefined ? { pair: fields.pair } : {}),
      rawLabel: fields.label ?? null,
      line: row.line,
    });
  }

  // Custom task without fixed labels: the label set is whatever this file holds.
  let effective = task;
  let labels: string[] | null = task.labels ? [...task.labels] : null;
  if (!task.isRegression && !task.labels && cols.label !== null) {
    labels = discoverLabels(pending.map((p) => p.rawLabel!.trim()));
    effective = { ...task, labels, numLabels: labels.length };
  }
  const parse = cols.label !== null ? labelParser(effective) : null;

  const examples: Example[] = [];
  for (const p of pending) {
    let label: number | null = null;
    if (parse && p.rawLabel !== null) {
      const r = parse(p.rawLabel);
      if (r !== null && typeof r === "object") {
        bad(p.line, r.error);
        continue;
      }
      label = r;
    }
    examples.push({ text: p.text, ...(p.pair !== undefined ? { pair: p.pair } : {}), label, line: p.line });
  }
  if (examples.length === 0) {
    throw new DataError(file, null, `no usable examples${skipped > 0 ? ` (${skipped} bad rows skipped)` : ""}`);
  }
  return { examples, skipped, ...(firstSkipped ? { firstSkipped } : {}), labels: task.isRegression ? null : labels };
}
