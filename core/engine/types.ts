import type { Locale, Text } from "../domain/vocabulary.js";

export interface Option {
  /** Stable across languages and sessions: buttons and USSD numbers map back to it. */
  key: string;
  label: Text;
}

/**
 * What the screen waits for. Validation itself happens in the flow; `format` lets a channel
 * adapt (numeric keypad hint, contact button, location button).
 */
export type InputSpec =
  | { kind: "none" }
  | { kind: "choice" }
  | { kind: "choice-or-text"; format: "filter" | "reference" }
  | { kind: "text"; format: TextFormat; maxLength: number }
  | { kind: "contact" };

export type TextFormat = "digits" | "pinfl" | "date" | "free" | "reference" | "address";

export interface Screen {
  /** Paragraphs, top to bottom; the error (if any) is shown first by renderers. */
  body: Text[];
  options: Option[];
  input: InputSpec;
  /** Offer the uniform Back / Main menu navigation. */
  nav: { back: boolean; home: boolean };
  /** The conversation is over (USSD answers END). */
  end: boolean;
  /** The reason the last input was refused, when the screen is shown again. */
  error?: Text;
  /** A shared-location answer is welcome here (Telegram shows a location button). */
  acceptsLocation?: boolean;
}

export type ConversationEvent =
  /**
   * `lost`: the channel saw the caller in the middle of a session the store no longer has (Redis
   * restarted, or the session expired): the menu opens with a line saying so.
   */
  | { type: "start"; shortcut?: string; lost?: true }
  | { type: "choose"; key: string }
  | { type: "text"; value: string }
  | { type: "contact"; phone: string }
  | { type: "location"; latitude: number; longitude: number }
  | { type: "back" }
  | { type: "home" };

/** Who is talking, as far as the channel knows. */
export interface Identity {
  /** E.164 phone number, when the channel supplies it (USSD always, Telegram after sharing). */
  phone?: string;
  telegramUserId?: bigint;
  telegramChatId?: bigint;
  /** Language the channel suggests for a new person (Telegram's language_code). */
  localeHint?: Locale;
}
