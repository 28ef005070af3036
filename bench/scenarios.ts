/**
 * The sessions the load generator replays, per kind, on both channels. They follow the product's
 * public menu (DESIGN.md: 1 apply, 2 status, 3 payments, 4 visit) and the seeded population
 * (bench/seed.ts): every citizen already has a language, a mahalla, a PINFL and a social card.
 */
import type { SessionKind } from "./population.js";

export type Prefix = "CON" | "END";

export interface UssdScript {
  /** What the citizen keys in at each step; the first is the dial itself (""). */
  inputs: string[];
  /** How each answer must start; a different one is counted as "unexpected". */
  expect: Prefix[];
  /** One line per step for BENCHMARKS.md. */
  describe: string;
}

export const USSD_SCRIPTS: Record<SessionKind, UssdScript> = {
  payments: {
    inputs: ["", "3"],
    expect: ["CON", "END"],
    describe:
      "dial → main menu; `3` → card and its 3 latest payments (END). Pages with `98` if the answer does not fit.",
  },
  status: {
    inputs: ["", "2", "1", "0", "2"],
    expect: ["CON", "CON", "CON", "CON", "CON"],
    describe:
      "dial → menu; `2` → list of 2 applications; `1` → details and history; `0` → back to the list; `2` → the second one (the caller hangs up).",
  },
  visit: {
    inputs: ["", "4", "1", "1", "Navoiy ko'chasi 12", "1"],
    expect: ["CON", "CON", "CON", "CON", "CON", "END"],
    describe:
      "dial → menu; `4` → visit reasons (mahalla already known); `1` → free slots; `1` → address prompt; `Navoiy ko'chasi 12` → summary; `1` → booked (END, SMS to citizen and worker queued).",
  },
  apply: {
    inputs: ["", "1", "1", "4", "2", "1500000", "1"],
    expect: ["CON", "CON", "CON", "CON", "CON", "CON", "END"],
    describe:
      "dial → menu; `1` → benefit list; `1` → child allowance, household size?; `4` → children?; `2` → income?; `1500000` → summary; `1` → submitted (END, SMS queued). Each citizen applies once.",
  },
};

/** The gateway's `text` at step `step`: every input after the dial, joined by "*". */
export const ussdText = (inputs: readonly string[], step: number) => inputs.slice(1, step + 1).join("*");

/** A CON answer that offers the next page ("98. …") of an answer that did not fit one screen. */
export const hasNextPage = (answer: string) => /\n98\. /.test(answer);

export type TelegramAction =
  | { type: "text"; text: string }
  /** The n-th option button (0-based) of the screen on display. */
  | { type: "press"; option: number }
  | { type: "back" }
  | { type: "home" };

export interface TelegramScript {
  actions: TelegramAction[];
  describe: string;
}

const start: TelegramAction = { type: "text", text: "/start" };
const press = (option: number): TelegramAction => ({ type: "press", option });
const type = (text: string): TelegramAction => ({ type: "text", text });

export const TELEGRAM_SCRIPTS: Record<SessionKind, TelegramScript> = {
  payments: { actions: [start, press(2)], describe: "`/start` → menu; press *payments* → card and payments." },
  status: {
    actions: [start, press(1), press(0), { type: "back" }, press(1)],
    describe: "`/start`; *status*; first application; *Back*; second application.",
  },
  visit: {
    actions: [start, press(3), press(0), press(0), type("Navoiy ko'chasi 12"), press(0)],
    describe: "`/start`; *visit*; first reason; first slot; address typed; *Confirm*.",
  },
  apply: {
    actions: [start, press(0), press(0), type("4"), type("2"), type("1500000"), press(0)],
    describe: "`/start`; *apply*; child allowance; `4`; `2`; `1500000` typed; *Submit*.",
  },
};

export interface TelegramUserRef {
  id: number;
  firstName: string;
  languageCode: string;
}

/** A private-chat message as Telegram delivers it to a webhook. */
export function textUpdate(updateId: number, messageId: number, user: TelegramUserRef, text: string) {
  const command = /^\/\w+/.exec(text);
  return {
    update_id: updateId,
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: user.id, type: "private", first_name: user.firstName },
      from: { id: user.id, is_bot: false, first_name: user.firstName, language_code: user.languageCode },
      text,
      ...(command ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] } : {}),
    },
  };
}

/** A button press on one of the bot's messages, as Telegram delivers it. */
export function callbackUpdate(
  updateId: number,
  user: TelegramUserRef,
  data: string,
  message: { messageId: number; botId: number },
) {
  return {
    update_id: updateId,
    callback_query: {
      id: `${user.id}${updateId}`,
      from: { id: user.id, is_bot: false, first_name: user.firstName, language_code: user.languageCode },
      chat_instance: `ci${user.id}`,
      data,
      message: {
        message_id: message.messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: "private", first_name: user.firstName },
        from: { id: message.botId, is_bot: true, first_name: "Mahalla Connect" },
        text: "",
      },
    },
  };
}

/** Callback data of the button an action presses on a keyboard (rows of callback data). */
export function buttonFor(action: TelegramAction, rows: readonly (readonly string[])[]): string | null {
  if (action.type === "press") return rows[action.option]?.[0] ?? null;
  const nav = rows.at(-1) ?? [];
  if (action.type === "back") return nav.length > 1 ? (nav[0] ?? null) : null;
  if (action.type === "home") return nav.at(-1) ?? null;
  return null;
}
