import { normalizeUzPhone } from "../core/domain/phone.js";
import type { Locale } from "../core/domain/vocabulary.js";
import type { ConversationEngine } from "../core/engine/engine.js";
import type { Screen } from "../core/engine/types.js";
import { storableText } from "../core/flows/inputs.js";
import type { Translator } from "../core/i18n/index.js";
import { flowOfScreen } from "../core/metrics.js";
import { decide, toView } from "./input.js";
import { type Encoding, pageCount, type RenderOptions, renderScreen } from "./render.js";

/** One Africa's Talking USSD callback, already validated. */
export interface UssdRequest {
  sessionId: string;
  serviceCode: string;
  phoneNumber: string;
  networkCode: string;
  text: string;
}

export interface UssdAnswer {
  /** "CON …" or "END …", as the gateway expects it. */
  text: string;
  locale: Locale;
  encoding: Encoding;
  page: number;
  pages: number;
  /** The flow label of the screen answered, for the step-latency histogram (see flowOfScreen). */
  flow: string;
}

/** A screen of one message that ends the session, outside any flow. */
export const closingScreen = (key: string): Screen => ({
  body: [{ key }],
  options: [],
  input: { kind: "none" },
  nav: { back: false, home: false },
  end: true,
});

/**
 * The USSD front end: one gateway request → one engine step → one rendered page. It owns no flow
 * logic: which part of the gateway's `text` is new, and how a screen fits the budget, are all it
 * decides.
 */
export class UssdChannel {
  private readonly render: RenderOptions;

  constructor(
    private readonly engine: ConversationEngine,
    translator: Translator,
    options: { maxCharsUcs2: number },
  ) {
    this.render = { translator, maxCharsUcs2: options.maxCharsUcs2 };
  }

  async handle(request: UssdRequest): Promise<UssdAnswer> {
    const phone = normalizeUzPhone(request.phoneNumber);
    if (!phone) return this.final("uz", "errors.phone_not_uz");
    const reply = await this.engine.step({
      channel: "ussd",
      sessionKey: request.sessionId,
      identity: { phone },
      // The text is stored with the session (what was seen so far): only what the database takes.
      event: (previous) =>
        decide(storableText(request.text), previous, (screen, locale) => pageCount(screen, locale, this.render)),
    });
    const page = toView(reply.view)?.page ?? 1;
    const rendered = renderScreen(reply.screen, reply.locale, page, this.render);
    return {
      text: rendered.text,
      locale: reply.locale,
      encoding: rendered.encoding,
      page: rendered.page,
      pages: rendered.pages,
      flow: flowOfScreen(reply.screen),
    };
  }

  /** A closing message outside any flow: a foreign number, or the apology when something failed. */
  final(locale: Locale, key: string): UssdAnswer {
    const rendered = renderScreen(closingScreen(key), locale, 1, this.render);
    return { text: rendered.text, locale, encoding: rendered.encoding, page: 1, pages: 1, flow: "closing" };
  }
}
