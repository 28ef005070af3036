import type { ConversationEngine } from "../core/engine/engine.js";
import { MemoryRateLimiter } from "../core/engine/rate-limit.js";
import type { Identity } from "../core/engine/types.js";
import type { Translator } from "../core/i18n/index.js";
import { flowOfScreen, observeStep } from "../core/metrics.js";
import { renderScreen } from "./render.js";
import type { TelegramIo } from "./telegram-io.js";
import { type CitizenInput, decide, readView, type Verdict } from "./turns.js";

export interface CitizenUpdate {
  chatId: number;
  identity: Identity;
  input: CitizenInput;
  callbackQueryId?: string;
  /** The Telegram update it came in: an update applied once is never applied again. */
  updateId?: number;
}

/**
 * The citizen side of the bot: one engine step per update, then the screen as one Bot API call. A
 * button press edits its own message in place (its answerCallbackQuery rides in the webhook's
 * answer); typed input gets one new message and nothing else. Earlier messages keep their buttons:
 * each button carries the turn of the screen it was drawn for (bot/turns.ts), so a press on an old
 * one is recognised as stale without knowing which message shows the current screen, and taking
 * old keyboards away would cost a call per screen.
 */
export class CitizenChat {
  private readonly limitNotices = new MemoryRateLimiter(1, 60_000, 10_000);

  constructor(
    private readonly engine: ConversationEngine,
    private readonly translator: Translator,
    private readonly io: TelegramIo,
  ) {}

  async handle(update: CitizenUpdate): Promise<void> {
    const { chatId, identity, input } = update;
    const decided: { verdict?: Verdict } = {};
    const startedAt = performance.now();
    const reply = await this.engine.step({
      channel: "telegram",
      sessionKey: String(chatId),
      identity,
      event: (previous) => {
        const { decision, verdict } = decide(previous, input, this.translator, update.updateId);
        decided.verdict = verdict;
        return decision;
      },
    });
    observeStep("telegram", flowOfScreen(reply.screen), startedAt);
    const t = (key: string) => this.translator.t(reply.locale, key);
    if (!decided.verdict) {
      // Refused before the session was even read: the person is over their step limit. Told once
      // a minute, so a flood does not turn into a queue of messages to the same chat.
      const notice = t("errors.rate_limited");
      await this.io.answer(update.callbackQueryId, notice);
      if (this.limitNotices.hit(String(chatId), Date.now())) await this.io.sendText(chatId, notice);
      return;
    }
    const verdict: Verdict = decided.verdict;
    const rendered = renderScreen(reply.screen, reply.locale, this.translator, readView(reply.view));
    const pressed = input.kind === "button" ? input.messageId : null;

    switch (verdict.kind) {
      case "refused":
        // The contact/location keyboard folds away once used: offer it again with the reason.
        await this.io.sendText(
          chatId,
          t(verdict.key),
          rendered.markup.kind === "reply" ? { replyKeyboard: rendered.markup.keyboard } : {},
        );
        return;
      case "page":
      case "again":
        await this.io.answer(update.callbackQueryId);
        if (pressed !== null && (await this.io.edit(chatId, pressed, rendered))) return;
        await this.io.send(chatId, rendered);
        return;
      case "stale":
        // The old message stays as it was; the current screen comes again below it.
        await this.io.answer(update.callbackQueryId, t("bot.stale"));
        await this.io.send(chatId, rendered);
        return;
      case "event": {
        await this.io.answer(update.callbackQueryId);
        if (verdict.notice) await this.io.sendText(chatId, t(verdict.notice));
        if (pressed !== null && (await this.io.edit(chatId, pressed, rendered))) return;
        if (verdict.previousKind === "reply" && rendered.markup.kind !== "reply") {
          // A reply keyboard only goes away with a message that says so: the screen itself when it
          // has no buttons of its own, else a line before it (a message has one keyboard at most).
          if (rendered.markup.kind === "none") {
            await this.io.send(chatId, rendered, { removeKeyboard: true });
            return;
          }
          await this.io.sendText(chatId, t("bot.received"), { removeKeyboard: true });
        }
        await this.io.send(chatId, rendered);
        return;
      }
    }
  }
}
