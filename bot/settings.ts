import type { RetrySettings } from "./retry.js";

/**
 * What the bot needs to know to run, declared here rather than taken from app/: app's
 * `config.telegram` (when enabled) has exactly these fields and fits as it is.
 */
export interface TelegramSettings {
  enabled: true;
  token: string;
  apiRoot: string;
  /** TELEGRAM_WEBHOOK_SECRET; unset: long polling. */
  webhookSecret: string | undefined;
  sessionIdleSeconds: number;
  /** Longest one Bot API call may take before it is aborted. */
  timeoutSeconds: number;
}

/** Outgoing rate: Telegram allows about 30 messages a second overall and one a second per chat. */
export interface ThrottleSettings {
  globalPerSecond: number;
  perChatIntervalMs: number;
}

export const TELEGRAM_LIMITS: ThrottleSettings = { globalPerSecond: 30, perChatIntervalMs: 1000 };

export const DEFAULT_TIMEOUT_SECONDS = 10;
/** Three calls and waits of up to 5 s: a send ends within about 45 s, far inside the outbox lease. */
export const DEFAULT_RETRY: RetrySettings = { maxAttempts: 3, maxDelaySeconds: 5 };

/** The connection part of the settings: enough to make Bot API calls. */
export type ClientSettings = Pick<TelegramSettings, "token" | "apiRoot"> &
  Partial<Omit<TelegramSettings, "token" | "apiRoot">>;
