import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { InvalidInputError } from "../../core/domain/errors.js";
import { normalizeUzPhone } from "../../core/domain/phone.js";
import { OUTBOX_STATUSES } from "../../core/notifications/delivery.js";
import type { ApiContext } from "./context.js";
import { listRoute } from "./lists.js";
import {
  errorResponses,
  NullableInteger,
  NullableString,
  NullableTimestamp,
  Phone,
  Timestamp,
  wire,
} from "./schemas.js";

const Status = Type.Enum(OUTBOX_STATUSES, {
  description:
    "pending, sending, sent (provider accepted), logged (no SMS credentials: not sent), delivered, failed (retry due; or, with a providerMessageId, the provider reported delivery failed), dead (given up)",
});

const Notification = Type.Object({
  id: Type.Integer(),
  channel: Type.String({ description: "telegram | sms (the channel actually used, once sent)" }),
  status: Status,
  recipientPhone: NullableString,
  citizenId: NullableInteger,
  staffId: NullableInteger,
  locale: Type.String(),
  templateKey: Type.String(),
  text: Type.String({ description: "The message in the recipient's language" }),
  attempts: Type.Integer(),
  lastError: NullableString,
  providerMessageId: NullableString,
  nextAttemptAt: NullableTimestamp,
  createdAt: Timestamp,
  sentAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
});

/** What was sent to whom, and how far it got. */
export const notificationRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  listRoute(
    app,
    "/notifications",
    {
      tags: ["notifications"],
      summary: "Notifications to a phone number (or of a status), newest first, with delivery status",
      filters: { phone: Type.Optional(Phone), status: Type.Optional(Status) },
      item: Notification,
    },
    async (q) => {
      let phone: string | undefined;
      if (q.phone !== undefined) {
        phone = normalizeUzPhone(q.phone) ?? undefined;
        if (!phone) throw new InvalidInputError("INVALID_PHONE", "not an Uzbek phone number", "phone");
      }
      return wire(await ctx.backoffice.notifications.list({ ...q, phone }));
    },
  );

  listRoute(
    app,
    "/notifications/dead",
    {
      tags: ["notifications"],
      summary: "The dead letters: notifications given up after permanent errors or too many attempts",
      filters: {},
      item: Notification,
    },
    async (q) => wire(await ctx.backoffice.notifications.list({ status: "dead", ...q })),
  );

  app.post(
    "/notifications/:id/retry",
    {
      schema: {
        tags: ["notifications"],
        summary: "Send a dead notification again (a fresh series of attempts)",
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: {
          202: Type.Object({ id: Type.Integer(), status: Type.Literal("pending") }),
          ...errorResponses(404, 409),
        },
      },
    },
    async (request, reply) => {
      await ctx.backoffice.notifications.retry(request.params.id, request.apiActor, ctx.clock());
      return reply.code(202).send({ id: request.params.id, status: "pending" as const });
    },
  );
};
