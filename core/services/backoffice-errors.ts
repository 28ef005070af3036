/** The request contradicts what is stored (a phone number already taken, an inactive worker): HTTP 409. */
export class ConflictError extends Error {
  override name = "ConflictError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A value the schema allowed but the domain does not (an unknown district code): HTTP 400. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
