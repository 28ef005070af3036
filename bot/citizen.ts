import type { ConversationEngine } from "../core/engine/engine.js";
import { MemoryRateLimiter } from "../core/engine/rate-limit.js";
import type { Identity } from "../core/engine/types.js";
import type { Translator } from "../core/i18n/index.js";
import { flowOfScreen, observeStep } from "../core/metrics.js";
import { keyboardKind, renderScreen } from "./render.js";
import type { TelegramIo } from "./telegram-io.js";
import { type CitizenInput, decide, readView, type Verdict, viewJson } from "./turns.js";

export interface CitizenUpdate {
  chatId: number;
  identity: Identity;
  input: CitizenInput;
  callbackQueryId?: string;
}

/**
 * The citizen side of the bot: one engine step per update, then the screen as one message. A
 * button press edits its own message in place; typed input gets a new message and the previous
 * one loses its buttons, so a finished step cannot be replayed from an old keyboard.
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
    const sessionKey = String(chatId);
    const decided: { verdict?: Verdict } = {};
    const startedAt = performance.now();
    const reply = await this.engine.step({
      channel: "telegram",
      sessionKey,
      identity,
      event: (previous) => {
        const { decision, verdict } = decide(previous, input, this.translator);
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
    const view = readView(reply.view);
    const rendered = renderScreen(reply.screen, reply.locale, this.translator, view);
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
        await this.io.answer(update.callbackQueryId);
        if (pressed !== null && (await this.io.edit(chatId, pressed, rendered))) return;
        await this.remember(sessionKey, identity, await this.io.send(chatId, rendered));
        return;
      case "stale": {
        await this.io.answer(update.callbackQueryId, t("bot.stale"));
        await this.remember(sessionKey, identity, await this.io.send(chatId, rendered));
        if (pressed !== null) await this.io.strip(chatId, pressed);
        if (view.messageId !== null && view.messageId !== pressed && keyboardKind(reply.screen) === "inline") {
          await this.io.strip(chatId, view.messageId);
        }
        return;
      }
      case "event": {
        await this.io.answer(update.callbackQueryId);
        if (verdict.notice) await this.io.sendText(chatId, t(verdict.notice));
        if (pressed !== null && (await this.io.edit(chatId, pressed, rendered))) return;
        if (verdict.previousKind === "reply" && rendered.markup.kind !== "reply") {
          // A reply keyboard only goes away with a message that says so.
          await this.io.sendText(chatId, t("bot.received"), { removeKeyboard: true });
        }
        const sent = await this.io.send(chatId, rendered);
        await this.remember(sessionKey, identity, sent);
        const replaced = pressed ?? (verdict.previousKind === "inline" ? verdict.replaces : null);
        if (replaced !== null && replaced !== sent) await this.io.strip(chatId, replaced);
        return;
      }
    }
  }

  /** Records which message shows the current screen (a page turn for the engine: nothing moves). */
  private async remember(sessionKey: string, identity: Identity, messageId: number): Promise<void> {
    await this.engine.step({
      channel: "telegram",
      sessionKey,
      identity,
      bookkeeping: true,
      event: (previous) => {
        // Always there: remember() follows a step that saved the session.
        if (!previous) return { replay: true };
        return { redisplay: true, view: viewJson({ ...readView(previous.view), messageId }) };
      },
    });
  }
}
