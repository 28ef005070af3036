import { type Logger, silentLogger } from "../logger.js";
import type { InlineButton } from "./buttons.js";
/**
 * The channels a notification leaves through. Delivery takes senders by injection: SMS always
 * (Africa's Talking, or a logging stand-in without credentials), Telegram when a bot runs.
 */

/** What the provider said when it took the message. */
export interface SmsAccepted {
  /**
   * The provider's id for the message, or null when nothing was sent (logging sender). A row with a
   * provider id is never sent again: the provider has it.
   */
  providerMessageId: string | null;
  /** `sent`: handed to the provider; `logged`: recorded only (no SMS credentials configured). */
  status: "sent" | "logged";
}

export interface SmsSender {
  /**
   * `to` is E.164; `text` is final (transliterated, fitted to its segments). `signal` aborts the
   * call when its time is up: a sender must stop then, so that a send never outlives its claim.
   */
  send(message: { to: string; text: string; outboxId?: number; signal?: AbortSignal }): Promise<SmsAccepted>;
}

/**
 * Implemented by the Telegram front end (bot/). Throw `RecipientUnreachableError` when the chat
 * cannot be reached any more (bot blocked, chat deleted): delivery then falls back to SMS at
 * once. Throw `PermanentSendError` for a message Telegram will never take; anything else is
 * retried with backoff.
 */
export interface TelegramSender {
  /** `signal` as for SmsSender: the call must stop, unsent, once it aborts. */
  sendMessage(
    chatId: bigint,
    text: string,
    signal?: AbortSignal,
    /** Inline buttons under the text (a question answered with a tap); none for most messages. */
    buttons?: InlineButton[][],
  ): Promise<{ messageId: string | number }>;
  /**
   * Optional: a new visit request shown to the social worker as the bot's visit card (with its
   * action buttons) instead of plain text. Used for `notify.visit_requested_staff` rows.
   */
  sendStaffVisitCard?(
    input: { staffId: number; reference: string },
    signal?: AbortSignal,
  ): Promise<{ messageId: string | number }>;
  /**
   * Optional: requests escalated to a district admin, as one message with buttons per request
   * (reassign, take) instead of plain text. Used for `notify.visit_escalated_admin` rows.
   */
  sendEscalation?(
    input: { staffId: number; references: string[] },
    signal?: AbortSignal,
  ): Promise<{ messageId: string | number }>;
}

/**
 * Why a provider did not take a message. `retryable` alone decides what the relay and the queue do
 * with the row: try again later with backoff, or give up on it (dead letter).
 */
export abstract class SendError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
}

/** A failure that will not go away by retrying (invalid number, blacklisted): the row goes dead. */
export class PermanentSendError extends SendError {
  override name = "PermanentSendError";
  readonly retryable = false;
  constructor(
    readonly code: string,
    message: string = code,
  ) {
    super(message);
  }
}

/** A failure worth retrying later (network, provider outage, rate limit, insufficient balance). */
export class TransientSendError extends SendError {
  override name = "TransientSendError";
  readonly retryable = true;
  constructor(
    readonly code: string,
    message: string = code,
  ) {
    super(message);
  }
}

/**
 * This channel cannot reach the recipient (Telegram: bot blocked); another channel may, so delivery
 * falls back to SMS where it can. Retrying the same channel would not help.
 */
export class RecipientUnreachableError extends SendError {
  override name = "RecipientUnreachableError";
  readonly code = "RECIPIENT_UNREACHABLE";
  readonly retryable = false;
}

/** The short, stable text stored in Outbox.lastError for a failure. */
export function describeSendError(err: unknown): string {
  if (err instanceof PermanentSendError || err instanceof TransientSendError) {
    return err.message === err.code ? err.code : `${err.code}: ${err.message}`;
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return message.slice(0, 500);
}

/** The minimal logger delivery needs (pino's Logger fits). */
export type LogSink = Pick<Logger, "info" | "warn" | "error">;

export const silentLog: LogSink = silentLogger;
