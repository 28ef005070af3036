import { ImportRejectedError, type RowError, type RowProblem } from "../../domain/errors.js";
import { normalizeUzPhone } from "../../domain/phone.js";
import { validatePinfl } from "../../domain/pinfl.js";

/** One input record of an import: a CSV line or a JSON array element. */
export interface RawRecord {
  /** 1-based position among the data records (the CSV header is not a record). */
  row: number;
  /** CSV only: the file line the record starts on (the header is line 1). */
  line?: number;
  data: Record<string, unknown>;
  /** Problems found while reading the record itself (a CSV line with the wrong field count). */
  problems?: RowProblem[];
}

export type { RowError, RowProblem };

/** At most this many invalid rows are listed in a rejection; the count covers all of them. */
export const MAX_LISTED_ROW_ERRORS = 200;

/** Collects row problems while an import is read, and rejects it as a whole at the end. */
export class RowErrors {
  private readonly listed: RowError[] = [];
  private invalid = 0;

  add(record: Pick<RawRecord, "row" | "line">, problems: RowProblem[]): void {
    if (problems.length === 0) return;
    this.invalid++;
    if (this.listed.length < MAX_LISTED_ROW_ERRORS) {
      this.listed.push({ row: record.row, ...(record.line !== undefined ? { line: record.line } : {}), problems });
    }
  }

  get count(): number {
    return this.invalid;
  }

  throwIfAny(received: number): void {
    if (this.invalid > 0) {
      this.listed.sort((a, b) => a.row - b.row);
      throw new ImportRejectedError(this.listed, this.invalid, received);
    }
  }
}

const problem = (field: string | null, code: string, message: string): RowProblem => ({ field, code, message });

/**
 * Reads typed fields from a record whose values may be strings (CSV) or JSON values, noting a
 * problem for each bad one. An empty string counts as absent, as a blank CSV cell.
 */
export class RowReader {
  readonly problems: RowProblem[] = [];

  constructor(private readonly data: Record<string, unknown>) {}

  note(field: string | null, code: string, message: string): void {
    this.problems.push(problem(field, code, message));
  }

  private raw(field: string): unknown {
    const value = this.data[field];
    if (value === null || value === undefined) return undefined;
    if (typeof value === "string" && value.trim() === "") return undefined;
    return value;
  }

  has(field: string): boolean {
    return this.raw(field) !== undefined;
  }

  text(field: string, options: { required?: boolean; max?: number; pattern?: RegExp; hint?: string } = {}) {
    const value = this.raw(field);
    if (value === undefined) {
      if (options.required) this.note(field, "REQUIRED", `${field} is required`);
      return undefined;
    }
    if (typeof value !== "string" && typeof value !== "number") {
      this.note(field, "INVALID", `${field} must be text`);
      return undefined;
    }
    const text = String(value).trim();
    if (options.max !== undefined && text.length > options.max) {
      this.note(field, "TOO_LONG", `${field} is longer than ${options.max} characters`);
      return undefined;
    }
    if (options.pattern && !options.pattern.test(text)) {
      this.note(field, "INVALID", options.hint ?? `${field} has an invalid format`);
      return undefined;
    }
    return text;
  }

