import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { Update } from "grammy/types";
import type { TelegramBot } from "./bot.js";

export interface TelegramWebhookOptions {
  telegram: TelegramBot;
  /** TELEGRAM_WEBHOOK_SECRET: Telegram sends it in X-Telegram-Bot-Api-Secret-Token. */
  secret: string;
  /**
   * How long the answer to a button press waits for the handler's answerCallbackQuery, so the
   * HTTP answer carries it and the screen costs one Bot API call (the update is already recorded:
   * the wait only decides whether the spinner's answer is one call less).
   */
  callbackAnswerWithinMs?: number;
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
 * `POST /telegram/webhook`, durable: the update is recorded (TelegramUpdate, with its payload and
 * this process's lease) and Telegram answered at once; the bot handles it afterwards, in its
 * chat's order (bot/update-queue.ts). A process that dies after the answer loses nothing: the
 * update's lease runs out and the next process, or another instance, claims and handles it, once.
 *  - the secret is checked before the body is even parsed (401, nothing recorded);
 *  - the schema above refuses a malformed update with a 400 before it is recorded;
 *  - a redelivered update_id (a slow or lost answer, to any instance) records nothing and is
 *    answered 200 at once;
 *  - a button press's answer carries the handler's answerCallbackQuery when it comes within
 *    `callbackAnswerWithinMs` (Telegram makes the call): the screen's edit is then its one call;
 *  - the database failing to record: the update is handled here and now, as before recording
 *    existed, and the bot apologises in the person's language (test/faults-database.test.ts).
 */
export const telegramWebhook: FastifyPluginAsync<TelegramWebhookOptions> = async (app, options) => {
  const expected = digest(options.secret);
  const callbackAnswerWithinMs = options.callbackAnswerWithinMs ?? 500;
  const { telegram } = options;
  // Not awaited: an unreachable Bot API (retried with back-off) must not keep USSD and the API
  // from starting. Updates wait for it themselves.
  void telegram.init().catch((err: unknown) => {
    app.log.warn({ err }, "telegram: start-up call to the Bot API failed; retrying on the first update");
  });
  telegram.updates.start();
  // Updates being handled finish before the database closes; any left go to their lease.
  app.addHook("onClose", () => telegram.updates.stop());

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
      const update = request.body as Update;
      let taken: { taken: boolean; behind: boolean };
      try {
        taken = await telegram.updates.take(update);
      } catch (err) {
        request.log.error({ err, updateId: update.update_id }, "telegram: update not recorded");
        if (telegram.bot.isInited()) await telegram.bot.handleUpdate(update).catch(() => {});
        return reply.code(200).send("");
      }
      const query = update.callback_query;
      if (taken.taken && query) {
        const settled = telegram.updates.settled(update.update_id);
        const answer = await telegram.io.awaitAnswer(query.id, settled, callbackAnswerWithinMs);
        if (answer) return reply.code(200).header("content-type", "application/json").send(JSON.stringify(answer));
      }
      return reply.code(200).send("");
    },
  );
};
