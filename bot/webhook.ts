import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { Update } from "grammy/types";
import type { TelegramBot } from "./bot.js";

export interface TelegramWebhookOptions {
  telegram: TelegramBot;
  /** TELEGRAM_WEBHOOK_SECRET: Telegram sends it in X-Telegram-Bot-Api-Secret-Token. */
  secret: string;
  /**
   * Telegram waits for our answer before it sends this chat's next update and redelivers after a
   * timeout; past this the answer goes out and processing finishes in the background.
   */
  answerWithinMs?: number;
}

const SECRET_HEADER = "x-telegram-bot-api-secret-token";
const digest = (value: string) => createHash("sha256").update(value).digest();

/** `POST /telegram/webhook`: authenticated by the secret token, anything else is 401 and ignored. */
export const telegramWebhook: FastifyPluginAsync<TelegramWebhookOptions> = async (app, options) => {
  const expected = digest(options.secret);
  const answerWithinMs = options.answerWithinMs ?? 25_000;
  // Not awaited: an unreachable Bot API (retried with back-off) must not keep USSD and the API
  // from starting. Updates wait for it themselves.
  void options.telegram.init().catch((err: unknown) => {
    app.log.warn({ err }, "telegram: start-up call to the Bot API failed; retrying on the first update");
  });

  app.post(
    "/telegram/webhook",
    {
      // Checked before the body is even parsed.
      onRequest: async (request, reply) => {
        const given = request.headers[SECRET_HEADER];
        if (typeof given !== "string" || !timingSafeEqual(digest(given), expected)) {
          return reply.code(401).send({ error: "unauthorized" });
        }
      },
      schema: {
        body: {
          type: "object",
          required: ["update_id"],
          properties: { update_id: { type: "integer", minimum: 0 } },
        },
      },
    },
    async (request, reply) => {
      const update = request.body as Update;
      const processing = options.telegram.handleUpdate(update).catch((err: unknown) => {
        request.log.error({ err, updateId: update.update_id }, "telegram update failed");
      });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), answerWithinMs);
      });
      const outcome = await Promise.race([processing.then(() => "done" as const), late]);
      clearTimeout(timer);
      if (outcome === "late") request.log.warn({ updateId: update.update_id }, "telegram update still processing");
      return reply.code(200).send({});
    },
  );
};
