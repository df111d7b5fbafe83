// Rows of delimited text, parsed by csv-parse. CSV follows RFC 4180 (quoted fields may hold delimiters,
// newlines and "" escapes); TSV has no quoting (GLUE's files are QUOTE_NONE, as in run_glue, and hold bare
// quote characters). Malformed quoting is never absorbed: a row that cannot be parsed becomes a row with a
// `problem`, and parsing resumes on the next line, so one bad row cannot swallow the rows after it.
import { parse, CsvError } from "csv-parse/sync";
import type { LineProblem } from "../io/text.ts";

export interface RawRow {
  fields: string[];
  /** 1-based line on which the row starts. */
  line: number;
  /** Why the row cannot be used (bad quoting, undecodable bytes); `fields` is then empty. */
  problem?: string;
}

export interface DelimitedOptions {
  delimiter: "," | "\t";
  /** CSV quoting ("); false reads quote characters as text (TSV). */
  quoted: boolean;
  /** Keep parsing after a malformed row (it is returned with its problem); otherwise stop at the first. */
  continueAfterError: boolean;
  /** Lines with undecodable bytes or NULs: a row touching one of them gets its problem. */
  lineProblems?: readonly LineProblem[];
}

/** Longest row accepted, in characters: beyond it a runaway quoted field is reported, not read on. */
export const MAX_ROW_CHARS = 1_000_000;

/** Byte offsets where each line starts (line n starts at starts[n - 1]); LF, CRLF and a lone CR end a line. */
function lineStarts(buf: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x0a || (c === 0x0d && buf[i + 1] !== 0x0a)) starts.push(i + 1);
  }
  return starts;
}

/** 1-based line holding byte `offset`. */
function lineAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** First offset at or after `from` that is not a line break: where the next record starts (blank lines are skipped). */
function skipBreaks(buf: Buffer, from: number): number {
  let i = from;
  while (i < buf.length && (buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  return i;
}

function describe(e: CsvError, line: number): string {
  const code = e.code as string;
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "the quoted field that starts on this line is never closed (an unbalanced quote)";
    case "CSV_INVALID_CLOSING_QUOTE": {
      const got = /got (".*?") at line/.exec(e.message)?.[1] ?? "text";
      const end = typeof e.lines === "number" && e.lines > line ? ` on line ${e.lines}` : "";
      return `a quoted field that starts on this line is closed${end} and followed by ${got} instead of a delimiter or the line end (an unbalanced quote)`;
    }
    case "INVALID_OPENING_QUOTE":
      return 'a quote character inside an unquoted field (quote the whole field and double the quote: "say ""hi""")';
    case "CSV_MAX_RECORD_SIZE":
      return `a row longer than ${MAX_ROW_CHARS} characters (an unbalanced quote?)`;
    default:
      return `cannot parse the row: ${e.message}`;
  }
}

/**
 * Rows of a delimited file, blank lines dropped, a UTF-8 byte-order mark ignored, CRLF, LF and CR line ends
 * accepted. `text` is the decoded file.
 */
export function parseDelimited(text: string, opts: DelimitedOptions): RawRow[] {
  // csv-parse works on UTF-8 bytes; offsets below are into this buffer.
  const buf = Buffer.from(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, "utf8");
  const starts = lineStarts(buf);
  const rows: (RawRow & { endLine: number })[] = [];
  let from = skipBreaks(buf, 0);
  while (from < buf.length) {
    let last = from; // end of the last record read in this pass
    try {
      parse(buf.subarray(from), {
        delimiter: opts.delimiter,
        quote: opts.quoted ? '"' : false,
        record_delimiter: ["\r\n", "\n", "\r"],
        relax_column_count: true, // field counts are checked against the header by the caller
        skip_empty_lines: true,
        max_record_size: MAX_ROW_CHARS,
        on_record: (record: string[], context) => {
          const start = skipBreaks(buf, last);
          const end = from + context.bytes;
          rows.push({ fields: record, line: lineAt(starts, start), endLine: lineAt(starts, Math.max(start, end - 1)) });
          last = end;
          return null; // collected here, so a later error cannot lose it
        },
      });
      break;
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      const start = skipBreaks(buf, last);
      const line = lineAt(starts, start);
      rows.push({ fields: [], line, endLine: line, problem: describe(e, line) });
      if (!opts.continueAfterError || line >= starts.length) break;
      from = skipBreaks(buf, starts[line]!); // resume on the next line
    }
  }
  // Both lists are in line order: walk them together.
  const bad = opts.lineProblems ?? [];
  let k = 0;
  return rows.map(({ endLine, ...r }) => {
    while (k < bad.length && bad[k]!.line < r.line) k++;
    const p = bad[k];
    if (r.problem || !p || p.line > endLine) return r;
    return { fields: [], line: r.line, problem: p.problem };
  });
}
