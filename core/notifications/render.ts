import type { Locale, Param, Params } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import { Translator } from "../i18n/index.js";
import { measureSms, type SmsText, smsCapacity, smsWording } from "./sms-text.js";

/** The parts of an Outbox row that make its text. */
export interface MessageSource {
  locale: string;
  templateKey: string;
  params: unknown;
}

/**
 * Parameters never shortened to fit an SMS: what the citizen must be able to read back or act on
 * (references, amounts, dates, codes). Only descriptive names and free text are trimmed.
 */
const PROTECTED = /reference|application|amount|date|period|part|status|code|hotline|phone|count/i;
/** A trimmed name keeps at least this many characters, so it stays recognisable. */
const MIN_TRIMMED = 10;

const asLocale = (value: string): Locale => (isLocale(value) ? value : "uz");

export class NotificationRenderer {
  constructor(
    private readonly translator: Translator = new Translator(),
    /** Russian and Cyrillic Uzbek are kept within this many UCS-2 parts (134 characters) where possible. */
    private readonly maxSmsSegments = 2,
  ) {}

  /** False for a template that exists in no language: sending it would show the citizen a key. */
  knows(source: MessageSource): boolean {
    return (
      this.translator.has(asLocale(source.locale), source.templateKey) || this.translator.has("uz", source.templateKey)
    );
  }

  /** The full text in the row's language: Telegram, and the API's view of a notification. */
  text(source: MessageSource): string {
    return this.translator.t(asLocale(source.locale), source.templateKey, source.params as Params);
  }

  /**
   * The SMS text: transliterated where the language allows, then fitted to `maxSmsSegments` by
   * shortening the longest descriptive parameter (a benefit name, a reason) with an ellipsis.
   * Protected parameters, such as the reference, are never cut; when nothing is left to shorten
   * the message goes out longer rather than losing them.
   */
  sms(source: MessageSource): SmsText {
    const locale = asLocale(source.locale);
    const params: Params = { ...((source.params as Params | null) ?? {}) };
    const render = () => measureSms(smsWording(locale, this.translator.t(locale, source.templateKey, params)));
    let out = render();
    for (let round = 0; round < 12 && out.segments > this.maxSmsSegments; round++) {
      const over = out.units - smsCapacity(out.encoding, this.maxSmsSegments);
      const longest = trimmable(locale, params).sort((a, b) => b.value.length - a.value.length)[0];
      if (!longest) break;
      // The ellipsis may become "..." in 7-bit text: leave room for it.
      const keep = Math.max(MIN_TRIMMED, longest.value.length - over - 3);
      params[longest.key] = `${longest.value.slice(0, keep).trimEnd()}…`;
      out = render();
    }
    return out;
  }
}

function trimmable(locale: Locale, params: Params): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const [key, param] of Object.entries(params)) {
    if (PROTECTED.test(key)) continue;
    // A value shortened in an earlier round may be shortened again.
    const value = plain(locale, param)?.replace(/…$/, "");
    if (value !== undefined && value.length > MIN_TRIMMED) out.push({ key, value });
  }
  return out;
}

function plain(locale: Locale, param: Param): string | undefined {
  if (typeof param === "string") return param;
  if (typeof param === "object" && param !== null && "names" in param) return param.names[locale];
  return undefined;
}
