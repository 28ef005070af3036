import type { InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup } from "grammy/types";
import type { Locale } from "../core/domain/vocabulary.js";
import type { ConversationEvent, Screen } from "../core/engine/types.js";
import type { Translator } from "../core/i18n/index.js";

/** Options shown per message; longer lists page with ◀ ▶. */
export const PAGE_SIZE = 8;
/** Telegram's limits: message text and callback data. */
export const MAX_TEXT_LENGTH = 4096;
export const MAX_CALLBACK_BYTES = 64;

/**
 * What a citizen-screen button carries. `turn` identifies the screen it was drawn for: a button
 * from any other turn is stale. Options travel as their index on that screen, never their key,
 * so the data stays a few bytes whatever the flow's keys are.
 */
export type ScreenToken =
  | { kind: "option"; turn: number; index: number }
  | { kind: "nav"; turn: number; to: "back" | "home" }
  | { kind: "page"; turn: number; page: number };

export function encodeToken(token: ScreenToken): string {
  switch (token.kind) {
    case "option":
      return `o:${token.turn}:${token.index}`;
    case "nav":
      return `n:${token.turn}:${token.to}`;
    case "page":
      return `p:${token.turn}:${token.page}`;
  }
}

const TOKEN = /^([onp]):(\d{1,12}):(\d{1,4}|back|home)$/;

export function decodeToken(data: string): ScreenToken | null {
  const m = TOKEN.exec(data);
  if (!m) return null;
  const turn = Number(m[2]);
  const arg = m[3] as string;
  if (m[1] === "n") return arg === "back" || arg === "home" ? { kind: "nav", turn, to: arg } : null;
  if (!/^\d+$/.test(arg)) return null;
  return m[1] === "o" ? { kind: "option", turn, index: Number(arg) } : { kind: "page", turn, page: Number(arg) };
}

export type Markup =
  | { kind: "inline"; keyboard: InlineKeyboardMarkup }
  | { kind: "reply"; keyboard: ReplyKeyboardMarkup }
  | { kind: "none" };

export interface RenderedScreen {
  text: string;
  markup: Markup;
  /** The page actually shown (clamped to the list). */
  page: number;
}

/** Which kind of keyboard a screen needs: contact and location can only be asked with a reply keyboard. */
export const keyboardKind = (screen: Screen): Markup["kind"] =>
  screen.input.kind === "contact" || screen.acceptsLocation
    ? "reply"
    : screen.options.length > 0 || screen.end || screen.nav.back || screen.nav.home
      ? "inline"
      : "none";

/** Button captions; the words come from the locale files, the symbols are the same everywhere. */
export function labels(translator: Translator, locale: Locale) {
  return {
    back: `⬅️ ${translator.t(locale, "nav.back")}`,
    home: `🏠 ${translator.t(locale, "nav.home")}`,
    previous: `◀️ ${translator.t(locale, "nav.previous")}`,
    next: `${translator.t(locale, "nav.more")} ▶️`,
    contact: translator.t(locale, "bot.share_contact_button"),
    location: translator.t(locale, "bot.share_location_button"),
  };
}

export function screenText(screen: Screen, locale: Locale, translator: Translator): string {
  const parts = [
    ...(screen.error ? [`⚠️ ${translator.text(locale, screen.error)}`] : []),
    ...screen.body.map((t) => translator.text(locale, t)),
  ];
  const text = parts.join("\n\n");
  return text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH - 1)}…` : text;
}

/**
 * A core Screen as one Telegram message: options become buttons (a page at a time), navigation
 * adds Back / Main menu, an end screen offers the main menu. Contact and location requests need a
 * reply keyboard, whose buttons answer as text; `replyButtonEvent` maps them back.
 */
export function renderScreen(
  screen: Screen,
  locale: Locale,
  translator: Translator,
  view: { turn: number; page: number },
): RenderedScreen {
  const text = screenText(screen, locale, translator);
  const l = labels(translator, locale);
  const kind = keyboardKind(screen);
  const pages = Math.max(1, Math.ceil(screen.options.length / PAGE_SIZE));
  const page = Math.min(Math.max(0, view.page), pages - 1);

  if (kind === "reply") {
    const rows: KeyboardButton[][] = [];
    if (screen.input.kind === "contact") rows.push([{ text: l.contact, request_contact: true }]);
    if (screen.acceptsLocation) rows.push([{ text: l.location, request_location: true }]);
    for (const option of screen.options) rows.push([{ text: translator.text(locale, option.label) }]);
    const nav = [...(screen.nav.back ? [{ text: l.back }] : []), ...(screen.nav.home ? [{ text: l.home }] : [])];
    if (nav.length) rows.push(nav);
    return {
      text,
      page,
      markup: { kind, keyboard: { keyboard: rows, resize_keyboard: true, one_time_keyboard: true } },
    };
  }
  if (kind === "none") return { text, page, markup: { kind } };

  const turn = view.turn;
  const rows: InlineKeyboardButton[][] = screen.options
    .map((option, index) => ({ option, index }))
    .slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE)
    .map(({ option, index }) => [
      { text: translator.text(locale, option.label), callback_data: encodeToken({ kind: "option", turn, index }) },
    ]);
  if (pages > 1) {
    const paging: InlineKeyboardButton[] = [];
    if (page > 0) paging.push({ text: l.previous, callback_data: encodeToken({ kind: "page", turn, page: page - 1 }) });
    if (page < pages - 1)
      paging.push({ text: l.next, callback_data: encodeToken({ kind: "page", turn, page: page + 1 }) });
    rows.push(paging);
  }
  const nav: InlineKeyboardButton[] = [];
  if (screen.nav.back && !screen.end) {
    nav.push({ text: l.back, callback_data: encodeToken({ kind: "nav", turn, to: "back" }) });
  }
  if (screen.nav.home || screen.end) {
    nav.push({ text: l.home, callback_data: encodeToken({ kind: "nav", turn, to: "home" }) });
  }
  if (nav.length) rows.push(nav);
  return { text, page, markup: { kind, keyboard: { inline_keyboard: rows } } };
}

/** The event a reply-keyboard button press stands for (its caption arrives as text), if any. */
export function replyButtonEvent(
  screen: Screen,
  locale: Locale,
  translator: Translator,
  value: string,
): ConversationEvent | null {
  const l = labels(translator, locale);
  if (screen.nav.back && value === l.back) return { type: "back" };
  if (screen.nav.home && value === l.home) return { type: "home" };
  const option = screen.options.find((o) => translator.text(locale, o.label) === value);
  return option ? { type: "choose", key: option.key } : null;
}
