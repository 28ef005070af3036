import type { Context } from "grammy";
import type { User } from "grammy/types";
import type { Locale } from "../core/domain/vocabulary.js";
import type { Identity } from "../core/engine/types.js";
import type { StaffMember } from "../core/services/staff-visits.js";
import type { SenderFacts } from "./update-ledger.js";

/**
 * grammY's context with what the staff side learns once per update: the linked staff member
 * behind this Telegram account (null: none; absent: not looked up, e.g. an invite code); and what
 * the update ledger read about the sender when it recorded the update (absent: not read or no
 * longer to be trusted, e.g. long polling, an update taken over from a dead process, one recorded
 * behind another of its chat or one that waited: the sides then ask themselves).
 */
export type BotContext = Context & { staffMember?: StaffMember | null; sender?: SenderFacts };

/** Telegram's language_code as a first guess: Russian and Uzbek (Latin) are recognised. */
/** The ledger's facts about this update's sender, when they are about this sender. */
export const senderFacts = (ctx: BotContext): SenderFacts | undefined =>
  ctx.sender !== undefined && ctx.from !== undefined && ctx.sender.userId === ctx.from.id ? ctx.sender : undefined;

export function localeHint(languageCode: string | undefined): Locale | undefined {
  const code = languageCode?.toLowerCase().split(/[-_]/)[0];
  return code === "ru" ? "ru" : code === "uz" ? "uz" : undefined;
}

/** The private chat and the person of an update that passed the bot's private-chat gate. */
export function chatOf(ctx: BotContext): { chatId: number; from: User; hint: Locale | undefined } {
  const chat = ctx.chat;
  const from = ctx.from;
  // The gate in bot.ts lets nothing else through; this only informs the type checker.
  if (chat?.type !== "private" || !from) throw new Error("telegram: update outside a private chat reached a side");
  return { chatId: chat.id, from, hint: localeHint(from.language_code) };
}

/** The person as the engine knows them: the Telegram ids and the language Telegram guesses. */
export function identityOf(ctx: BotContext): Identity {
  const { chatId, from, hint } = chatOf(ctx);
  return {
    telegramUserId: BigInt(from.id),
    telegramChatId: BigInt(chatId),
    ...(hint ? { localeHint: hint } : {}),
  };
}

/** A command in Telegram's sense: a bot_command entity at the start of the text, known or not. */
export const isCommand = (ctx: BotContext): boolean =>
  ctx.message?.text !== undefined &&
  (ctx.message.entities ?? []).some((entity) => entity.type === "bot_command" && entity.offset === 0);

/** The text after a command (grammY's ctx.match), without the spaces around it. */
export const payloadOf = (ctx: BotContext): string => (typeof ctx.match === "string" ? ctx.match.trim() : "");

/** Deep-link payloads of one or two digits open a main-menu item, as USSD shortcuts do. */
export const isShortcut = (payload: string) => /^\d{1,2}$/.test(payload);
