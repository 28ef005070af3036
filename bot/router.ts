import type { Context } from "grammy";
import { normalizeUzPhone } from "../core/domain/phone.js";
import type { Locale } from "../core/domain/vocabulary.js";
import type { Identity } from "../core/engine/types.js";
import { MAIN_MENU } from "../core/flows/index.js";
import type { StaffVisitService } from "../core/services/staff-visits.js";
import type { CitizenChat } from "./citizen.js";
import { type Command, parseCommand } from "./commands.js";
import { decodeToken } from "./render.js";
import { decodeStaff, STAFF_PREFIX } from "./staff/callbacks.js";
import type { StaffChat } from "./staff/chat.js";
import type { CitizenInput } from "./turns.js";

/** Telegram's language_code as a first guess: Russian and Uzbek (Latin) are recognised. */
export function localeHint(languageCode: string | undefined): Locale | undefined {
  const code = languageCode?.toLowerCase().split(/[-_]/)[0];
  return code === "ru" ? "ru" : code === "uz" ? "uz" : undefined;
}

/** Deep-link payloads of one or two digits open a main-menu item, as USSD shortcuts do. */
const isShortcut = (payload: string) => /^\d{1,2}$/.test(payload);
const shortcut = (flow: (typeof MAIN_MENU)[number]) => String(MAIN_MENU.indexOf(flow) + 1);

/**
 * What an update from a private chat is for the citizen conversation, or null when it is not for
 * it at all. Contacts are checked here: only the sender's own Uzbek number is accepted.
 */
export function citizenInput(ctx: Context, command: Command | null): { input: CitizenInput; phone?: string } | null {
  const query = ctx.callbackQuery;
  if (query) {
    if (!query.data || !query.message) return null;
    return { input: { kind: "button", token: decodeToken(query.data), messageId: query.message.message_id } };
  }
  const message = ctx.message;
  if (!message) return null;
  if (command) {
    switch (command.name) {
      case "start":
        return {
          input: {
            kind: "event",
            event: command.payload ? { type: "start", shortcut: command.payload } : { type: "start" },
          },
        };
      case "menu":
        return { input: { kind: "event", event: { type: "home" } } };
      case "language":
        return { input: { kind: "event", event: { type: "start", shortcut: shortcut("language") } } };
      case "help":
        return { input: { kind: "event", event: { type: "start", shortcut: shortcut("help") } } };
    }
  }
  if (message.text !== undefined) return { input: { kind: "text", value: message.text } };
  if (message.contact) {
    if (message.contact.user_id === undefined || message.contact.user_id !== ctx.from?.id) {
      return { input: { kind: "refused", key: "errors.foreign_contact" } };
    }
    const phone = normalizeUzPhone(message.contact.phone_number);
    if (!phone) return { input: { kind: "refused", key: "errors.phone_not_uz" } };
    return { input: { kind: "contact", phone }, phone };
  }
  if (message.location) {
    const { latitude, longitude } = message.location;
    return { input: { kind: "location", latitude, longitude } };
  }
  return { input: { kind: "refused", key: "bot.unsupported" } };
}

export interface RouterDeps {
  citizen: CitizenChat;
  staff: StaffChat;
  staffVisits: StaffVisitService;
}

/**
 * Sends each private-chat update where it belongs: invite codes and staff buttons to the staff
 * side, a linked worker's chat to the staff menu unless they chose the citizen services, and
 * everything else to the citizen conversation.
 */
export async function route(ctx: Context, deps: RouterDeps): Promise<void> {
  const chat = ctx.chat;
  const from = ctx.from;
  if (chat?.type !== "private" || !from || from.is_bot) return;
  const chatId = chat.id;
  const hint = localeHint(from.language_code);
  const message = ctx.message;
  const query = ctx.callbackQuery;
  const command = message?.text !== undefined ? parseCommand(message.text) : null;
  const identity: Identity = {
    telegramUserId: BigInt(from.id),
    telegramChatId: BigInt(chatId),
    ...(hint ? { localeHint: hint } : {}),
  };
  const toCitizen = async (input: CitizenInput, phone?: string) =>
    deps.citizen.handle({
      chatId,
      updateId: ctx.update.update_id,
      identity: phone ? { ...identity, phone } : identity,
      input,
      ...(query ? { callbackQueryId: query.id } : {}),
    });

  if (command?.name === "start" && command.payload && !isShortcut(command.payload)) {
    await deps.staff.link(chatId, from.id, command.payload, hint ?? "uz");
    return;
  }
  const staff = await deps.staffVisits.findByTelegram(BigInt(from.id));
  if (query?.data?.startsWith(STAFF_PREFIX)) {
    const next = await deps.staff.onButton(
      chatId,
      staff,
      decodeStaff(query.data),
      { id: query.id, messageId: query.message?.message_id ?? null },
      hint ?? "uz",
    );
    if (next === "citizen") {
      await deps.citizen.handle({
        chatId,
        updateId: ctx.update.update_id,
        identity,
        input: { kind: "event", event: { type: "start" } },
      });
    }
    return;
  }
  if (staff) {
    if (command) {
      if (command.name === "today" || command.name === "week") {
        await deps.staff.setMode(chatId, "staff");
        await deps.staff.showList(chatId, staff, command.name);
        return;
      }
      if (command.name === "staff" || (command.name === "start" && !command.payload)) {
        await deps.staff.setMode(chatId, "staff");
        await deps.staff.showMenu(chatId, staff);
        return;
      }
      await deps.staff.setMode(chatId, "citizen");
    } else if (message?.text !== undefined && (await deps.staff.onNote(chatId, staff, message.text))) {
      return;
    } else if (query) {
      await deps.staff.setMode(chatId, "citizen");
    } else if ((await deps.staff.mode(chatId)) === "staff") {
      await deps.staff.showMenu(chatId, staff);
      return;
    }
  }
  const resolved = citizenInput(ctx, command);
  if (resolved) await toCitizen(resolved.input, resolved.phone);
}
