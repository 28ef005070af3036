import { CsvError, PayloadTooLargeError } from "../../core/domain/errors.js";
import type { RawRecord, RowProblem } from "../../core/services/imports/rows.js";

/** A field longer than this is a runaway quote, not data. */
const MAX_FIELD = 10_000;

/**
 * RFC 4180 CSV, parsed incrementally: feed text as it arrives, take the finished rows. Quoted
 * fields may hold delimiters, quotes ("") and line breaks; CRLF and LF both end a row; blank
 * lines are skipped. The delimiter is a comma, or a semicolon when the header has semicolons and
 * no commas (spreadsheets in many locales save that way).
 */
export class CsvParser {
  private delimiter: string | null = null;
  private pending = "";
  private field = "";
  private fields: string[] = [];
  private inQuotes = false;
  private quoteSeen = false;
  private fieldQuoted = false;
  private line = 1;
  private rowLine = 1;
  private out: { line: number; fields: string[] }[] = [];

  push(text: string): { line: number; fields: string[] }[] {
    if (this.delimiter === null) {
      this.pending += text;
      const newline = this.pending.indexOf("\n");
      if (newline < 0) return [];
      this.chooseDelimiter(this.pending.slice(0, newline));
      text = this.pending;
      this.pending = "";
    }
    for (const ch of text) this.char(ch);
    const rows = this.out;
    this.out = [];
    return rows;
  }

  end(): { line: number; fields: string[] }[] {
    if (this.delimiter === null) {
      this.chooseDelimiter(this.pending);
      const text = this.pending;
      this.pending = "";
      for (const ch of text) this.char(ch);
    }
    if (this.quoteSeen) {
      this.quoteSeen = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) {
      throw new CsvError("CSV_MALFORMED", `a quoted field starting on line ${this.rowLine} is never closed`);
    }
    this.endRow();
    const rows = this.out;
    this.out = [];
    return rows;
  }

  private chooseDelimiter(header: string): void {
    this.delimiter = header.includes(";") && !header.includes(",") ? ";" : ",";
  }

  private char(ch: string): void {
    if (this.quoteSeen) {
      this.quoteSeen = false;
      if (ch === '"') {
        this.append('"');
        return;
      }
      this.inQuotes = false;
    }
    if (this.inQuotes) {
      if (ch === '"') this.quoteSeen = true;
      else {
        if (ch === "\n") this.line++;
        this.append(ch);
      }
      return;
    }
    if (ch === '"' && this.field === "" && !this.fieldQuoted) {
      this.inQuotes = true;
      this.fieldQuoted = true;
    } else if (ch === this.delimiter) {
      this.fields.push(this.field);
      this.field = "";
      this.fieldQuoted = false;
    } else if (ch === "\n") {
      this.endRow();
      this.line++;
      this.rowLine = this.line;
    } else if (ch !== "\r") {
      this.append(ch);
    }
  }

  private append(ch: string): void {
    this.field += ch;
    if (this.field.length > MAX_FIELD) {
      throw new CsvError("CSV_MALFORMED", `a field on line ${this.rowLine} is longer than ${MAX_FIELD} characters`);
    }
  }

  private endRow(): void {
    const blank = this.fields.length === 0 && this.field === "" && !this.fieldQuoted;
    if (!blank) this.out.push({ line: this.rowLine, fields: [...this.fields, this.field] });
    this.fields = [];
    this.field = "";
    this.fieldQuoted = false;
  }
}

export interface CsvColumns {
  known: readonly string[];
  required: readonly string[];
}

/**
 * Import records from a CSV byte stream with a header row, one batch of rows at a time: the
 * stream is decoded and parsed as it arrives, so the file is never held in memory. Header
 * problems reject the file at once; a row with the wrong number of fields becomes a row problem,
 * reported together with the others.
 */
export async function* csvRecords(
  source: AsyncIterable<Uint8Array | string>,
  columns: CsvColumns,
  maxBytes: number,
): AsyncGenerator<RawRecord> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const parser = new CsvParser();
  let header: string[] | null = null;
  let bytes = 0;
  let row = 0;
  const take = function* (rows: { line: number; fields: string[] }[]): Generator<RawRecord> {
    for (const r of rows) {
      if (!header) {
        header = checkHeader(r.fields, columns);
        continue;
      }
      row++;
      const data: Record<string, unknown> = {};
      header.forEach((name, i) => {
        data[name] = r.fields[i] ?? "";
      });
      const problems: RowProblem[] =
        r.fields.length === header.length
          ? []
          : [
              {
                field: null,
                code: "FIELD_COUNT",
                message: `expected ${header.length} fields, found ${r.fields.length}`,
              },
            ];
      yield { row, line: r.line, data, ...(problems.length ? { problems } : {}) };
    }
  };
  try {
    for await (const chunk of source) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new PayloadTooLargeError(`the file is larger than ${maxBytes} bytes`);
      const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      yield* take(parser.push(bytes === chunk.length ? text.replace(/^\uFEFF/, "") : text));
    }
    yield* take(parser.push(decoder.decode()));
    yield* take(parser.end());
  } catch (err) {
    if (err instanceof TypeError && /encoded|decode/i.test(err.message)) {
      throw new CsvError("CSV_ENCODING", "the file is not valid UTF-8 (save it as CSV UTF-8)");
    }
    throw err;
  }
  if (!header) throw new CsvError("CSV_EMPTY", "the file has no header row");
}

function checkHeader(fields: string[], columns: CsvColumns): string[] {
  const names = fields.map((f) => f.trim());
  const unknown = names.filter((n) => !columns.known.includes(n));
  if (unknown.length > 0) {
    throw new CsvError(
      "CSV_HEADER",
      `unknown column(s): ${unknown.join(", ")}; expected some of: ${columns.known.join(", ")}`,
    );
  }
  const duplicate = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicate.length > 0)
    throw new CsvError("CSV_HEADER", `column(s) given twice: ${[...new Set(duplicate)].join(", ")}`);
  const missing = columns.required.filter((n) => !names.includes(n));
  if (missing.length > 0) throw new CsvError("CSV_HEADER", `missing column(s): ${missing.join(", ")}`);
  return names;
}
