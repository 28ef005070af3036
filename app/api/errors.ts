import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../../core/domain/errors.js";
import { isUniqueViolation } from "../../core/services/references.js";

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
    return { status: err.statusCode, error: { code: err.code, message: err.message, ...err.details() } };
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
