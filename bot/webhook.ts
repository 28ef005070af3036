import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import { webhookCallback } from "grammy";
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

/**
 * The fields of an update the bot reads, with the types Telegram gives them: anything else is
 * refused here (400) rather than failing half-way through a step. Unknown fields and update kinds
 * pass; the bot ignores them.
 */
const id = { type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };
const user = {
  type: "object",
  required: ["id", "is_bot"],
  properties: { id, is_bot: { type: "boolean" }, language_code: { type: "string" } },
};
const chat = { type: "object", required: ["id", "type"], properties: { id, type: { type: "string" } } };
const message = {
  type: "object",
  required: ["message_id", "chat"],
  properties: {
    message_id: id,
    chat,
    from: user,
    text: { type: "string" },
    entities: {
      type: "array",
      items: {
        type: "object",
        required: ["type", "offset", "length"],
        properties: { type: { type: "string" }, offset: { type: "integer" }, length: { type: "integer" } },
      },
    },
    contact: {
      type: "object",
      required: ["phone_number"],
      properties: { phone_number: { type: "string" }, user_id: id },
    },
    location: {
      type: "object",
      required: ["latitude", "longitude"],
      properties: { latitude: { type: "number" }, longitude: { type: "number" } },
    },
  },
};
/** Other kinds: grammY still reads their chat and sender. */
const carrier = { type: "object", properties: { chat, from: user, user } };
const MESSAGE_KINDS = ["message", "edited_message", "channel_post", "edited_channel_post", "business_message"];
const OTHER_KINDS = [
  "edited_business_message",
  "message_reaction",
  "my_chat_member",
  "chat_member",
  "chat_join_request",
  "inline_query",
  "chosen_inline_result",
  "shipping_query",
  "pre_checkout_query",
  "poll_answer",
  "purchased_paid_media",
];
const UpdateBody = {
  type: "object",
  required: ["update_id"],
  properties: {
    update_id: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    ...Object.fromEntries(MESSAGE_KINDS.map((kind) => [kind, message])),
    ...Object.fromEntries(OTHER_KINDS.map((kind) => [kind, carrier])),
    callback_query: {
      type: "object",
      required: ["id", "from"],
      properties: {
        id: { type: "string" },
        from: user,
        data: { type: "string" },
        message: { type: "object", required: ["message_id", "chat"], properties: { message_id: id, chat } },
      },
    },
  },
};
const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * `POST /telegram/webhook`: grammY's webhookCallback on a thin Fastify route. The route adds what
 * the callback cannot give:
 *  - the secret is checked before the body is even parsed (401, nothing processed); the callback
 *    checks it again, after Fastify has read the body;
 *  - the schema above refuses a malformed update with a 400 before any middleware sees it;
 *  - grammY's callback awaits `bot.init()` before its own time limit starts, and getMe is retried
 *    for ever on a network error (grammY's withRetries), so with the Bot API unreachable a webhook
 *    call would never be answered and a failed getMe would answer 500. Until the bot knows who it
 *    is, the route waits for that at most `answerWithinMs`, then answers 200 and handles the update
 *    once the Bot API answers (test/bot-citizen.test.ts, "answers the webhook in time while the Bot
 *    API cannot be reached").
 * Past `answerWithinMs` the callback answers 200 and the update finishes in the background:
 * Telegram waits for our answer before it sends this chat's next update, and redelivers after a
 * timeout (the ledger would drop that copy).
 */
export const telegramWebhook: FastifyPluginAsync<TelegramWebhookOptions> = async (app, options) => {
  const expected = digest(options.secret);
  const answerWithinMs = options.answerWithinMs ?? 25_000;
  const { telegram } = options;
  // Not awaited: an unreachable Bot API (retried with back-off) must not keep USSD and the API
  // from starting. Updates wait for it themselves.
  void telegram.init().catch((err: unknown) => {
    app.log.warn({ err }, "telegram: start-up call to the Bot API failed; retrying on the first update");
  });
  const handle = webhookCallback(telegram.bot, "fastify", {
    secretToken: options.secret,
    timeoutMilliseconds: answerWithinMs,
    onTimeout: (request) =>
      request.log.warn({ updateId: (request.body as Update).update_id }, "telegram update still processing"),
  });

  app.post(
    "/telegram/webhook",
    {
      onRequest: async (request, reply) => {
        const given = request.headers[SECRET_HEADER];
        if (typeof given !== "string" || !timingSafeEqual(digest(given), expected)) {
          return reply.code(401).send({ error: "unauthorized" });
        }
      },
      schema: { body: UpdateBody },
    },
    async (request, reply) => {
      if (!telegram.bot.isInited() && !(await readyWithin(telegram, answerWithinMs))) {
        const update = request.body as Update;
        void telegram
          .init()
          .then(() => telegram.bot.handleUpdate(update))
          .catch((err: unknown) => request.log.error({ err, updateId: update.update_id }, "telegram update failed"));
        return reply.code(200).send("");
      }
      return handle(request, reply);
    },
  );
};

/** Whether the bot's start-up calls finished within `ms` (false also when they failed). */
async function readyWithin(telegram: TelegramBot, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const ready = telegram.init().then(
    () => true,
    () => false,
  );
  const outcome = await Promise.race([ready, late]);
  clearTimeout(timer);
  return outcome;
}
