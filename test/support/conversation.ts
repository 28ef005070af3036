import { type CoreDatabase, type CoreOptions, createCore } from "../../app/core.js";
import type { Channel, Locale } from "../../core/domain/vocabulary.js";
import type { ConversationEvent, Identity, Screen } from "../../core/engine/types.js";
import { Translator } from "../../core/i18n/index.js";

const translator = new Translator();

/** The screen as plain text in one language, for assertions. */
export function screenText(screen: Screen, locale: Locale): string {
  const parts = [
    ...(screen.error ? [translator.text(locale, screen.error)] : []),
    ...screen.body.map((t) => translator.text(locale, t)),
    ...screen.options.map((o, i) => `${i + 1}. ${translator.text(locale, o.label)}`),
  ];
  return parts.join("\n");
}

/**
 * Drives the engine the way a channel would, without any channel: `pick(n)` chooses the n-th
 * option of the screen on display, `say` types text.
 */
export class Conversation {
  screen!: Screen;
  locale: Locale = "uz";
  readonly core: ReturnType<typeof createCore>;

  constructor(
    db: CoreDatabase,
    readonly identity: Identity,
    readonly channel: Channel = "ussd",
    readonly sessionKey = `s-${Math.random().toString(36).slice(2)}`,
    options: CoreOptions = {},
  ) {
    this.core = createCore(db, options);
  }

  async send(event: ConversationEvent): Promise<Screen> {
    const reply = await this.core.engine.step({
      channel: this.channel,
      sessionKey: this.sessionKey,
      identity: this.identity,
      event,
    });
    this.screen = reply.screen;
    this.locale = reply.locale;
    return reply.screen;
  }

  start(shortcut?: string) {
    return this.send(shortcut ? { type: "start", shortcut } : { type: "start" });
  }

  pick(position: number) {
    const option = this.screen.options[position - 1];
    if (!option) throw new Error(`no option ${position} on screen:\n${this.text()}`);
    return this.send({ type: "choose", key: option.key });
  }

  /** Chooses the option whose label (in the current language) contains `label`. */
  pickLabel(label: string) {
    const index = this.screen.options.findIndex((o) => translator.text(this.locale, o.label).includes(label));
    if (index < 0) throw new Error(`no option "${label}" on screen:\n${this.text()}`);
    return this.pick(index + 1);
  }

  say(value: string) {
    return this.send({ type: "text", value });
  }

  /** The reference a confirmation screen announces (its first text's `reference` parameter). */
  reference(): string {
    const first = this.screen.body[0];
    const value = first && "key" in first ? first.params?.reference : undefined;
    if (typeof value !== "string") throw new Error(`no reference on screen:\n${this.text()}`);
    return value;
  }

  text(): string {
    return screenText(this.screen, this.locale);
  }
}