  integer(field: string, options: { required?: boolean; min?: number; max?: number } = {}) {
    const value = this.raw(field);
    if (value === undefined) {
      if (options.required) this.note(field, "REQUIRED", `${field} is required`);
      return undefined;
    }
    const n = typeof value === "number" ? value : typeof value === "string" ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n)) {
      this.note(field, "INVALID", `${field} must be a whole number`);
      return undefined;
    }
    if ((options.min !== undefined && n < options.min) || (options.max !== undefined && n > options.max)) {
      this.note(field, "OUT_OF_RANGE", `${field} must be between ${options.min ?? "-∞"} and ${options.max ?? "∞"}`);
      return undefined;
    }
    return n;
  }

  boolean(field: string): boolean | undefined {
    const value = this.raw(field);
    if (value === undefined) return undefined;
    if (typeof value === "boolean") return value;
    const text = String(value).trim().toLowerCase();
    if (["true", "1", "yes", "ha", "да"].includes(text)) return true;
    if (["false", "0", "no", "yo'q", "yoʻq", "нет"].includes(text)) return false;
    this.note(field, "INVALID", `${field} must be true or false`);
    return undefined;
  }

  phone(field: string, required = false): string | undefined {
    const text = this.text(field, { required, max: 32 });
    if (text === undefined) return undefined;
    const phone = normalizeUzPhone(text);
    if (!phone) this.note(field, "INVALID_PHONE", `${field} is not an Uzbek phone number (+998 and nine digits)`);
    return phone ?? undefined;
  }

  pinfl(field: string): string | undefined {
    const text = this.text(field, { max: 20 });
    if (text === undefined) return undefined;
    const checked = validatePinfl(text);
    if (!checked.ok) {
      this.note(field, "INVALID_PINFL", `${field} is not a valid PINFL (${checked.problem})`);
      return undefined;
    }
    return checked.pinfl;
  }

  /** A calendar date (YYYY-MM-DD, midnight in Tashkent) or an ISO timestamp with a time zone. */
  instant(field: string, required = false): Date | undefined {
    const text = this.text(field, { required, max: 40 });
    if (text === undefined) return undefined;
    const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00+05:00` : text;
    const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(iso);
    const date = new Date(iso);
    if (!valid || Number.isNaN(date.getTime())) {
      this.note(field, "INVALID_DATE", `${field} must be a date (YYYY-MM-DD) or an ISO 8601 timestamp with a zone`);
      return undefined;
    }
    return date;
  }

  oneOf<T extends string>(field: string, values: readonly T[], required = false): T | undefined {
    const text = this.text(field, { required, max: 40 });
    if (text === undefined) return undefined;
    if (!(values as readonly string[]).includes(text)) {
      this.note(field, "INVALID", `${field} must be one of ${values.join(", ")}`);
      return undefined;
    }
    return text as T;
  }
}

/** A reader over a record, starting with the problems its reading already found. */
export function readerFor(record: RawRecord): RowReader {
  const reader = new RowReader(record.data);
  reader.problems.push(...(record.problems ?? []));
  return reader;
}

/** Runs `query` over `values` in chunks, so an IN list never grows past what the database likes. */
export async function inChunks<T, R>(values: T[], size: number, query: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < values.length; i += size) out.push(...(await query(values.slice(i, i + size))));
  return out;
}

/** Iterates a plain array as import records (JSON bodies). */
export function* recordsOf(items: readonly unknown[]): Generator<RawRecord> {
  let row = 0;
  for (const item of items) {
    row++;
    const data = item !== null && typeof item === "object" && !Array.isArray(item) ? item : {};
    yield { row, data: data as Record<string, unknown> };
  }
}

/** Long transactions for imports: the default interactive transaction gives up after 5 s. */
export const IMPORT_TX = { timeout: 120_000, maxWait: 30_000 } as const;

/** The share of its time an import spends working while people are served; it rests the remainder. */
export const IMPORT_WORK_SHARE = 0.25;

/**
 * What an import's pace asks: `busy` is true while people are being served by this process (a
 * conversation step began within the last second, ConversationEngine.busy); undefined: always.
 */
export interface PaceOptions {
  busy?: () => boolean;
  share?: number;
  clock?: () => number;
  rest?: (ms: number) => Promise<void>;
}

/**
 * An import's pace: called after each batch (resolved or written), it rests in proportion to the
 * work done since the last call while people are being served, so the import then takes at most
 * `share` of the time; with nobody served (an import at night) it goes at full speed. An import
 * is throughput work sharing its process and the machine's cores with people's steps. On payment
 * day (`npm run bench`'s payment day by phase, 50,000 payments, 200 paced USSD sessions) the
 * steps answered while it ran had p99 431 ms at full speed (a shared host), and on a quiet one
 * 142 ms with the import working half the time, 72-80 ms at a quarter (the import then taking
 * 52-54 s instead of 30). Its notices lose nothing by it: even a quarter of the time queues them
 * (about 900/s) far faster than the providers' limits drain them (250 SMS and 25 Telegram
 * messages a second). The rest also lets queued requests reach the database between two
 * transactions.
 */
export function importPace({
  busy = () => true,
  share = IMPORT_WORK_SHARE,
  clock = () => performance.now(),
  rest = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}: PaceOptions = {}): () => Promise<void> {
  let since = clock();
  return async () => {
    const worked = clock() - since;
    await (busy() ? rest((worked * (1 - share)) / share) : nextTurn());
    since = clock();
  };
}

/** Records read between two turns of the event loop (see runImport). */
export const READ_TURN = 100;

/** Lets the event loop run what has arrived meanwhile (a USSD step's request), then goes on. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
