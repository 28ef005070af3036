import { type Api, GrammyError, HttpError, type Transformer } from "grammy";
import { telegramRateLimited } from "../core/metrics.js";
import type { InlineButton } from "../core/notifications/buttons.js";
import {
  PermanentSendError,
  RecipientUnreachableError,
  type TelegramSender,
  TransientSendError,
} from "../core/notifications/senders.js";
import { MAX_TEXT_LENGTH } from "./render.js";
import type { GrammySignal } from "./retry.js";

export type { TelegramSender } from "../core/notifications/senders.js";

/** What the outbox relay gets from the bot: plain notifications and the staff visit card. */
export interface BotSender extends TelegramSender {
  sendMessage(
    chatId: bigint,
    text: string,
    signal?: AbortSignal,
    buttons?: InlineButton[][],
  ): Promise<{ messageId: string }>;
  /**
   * For Outbox rows with templateKey `notify.visit_requested_staff` (staffId set, params.reference
   * the visit): the visit card with its action buttons instead of the plain text.
   */
  sendStaffVisitCard(
    input: { staffId: number; reference: string },
    signal?: AbortSignal,
  ): Promise<{ messageId: string }>;
  /** For `notify.visit_escalated_admin` rows: the admin's message with a button pair per request. */
  sendEscalation(
    input: { staffId: number; references: string[] },
    signal?: AbortSignal,
  ): Promise<{ messageId: string }>;
}

/** Telegram's answers that mean this chat cannot be reached any more (another channel may). */
const UNREACHABLE = /bot was blocked|user is deactivated|chat not found|bot was kicked|not enough rights/i;

/**
 * A failed Bot API call in the relay's terms. Short rate limits and server errors were already
 * retried briefly (retry.ts), so what is left is either the recipient (blocked the bot: fall back
 * to SMS), a message Telegram will never take, or an outage, a timeout or a long retry_after:
 * retried later by the outbox with its own backoff.
 */
export function toSendError(err: unknown): Error {
  if (err instanceof GrammyError) {
    if (err.error_code === 403 || UNREACHABLE.test(err.description)) {
      return new RecipientUnreachableError(err.description);
    }
    if (err.error_code === 400) return new PermanentSendError("TELEGRAM_REJECTED", err.description);
    return new TransientSendError("TELEGRAM_ERROR", `${err.error_code}: ${err.description}`);
  }
  if (err instanceof HttpError) {
    // grammY wraps the cause (refused, reset, "timed out after N seconds"); operators need it.
    const cause = err.error instanceof Error ? ` (${err.error.message})` : "";
    return new TransientSendError("TELEGRAM_UNREACHABLE", `${err.message}${cause}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Plain-text notifications over the bot's own Api, so they share its throttle and retries. The
 * signal reaches the HTTP call even while it waits in the throttle's queue, so a send whose time
 * is up never leaves afterwards.
 */
export function createTelegramSender(
  api: Api,
  sendCard: (input: { staffId: number; reference: string }, signal?: AbortSignal) => Promise<{ messageId: string }>,
  sendEscalation: (
    input: { staffId: number; references: string[] },
    signal?: AbortSignal,
  ) => Promise<{ messageId: string }> = () => Promise.reject(new PermanentSendError("NO_ESCALATION_CARD")),
): BotSender {
  return {
    async sendMessage(chatId, text, signal, buttons) {
      const body = text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH - 1)}…` : text;
      const markup = buttons?.length
        ? {
            reply_markup: {
              inline_keyboard: buttons.map((row) => row.map((b) => ({ text: b.text, callback_data: b.data }))),
            },
          }
        : {};
      try {
        const message = await api.sendMessage(Number(chatId), body, markup, signal as GrammySignal);
        return { messageId: String(message.message_id) };
      } catch (err) {
        throw toSendError(err);
      }
    },
    async sendStaffVisitCard(input, signal) {
      try {
        return await sendCard(input, signal);
      } catch (err) {
        throw toSendError(err);
      }
    },
    async sendEscalation(input, signal) {
      try {
        return await sendEscalation(input, signal);
      } catch (err) {
        throw toSendError(err);
      }
    },
  };
}

/**
 * Counts every Bot API answer 429 (Too Many Requests), by method. Installed inside auto-retry, so
 * each refused attempt counts, not only calls that finally failed: the figure shows Telegram
 * pushing back even when retries hide it from the relay.
 */
export const countRateLimits: Transformer = async (prev, method, payload, signal) => {
  const response = await prev(method, payload, signal);
  if (!response.ok && response.error_code === 429) telegramRateLimited.inc({ method });
  return response;
};
