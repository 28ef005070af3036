import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AppError, type ErrorKind } from "../../core/domain/errors.js";
import { isUniqueViolation } from "../../core/services/references.js";

/** The one place an error's kind becomes an HTTP status (the back-office API and the open data). */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  unavailable: 503,
};

export const httpStatusOf = (err: AppError): number => HTTP_STATUS[err.kind];

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
  if (err instanceof AppError) {
    return { status: httpStatusOf(err), error: { code: err.code, message: err.message, ...err.details() } };
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

/**
 * For the open data, whose answers keep Fastify's own error shape (`statusCode`, `code`, `error`,
 * `message`): catalogue errors get their status from the same table; anything else goes on to
 * Fastify's handler.
 */
export async function openErrorHandler(err: unknown, _request: FastifyRequest, reply: FastifyReply) {
  if (!(err instanceof AppError)) throw err;
  const statusCode = httpStatusOf(err);
  return reply
    .code(statusCode)
    .send({ statusCode, code: err.code, error: STATUS_CODES[statusCode], message: err.message });
}
