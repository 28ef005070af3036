import type { Api } from "grammy";
import type { BotCommand } from "grammy/types";
import type { Locale } from "../core/domain/vocabulary.js";
import type { Translator } from "../core/i18n/index.js";

export const CITIZEN_COMMANDS = ["start", "menu", "language", "help"] as const;
export const STAFF_COMMANDS = ["start", "today", "week", "staff", "menu", "language", "help"] as const;

export function commandList(translator: Translator, locale: Locale, staff = false): BotCommand[] {
  return (staff ? STAFF_COMMANDS : CITIZEN_COMMANDS).map((command) => ({
    command,
    description: translator.t(locale, `bot.commands.${command}`),
  }));
}

/**
 * Command descriptions per Telegram language_code. Telegram has one code for Uzbek, so "uz" (and
 * everyone else, by default) gets Uzbek Latin; Cyrillic readers see the same commands.
 */
export async function publishCommands(api: Api, translator: Translator): Promise<void> {
  await api.setMyCommands(commandList(translator, "uz"));
  await api.setMyCommands(commandList(translator, "uz"), { language_code: "uz" });
  await api.setMyCommands(commandList(translator, "ru"), { language_code: "ru" });
}

/** A linked worker's own chat also lists the staff commands, in their language. */
export async function publishStaffCommands(api: Api, translator: Translator, chatId: number, locale: Locale) {
  await api.setMyCommands(commandList(translator, locale, true), { scope: { type: "chat", chat_id: chatId } });
}
