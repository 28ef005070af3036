import formbody from "@fastify/formbody";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { PrismaClient } from "../../core/db/database.js";
import { applyDeliveryReport } from "../../core/notifications/reports.js";
import { secretsEqual } from "./auth.js";

export interface SmsDeliveryOptions {
  prisma: PrismaClient;
  /** When set, the callback must carry `?token=` with this value (as the other gateway callbacks). */
  callbackToken: string | undefined;
  clock: () => Date;
}

const field = (max: number) => Type.String({ maxLength: max });
const count = Type.Union([Type.Integer({ minimum: 0 }), field(10)]);

/**
 * `POST /sms/delivery`: Africa's Talking's delivery report. Updates the notification by provider
 * message id (Success → delivered; Failed, Rejected, … → failed with the reason). Never a 5xx: a
 * report that cannot be stored is logged and acknowledged, since the gateway's retries would not help.
 */
export const smsDeliveryRoutes: FastifyPluginAsyncTypebox<SmsDeliveryOptions> = async (app, options) => {
  if (!app.hasContentTypeParser("application/x-www-form-urlencoded")) await app.register(formbody);

  app.post(
    "/sms/delivery",
    {
      schema: {
        tags: ["callbacks"],
        summary: "Africa's Talking SMS delivery report",
        security: [],
        consumes: ["application/x-www-form-urlencoded"],
        querystring: Type.Object({ token: Type.Optional(field(256)) }),
        body: Type.Object({
          id: Type.String({ minLength: 1, maxLength: 200, description: "Provider message id" }),
          status: Type.String({ minLength: 1, maxLength: 40, examples: ["Success", "Failed", "Rejected"] }),
          phoneNumber: Type.Optional(field(32)),
          networkCode: Type.Optional(field(20)),
          failureReason: Type.Optional(field(200)),
          retryCount: Type.Optional(count),
        }),
        response: {
          200: Type.Object({ result: Type.String({ description: "delivered | failed | ignored | unknown | error" }) }),
          400: Type.Object({ result: Type.Literal("invalid"), message: Type.String() }),
          403: Type.Object({ result: Type.Literal("forbidden") }),
        },
      },
      errorHandler: (error, request, reply) => {
        const status = (error as { statusCode?: number }).statusCode ?? 500;
        if (status < 500) return reply.code(400).send({ result: "invalid" as const, message: error.message });
        request.log.error({ err: error }, "sms delivery report failed");
        return reply.code(200).send({ result: "error" });
      },
    },
    async (request, reply) => {
      if (options.callbackToken) {
        const given = request.query.token;
        if (typeof given !== "string" || !secretsEqual(given, options.callbackToken)) {
          return reply.code(403).send({ result: "forbidden" as const });
        }
      }
      try {
        const result = await applyDeliveryReport(options.prisma, request.body, options.clock());
        if (result === "unknown")
          request.log.warn({ providerMessageId: request.body.id }, "delivery report for an unknown message");
        return { result };
      } catch (err) {
        request.log.error({ err }, "sms delivery report not stored");
        return { result: "error" };
      }
    },
  );
};
