// Row splitters for delimited text: TSV without quoting (GLUE files are QUOTE_NONE, as in run_glue)
// and RFC-4180 CSV (quoted fields may hold commas, newlines and "" escapes).

import { FormatError } from "../errors.ts";

export interface RawRow {
  fields: string[];
  /** 1-based line on which the row starts. */
  line: number;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** TSV rows; quotes are ordinary characters. Blank lines are dropped. */
export function parseTsv(text: string): RawRow[] {
  const lines = stripBom(text).split("\n");
  const rows: RawRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (l.endsWith("\r")) l = l.slice(0, -1);
    if (l === "") continue;
    rows.push({ fields: l.split("\t"), line: i + 1 });
  }
  return rows;
}

/**
 * RFC-4180 CSV rows. Lenient where Python's csv module is lenient: a quote inside an unquoted field,
 * or text after a closing quote, is kept literally. Blank lines are dropped.
 */
export function parseCsv(text: string, file: string, delimiter = ","): RawRow[] {
  const s = stripBom(text);
  const rows: RawRow[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let rowHasContent = false; // distinguishes a blank line from a row holding one empty field ("")

  const endRow = (): void => {
    if (rowHasContent || fields.length > 0 || field !== "") {
      fields.push(field);
      rows.push({ fields, line: rowLine });
    }
    fields = [];
    field = "";
    rowHasContent = false;
  };

  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' && field === "" && !rowHasContentSinceDelimiter(s, i, delimiter)) {
      // Quoted field: read to the closing quote.
      const startLine = line;
      rowHasContent = true;
      i++;
      for (;;) {
        if (i >= s.length) throw new FormatError(file, `unterminated quoted field starting on line ${startLine}`);
        const d = s[i]!;
        if (d === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === "\n") line++;
        field += d;
        i++;
      }
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = "";
      rowHasContent = true;
      i++;
      continue;
    }
    if (c === "\r" && s[i + 1] === "\n") {
      i++;
      continue;
    }
    if (c === "\n") {
      endRow();
      line++;
      rowLine = line;
      i++;
      continue;
    }
    field += c;
    i++;
  }
  endRow();
  return rows;
}

/** True when the character at i does not start a field (something other than a delimiter/newline precedes it). */
function rowHasContentSinceDelimiter(s: string, i: number, delimiter: string): boolean {
  if (i === 0) return false;
  const p = s[i - 1]!;
  return !(p === delimiter || p === "\n" || p === "\r");
}
