import { Composer } from "grammy";
import type { InlineKeyboardMarkup } from "grammy/types";
import type { Locale } from "../../core/domain/vocabulary.js";
import type { Translator } from "../../core/i18n/index.js";
import { FEEDBACK_CALLBACK, feedbackCallback } from "../../core/notifications/buttons.js";
import type { CitizenService } from "../../core/services/citizens.js";
import type { FeedbackService } from "../../core/services/feedback.js";
import { type BotContext, chatOf, senderFacts } from "../context.js";
import type { TelegramIo } from "../telegram-io.js";

export interface RatingSideDeps {
  feedback: FeedbackService;
  citizens: CitizenService;
  translator: Translator;
  io: TelegramIo;
}

const NO_BUTTONS: InlineKeyboardMarkup = { inline_keyboard: [] };

/**
 * The rating question's buttons (1–5, then Skip) and the optional comment after it. Whoever
 * presses is checked by the service against the citizen asked (a forwarded or copied button
 * answers nothing). Runs before both sides, so a worker who is also a citizen can answer too.
 */
export function ratingSide(deps: RatingSideDeps): Composer<BotContext> {
  const side = new Composer<BotContext>();
  const localeOf = async (ctx: BotContext): Promise<Locale> => {
    const { from, hint } = chatOf(ctx);
    return (await deps.citizens.findByTelegram(BigInt(from.id)))?.locale ?? hint ?? "uz";
  };

  side.callbackQuery(FEEDBACK_CALLBACK, async (ctx) => {
    const [, id, answer] = ctx.match as RegExpMatchArray;
    const feedbackId = Number(id);
    const user = BigInt(ctx.from.id);
    const { chatId } = chatOf(ctx);
    const messageId = ctx.callbackQuery.message?.message_id;
    const locale = await localeOf(ctx);
    const t = (key: string, params?: Record<string, string | number>) => deps.translator.t(locale, key, params);
    if (answer === "skip") {
      await deps.feedback.skipComment(feedbackId, user);
      await deps.io.answer(ctx.callbackQuery.id);
      if (messageId !== undefined) await deps.io.editCard(chatId, messageId, t("rating.thanks"), NO_BUTTONS);
      return;
    }
    const outcome = await deps.feedback.answer({
      feedbackId,
      by: { telegramUserId: user },
      score: Number(answer),
      channel: "telegram",
    });
    if (outcome.kind !== "answered") {
      await deps.io.answer(ctx.callbackQuery.id, t(`rating.refused.${outcome.kind}`), true);
      return;
    }
    await deps.io.answer(ctx.callbackQuery.id);
    const skip: InlineKeyboardMarkup = {
      inline_keyboard: [[{ text: t("rating.skip"), callback_data: feedbackCallback(feedbackId, "skip") }]],
    };
    const prompt = t("rating.comment_prompt", { score: outcome.score });
    if (messageId === undefined || !(await deps.io.editCard(chatId, messageId, prompt, skip))) {
      await deps.io.api.sendMessage(chatId, prompt, { reply_markup: skip });
    }
  });

  // The next text after a rating, within its window, is the comment; a command never is.
  side.on("message:text", async (ctx, next) => {
    const text = ctx.message.text;
    if (text.startsWith("/")) return next();
    // No comment awaited when the update was recorded: nothing to ask the database.
    if (senderFacts(ctx)?.commentOpen === false) return next();
    const stored = await deps.feedback.commentFromTelegram(BigInt(ctx.from.id), text);
    if (stored === null) return next();
    await deps.io.sendText(chatOf(ctx).chatId, deps.translator.t(await localeOf(ctx), "rating.comment_saved"));
  });
  return side;
}
