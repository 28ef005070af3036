import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { NotFoundError } from "../../core/domain/errors.js";
import { IllegalTransitionError } from "../../core/services/applications.js";
import { ConflictError, InvalidInputError } from "../../core/services/backoffice-errors.js";
import { ImportRejectedError } from "../../core/services/imports/rows.js";
import { isUniqueViolation } from "../../core/services/references.js";
import { CsvError } from "./csv.js";

/** An error answer decided by a route: status, stable code, message. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorPayload {
  code: string;
  message: string;
  [extra: string]: unknown;
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_BODY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "EMPTY_BODY",
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "BAD_REQUEST",
};

/** Maps what a route threw to a status and the `{"error": {code, message}}` body. */
export function toErrorAnswer(err: unknown): { status: number; error: ErrorPayload } {
  if (err instanceof ApiError) return { status: err.statusCode, error: { code: err.code, message: err.message } };
  if (err instanceof ImportRejectedError) {
    return {
      status: 422,
      error: {
        code: err.code,
        message: err.message,
        rows: err.rows,
        invalidRows: err.invalidRows,
        receivedRows: err.receivedRows,
      },
    };
  }
  if (err instanceof CsvError) return { status: err.statusCode, error: { code: err.code, message: err.message } };
  if (err instanceof IllegalTransitionError) {
    return { status: 409, error: { code: err.code, message: err.message, from: err.from, to: err.to } };
  }
  if (err instanceof NotFoundError) return { status: 404, error: { code: err.code, message: err.message } };
  if (err instanceof ConflictError) return { status: 409, error: { code: err.code, message: err.message } };
  if (err instanceof InvalidInputError) {
    return {
      status: 400,
      error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) },
    };
  }
  if (isUniqueViolation(err)) {
    return { status: 409, error: { code: "CONFLICT", message: "a concurrent change got there first; try again" } };
  }
  const f = err as Partial<FastifyError>;
  if (f.validation) {
    return {
      status: 400,
      error: {
        code: "VALIDATION_FAILED",
        message: f.message ?? "invalid request",
        details: f.validation.map((v) => ({
          path: `${f.validationContext ?? ""}${v.instancePath ?? ""}`,
          message: v.message ?? "invalid",
        })),
      },
    };
  }
  if (typeof f.statusCode === "number" && f.statusCode >= 400 && f.statusCode < 500) {
    const code =
      (f.code && FASTIFY_CODES[f.code]) ??
      (err instanceof SyntaxError ? "INVALID_JSON" : f.statusCode === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST");
    return { status: f.statusCode, error: { code, message: f.message ?? "bad request" } };
  }
  return { status: 500, error: { code: "INTERNAL_ERROR", message: "internal error" } };
}

export async function apiErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { status, error } = toErrorAnswer(err);
  if (status >= 500) request.log.error({ err }, "back-office API request failed");
  return reply.code(status).send({ error });
}
