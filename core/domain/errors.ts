import type { Text } from "./vocabulary.js";

/** A refusal the citizen should read (duplicate application, full slot, …): shown on the same screen. */
export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: string,
    readonly text: Text,
  ) {
    super(code);
  }
}

/** The request is not allowed for this caller (another mahalla's visit, another citizen's record). */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
  readonly code = "FORBIDDEN";
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
  readonly code = "NOT_FOUND";
}
