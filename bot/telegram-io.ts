import { type Api, GrammyError } from "grammy";
import type { InlineKeyboardMarkup, ReplyKeyboardMarkup } from "grammy/types";
import type { Logger } from "../core/logger.js";
import type { RenderedScreen } from "./render.js";

const NO_BUTTONS: InlineKeyboardMarkup = { inline_keyboard: [] };

/** Telegram refuses an edit that changes nothing; for us that edit has simply succeeded. */
const notModified = (err: unknown) => err instanceof GrammyError && /message is not modified/i.test(err.description);

/** A Bot API call carried by the webhook's HTTP answer (Telegram makes it; no result comes back). */
export type WebhookReply = {
  method: "answerCallbackQuery";
  callback_query_id: string;
  text?: string;
  show_alert?: boolean;
};

/**
 * The few Bot API calls the bot makes for screens, over the throttled Api with its bounded retries.
 * An edit Telegram refuses (the message is too old) says so, and the caller sends a new message.
 */
export class TelegramIo {
  /**
   * Callback queries whose webhook call is still waiting to be answered: their answer rides in
   * that HTTP answer instead of a Bot API call of its own (see webhook.ts).
   */
  private readonly replySlots = new Map<string, (reply: WebhookReply) => void>();

  constructor(
    readonly api: Api,
    private readonly logger: Logger,
  ) {}

  /**
   * Waits (at most `ms`, and no longer than `handled`) for the handler to answer this callback
   * query; that answer is then the webhook's to carry, and no Bot API call is made for it.
   */
  async awaitAnswer(queryId: string, handled: Promise<void>, ms: number): Promise<WebhookReply | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let given: WebhookReply | undefined;
    const answered = new Promise<void>((resolve) => {
      this.replySlots.set(queryId, (reply) => {
        given = reply;
        resolve();
      });
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([answered, handled]);
    clearTimeout(timer);
    this.replySlots.delete(queryId);
    return given;
  }

  /** The screen as a new message; one without buttons can take the reply keyboard away too. */
  async send(chatId: number, rendered: RenderedScreen, options: { removeKeyboard?: boolean } = {}): Promise<number> {
    const markup = rendered.markup;
    const reply_markup =
      markup.kind !== "none"
        ? markup.keyboard
        : options.removeKeyboard
          ? { remove_keyboard: true as const }
          : undefined;
    const message = await this.api.sendMessage(chatId, rendered.text, reply_markup ? { reply_markup } : {});
    return message.message_id;
  }

  /** A plain message; it can take away the reply keyboard, or show the current one again. */
  async sendText(
    chatId: number,
    text: string,
    options: { removeKeyboard?: boolean; replyKeyboard?: ReplyKeyboardMarkup } = {},
  ): Promise<number> {
    const reply_markup = options.removeKeyboard ? { remove_keyboard: true as const } : options.replyKeyboard;
    const message = await this.api.sendMessage(chatId, text, reply_markup ? { reply_markup } : {});
    return message.message_id;
  }

  /** Shows the screen in place of an earlier message; false when that message cannot be edited. */
  async edit(chatId: number, messageId: number, rendered: RenderedScreen): Promise<boolean> {
    if (rendered.markup.kind === "reply") return false;
    const reply_markup = rendered.markup.kind === "inline" ? rendered.markup.keyboard : NO_BUTTONS;
    try {
      await this.api.editMessageText(chatId, messageId, rendered.text, { reply_markup });
      return true;
    } catch (err) {
      if (notModified(err)) return true;
      this.logger.debug({ err, chatId }, "telegram: message not editable, sending a new one");
      return false;
    }
  }

  async editCard(chatId: number, messageId: number, text: string, keyboard: InlineKeyboardMarkup): Promise<boolean> {
    try {
      await this.api.editMessageText(chatId, messageId, text, { reply_markup: keyboard });
      return true;
    } catch (err) {
      if (notModified(err)) return true;
      this.logger.debug({ err, chatId }, "telegram: card not editable");
      return false;
    }
  }

  /** Stops the button's spinner; a late answer (query expired) is harmless. */
  async answer(queryId: string | undefined, text?: string, alert = false): Promise<void> {
    if (!queryId) return;
    const slot = this.replySlots.get(queryId);
    if (slot) {
      this.replySlots.delete(queryId);
      slot({
        method: "answerCallbackQuery",
        callback_query_id: queryId,
        ...(text ? { text: text.slice(0, 200), show_alert: alert } : {}),
      });
      return;
    }
    try {
      await this.api.answerCallbackQuery(queryId, text ? { text: text.slice(0, 200), show_alert: alert } : {});
    } catch (err) {
      this.logger.debug({ err }, "telegram: callback query answer failed");
    }
  }
}
