import { Composer } from "grammy";
import type { StaffMember, StaffVisitService } from "../../core/services/staff-visits.js";
import type { CitizenChat } from "../citizen.js";
import { type BotContext, chatOf, identityOf, isCommand, isShortcut, payloadOf, senderFacts } from "../context.js";
import { decodeStaff, STAFF_PREFIX } from "./callbacks.js";
import type { StaffChat } from "./chat.js";

export interface StaffSideDeps {
  staff: StaffChat;
  staffVisits: StaffVisitService;
  /** Where "citizen services" on the staff menu leads. */
  citizen: CitizenChat;
}

type LinkedContext = BotContext & { staffMember: StaffMember };

/**
 * The staff side: invite codes and staff buttons, and a linked worker's chat, which shows the
 * staff menu unless they chose the citizen services. What it does not take (calling `next`)
 * goes on to the citizen side.
 */
export function staffSide(deps: StaffSideDeps): Composer<BotContext> {
  const side = new Composer<BotContext>();
  const fallback = (ctx: BotContext) => chatOf(ctx).hint ?? "uz";

  // `/start <code>` links an account; one or two digits are a citizen menu shortcut instead.
  side.command("start", async (ctx, next) => {
    const payload = payloadOf(ctx);
    if (!payload || isShortcut(payload)) return next();
    const { chatId, from } = chatOf(ctx);
    await deps.staff.link(chatId, from.id, payload, fallback(ctx));
  });

  side.use(async (ctx, next) => {
    // Read with the update's record when it was taken in (bot/update-ledger.ts), else asked now.
    const known = senderFacts(ctx);
    ctx.staffMember = known ? known.staff : await deps.staffVisits.findByTelegram(BigInt(chatOf(ctx).from.id));
    await next();
  });

  // Staff buttons, pressed by anyone: refused unless the account is linked.
  side.callbackQuery(new RegExp(`^${STAFF_PREFIX}`), async (ctx) => {
    const query = ctx.callbackQuery;
    const { chatId } = chatOf(ctx);
    const outcome = await deps.staff.onButton(
      chatId,
      ctx.staffMember ?? null,
      decodeStaff(query.data),
      { id: query.id, messageId: query.message?.message_id ?? null },
      fallback(ctx),
    );
    if (outcome === "citizen") {
      // The citizen conversation starts afresh; the press itself was the staff side's.
      await deps.citizen.handle({
        chatId,
        identity: identityOf(ctx),
        input: { kind: "event", event: { type: "start" } },
        updateId: ctx.update.update_id,
      });
    }
  });

  const linked = side.filter((ctx): ctx is LinkedContext => Boolean(ctx.staffMember));
  linked.command(["today", "week"], async (ctx) => {
    const { chatId } = chatOf(ctx);
    await deps.staff.setMode(chatId, "staff");
    await deps.staff.showList(chatId, ctx.staffMember, ctx.hasCommand("week") ? "week" : "today");
  });
  linked.command(["staff", "start"], async (ctx, next) => {
    // `/start 3`: a citizen shortcut (an invite code was taken above).
    if (payloadOf(ctx) && !ctx.hasCommand("staff")) return next();
    const { chatId } = chatOf(ctx);
    await deps.staff.setMode(chatId, "staff");
    await deps.staff.showMenu(chatId, ctx.staffMember);
  });
  // Any other command is for the citizen services, and switches the chat to them.
  linked.filter(isCommand, async (ctx, next) => {
    await deps.staff.setMode(chatOf(ctx).chatId, "citizen");
    await next();
  });

  const plain = linked.drop(isCommand);
  plain.on("message:text", async (ctx, next) => {
    if (!(await deps.staff.onNote(chatOf(ctx).chatId, ctx.staffMember, ctx.message.text))) await next();
  });
  // A citizen-screen button: the worker is using the citizen services.
  plain.on("callback_query", async (ctx, next) => {
    await deps.staff.setMode(chatOf(ctx).chatId, "citizen");
    await next();
  });
  plain.on("message", async (ctx, next) => {
    const { chatId } = chatOf(ctx);
    if ((await deps.staff.mode(chatId)) === "staff") await deps.staff.showMenu(chatId, ctx.staffMember);
    else await next();
  });
  return side;
}
