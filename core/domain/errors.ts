import type { ApplicationStatus } from "./statuses.js";
import type { Text } from "./vocabulary.js";

/**
 * The error catalogue: every error the product throws on purpose is declared here, once, with a
 * stable `code` (what clients and logs match on) and a `kind` (what sort of refusal it is). The
 * kind, not the class, decides how a front end answers: HTTP_STATUS below turns it into a status,
 * so no error handler can forget a class (app/api/errors.ts once forgot ForbiddenError and
 * answered 500). Like Fastify's own errors they carry `statusCode`, so Fastify's default handler
 * (the open data) answers them right too.
 * Send failures have their own base with `retryable` (core/notifications/senders.ts).
 */
export const ERROR_KINDS = [
  /** The request is malformed or names something the domain rejects. */
  "invalid",
  "not_found",
  /** Not allowed for this caller. */
  "forbidden",
  /** Contradicts what is stored, or lost a race with a concurrent change. */
  "conflict",
  /** Well-formed, but its content cannot be accepted as a whole (an import with bad rows). */
  "unprocessable",
  "too_large",
  /** Cannot be answered right now; the same request may succeed later. */
  "unavailable",
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The one table from kind to HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  unavailable: 503,
};

/** Extra fields an error answer carries beside `code` and `message`, in the order they are sent. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

export abstract class AppError extends Error {
  abstract readonly code: string;
  abstract readonly kind: ErrorKind;

  get statusCode(): number {
    return HTTP_STATUS[this.kind];
  }

  /** Fields a client needs to act on the error (which field, which rows); none by default. */
  details(): ErrorDetails {
    return {};
  }
}

/** A refusal the citizen should read (duplicate application, full slot, …): shown on the same screen. */
export class DomainError extends AppError {
  override name = "DomainError";
  readonly kind = "conflict";
  constructor(
    readonly code: string,
    readonly text: Text,
  ) {
    super(code);
  }
}

/** The request is not allowed for this caller (another mahalla's visit, another citizen's record). */
export class ForbiddenError extends AppError {
  override name = "ForbiddenError";
  readonly code = "FORBIDDEN";
  readonly kind = "forbidden";
}

export class NotFoundError extends AppError {
  override name = "NotFoundError";
  readonly code = "NOT_FOUND";
  readonly kind = "not_found";
}

/** The request contradicts what is stored (a phone number already taken, an inactive worker). */
export class ConflictError extends AppError {
  override name = "ConflictError";
  readonly kind = "conflict";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A value the schema allowed but the domain does not (an unknown district code). */
export class InvalidInputError extends AppError {
  override name = "InvalidInputError";
  readonly kind = "invalid";
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  override details(): ErrorDetails {
    return this.field ? { field: this.field } : {};
  }
}

/** A body (JSON or CSV) larger than the route accepts: nothing of it is used. */
export class PayloadTooLargeError extends AppError {
  override name = "PayloadTooLargeError";
  readonly code = "PAYLOAD_TOO_LARGE";
  readonly kind = "too_large";
}

/** Thrown for a status change the life cycle does not allow. */
export class IllegalTransitionError extends AppError {
  override name = "IllegalTransitionError";
  readonly code = "ILLEGAL_TRANSITION";
  readonly kind = "conflict";
  constructor(
    readonly from: ApplicationStatus,
    readonly to: ApplicationStatus,
  ) {
    super(`an application cannot go from ${from} to ${to}`);
  }

  override details(): ErrorDetails {
    return { from: this.from, to: this.to };
  }
}

/** One invalid row of an import and what is wrong with it. */
export interface RowProblem {
  field: string | null;
  code: string;
  message: string;
}

export interface RowError {
  row: number;
  line?: number;
  problems: RowProblem[];
}

/** An import with at least one bad row: nothing was written. */
export class ImportRejectedError extends AppError {
  override name = "ImportRejectedError";
  readonly code = "IMPORT_REJECTED";
  readonly kind = "unprocessable";
  constructor(
    readonly rows: RowError[],
    readonly invalidRows: number,
    readonly receivedRows: number,
  ) {
    super(`${invalidRows} of ${receivedRows} rows are invalid; nothing was imported`);
  }

  override details(): ErrorDetails {
    return { rows: this.rows, invalidRows: this.invalidRows, receivedRows: this.receivedRows };
  }
}

export const CSV_ERROR_CODES = ["CSV_HEADER", "CSV_ENCODING", "CSV_MALFORMED", "CSV_EMPTY"] as const;

/** The file itself is unusable (header, encoding, an unterminated quote): nothing is imported. */
export class CsvError extends AppError {
  override name = "CsvError";
  readonly kind = "invalid";
  constructor(
    readonly code: (typeof CSV_ERROR_CODES)[number],
    message: string,
  ) {
    super(message);
  }
}

/** No open-data release to serve (none computed yet could be published). */
export class ReleaseUnavailableError extends AppError {
  override name = "ReleaseUnavailableError";
  readonly code = "RELEASE_UNAVAILABLE";
  readonly kind = "unavailable";
  constructor() {
    super("no open-data release can be published right now");
  }
}

/** A release that no amount of further suppression made safe: it is not published. */
export class UnsafeReleaseError extends AppError {
  override name = "UnsafeReleaseError";
  readonly code = "UNSAFE_RELEASE";
  readonly kind = "unavailable";
  constructor(
    message: string,
    readonly cells: string[],
  ) {
    super(message);
  }
}

/** Another request held the conversation session for longer than a step may take: this copy gives up. */
export class SessionBusyError extends AppError {
  override name = "SessionBusyError";
  readonly code = "SESSION_BUSY";
  readonly kind = "unavailable";
  constructor() {
    super("the conversation session is held by another request");
  }
}

/** The step's lease ran out and another request took the session: this step's answer is not stored. */
export class SessionLeaseLostError extends AppError {
  override name = "SessionLeaseLostError";
  readonly code = "SESSION_LEASE_LOST";
  readonly kind = "unavailable";
  constructor() {
    super("the conversation session lease was lost before the step was saved");
  }
}

/** A step or lookup outlived its deadline (it may still finish in the background). */
export class DeadlineError extends AppError {
  override name = "DeadlineError";
  readonly code = "DEADLINE_EXCEEDED";
  readonly kind = "unavailable";
}
