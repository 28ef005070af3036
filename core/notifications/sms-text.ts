// The GSM 03.38 helpers live with the USSD front end, which needed them first; SMS uses the same rules.

import type { Locale } from "../domain/vocabulary.js";
import { gsmLength, isGsm7, toGsm7 } from "../i18n/gsm.js";

export type SmsEncoding = "gsm7" | "ucs2";

export interface SmsText {
  text: string;
  encoding: SmsEncoding;
  /** Septets (7-bit) or UTF-16 code units (UCS-2), as the network counts them. */
  units: number;
  segments: number;
}

const SINGLE = { gsm7: 160, ucs2: 70 } as const;
/** A multipart SMS spends 7 septets / 3 characters of each part on the concatenation header. */
const PART = { gsm7: 153, ucs2: 67 } as const;

export function measureSms(text: string): SmsText {
  const encoding: SmsEncoding = isGsm7(text) ? "gsm7" : "ucs2";
  const units = encoding === "gsm7" ? gsmLength(text) : text.length;
  const segments = units <= SINGLE[encoding] ? 1 : Math.ceil(units / PART[encoding]);
  return { text, encoding, units, segments };
}

/** The most units `segments` parts can carry in this encoding. */
export function smsCapacity(encoding: SmsEncoding, segments: number): number {
  return segments <= 1 ? SINGLE[encoding] : segments * PART[encoding];
}

/**
 * The SMS wording of a rendered message. Uzbek Latin is transliterated to the 7-bit alphabet
 * (oʻ → o', gʻ → g', ʼ → '), so one SMS holds 160 characters instead of 70. Cyrillic (Uzbek or
 * Russian) cannot be written in 7 bits and goes as UCS-2 unchanged.
 */
export function smsWording(locale: Locale, text: string): string {
  return locale === "uz" ? toGsm7(text) : text.normalize("NFC");
}
