import { Composer } from "grammy";
import { normalizeUzPhone } from "../core/domain/phone.js";
import type { ConversationEvent } from "../core/engine/types.js";
import { MAIN_MENU } from "../core/flows/index.js";
import type { CitizenChat } from "./citizen.js";
import { type BotContext, chatOf, identityOf, payloadOf } from "./context.js";
import { decodeToken } from "./render.js";
import type { CitizenInput } from "./turns.js";

const shortcut = (flow: (typeof MAIN_MENU)[number]) => String(MAIN_MENU.indexOf(flow) + 1);

/** One citizen step for this update; `phone` once the person shared their own contact. */
export async function toCitizen(citizen: CitizenChat, ctx: BotContext, input: CitizenInput, phone?: string) {
  const identity = identityOf(ctx);
  const query = ctx.callbackQuery;
  await citizen.handle({
    chatId: chatOf(ctx).chatId,
    identity: phone ? { ...identity, phone } : identity,
    input,
    updateId: ctx.update.update_id,
    ...(query ? { callbackQueryId: query.id } : {}),
  });
}

/**
 * The citizen conversation: what each private-chat update means for the engine. Everything the
 * staff side let through ends here. Contacts are checked here: only the sender's own Uzbek number
 * is accepted.
 */
export function citizenSide(citizen: CitizenChat): Composer<BotContext> {
  const side = new Composer<BotContext>();
  const event = (ctx: BotContext, e: ConversationEvent) => toCitizen(citizen, ctx, { kind: "event", event: e });

  side.command("start", (ctx) => {
    const payload = payloadOf(ctx);
    return event(ctx, payload ? { type: "start", shortcut: payload } : { type: "start" });
  });
  side.command("menu", (ctx) => event(ctx, { type: "home" }));
  side.command("language", (ctx) => event(ctx, { type: "start", shortcut: shortcut("language") }));
  side.command("help", (ctx) => event(ctx, { type: "start", shortcut: shortcut("help") }));

  side.on("callback_query", async (ctx) => {
    const { data, message } = ctx.callbackQuery;
    // A button of no screen of ours (no data, or a message too old to be given): nothing to do.
    if (!data || !message) return;
    await toCitizen(citizen, ctx, { kind: "button", token: decodeToken(data), messageId: message.message_id });
  });
  // Unknown commands too: the conversation reads them as text, as it reads anything typed.
  side.on("message:text", (ctx) => toCitizen(citizen, ctx, { kind: "text", value: ctx.message.text }));
  side.on("message:contact", async (ctx) => {
    const contact = ctx.message.contact;
    if (contact.user_id === undefined || contact.user_id !== ctx.from.id) {
      return toCitizen(citizen, ctx, { kind: "refused", key: "errors.foreign_contact" });
    }
    const phone = normalizeUzPhone(contact.phone_number);
    if (!phone) return toCitizen(citizen, ctx, { kind: "refused", key: "errors.phone_not_uz" });
    return toCitizen(citizen, ctx, { kind: "contact", phone }, phone);
  });
  side.on("message:location", (ctx) => {
    const { latitude, longitude } = ctx.message.location;
    return toCitizen(citizen, ctx, { kind: "location", latitude, longitude });
  });
  side.on("message", (ctx) => toCitizen(citizen, ctx, { kind: "refused", key: "bot.unsupported" }));
  return side;
}
