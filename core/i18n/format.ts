import type { Locale } from "../domain/vocabulary.js";

/** Groups digits by three with plain spaces ("1 250 000"): readable on any phone, GSM-safe. */
export function groupDigits(value: bigint | number): string {
  const s = BigInt(value).toString();
  const negative = s.startsWith("-");
  const digits = negative ? s.slice(1) : s;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, " ");
  return negative ? `-${grouped}` : grouped;
}

/** Amount in so'm from tiyin, without the currency word: "1 250 000" or "1 250 000,50". */
export function formatSum(tiyin: bigint | number): string {
  const t = BigInt(tiyin);
  const whole = t / 100n;
  const fraction = (t < 0n ? -t : t) % 100n;
  return fraction === 0n ? groupDigits(whole) : `${groupDigits(whole)},${fraction.toString().padStart(2, "0")}`;
}

/**
 * Tashkent has kept UTC+5 without daylight saving since 1992, so its calendar date is plain
 * arithmetic; Intl's time-zone formatting cost more than the rest of a payments screen.
 */
const TASHKENT_OFFSET_MS = 5 * 3_600_000;

/** dd.mm.yyyy in Tashkent time: the form used on Uzbek documents in every language. */
export function formatDate(value: string | Date): string {
  const date = typeof value === "string" ? new Date(value) : value;
  const local = new Date(date.getTime() + TASHKENT_OFFSET_MS);
  const year = local.getUTCFullYear();
  // Years of four digits (every real one) without building the ISO string; others (and an
  // invalid date, which throws) as toISOString writes them.
  if (year >= 0 && year <= 9999) {
    return `${two(local.getUTCDate())}.${two(local.getUTCMonth() + 1)}.${String(year).padStart(4, "0")}`;
  }
  const [y, m, d] = local.toISOString().slice(0, 10).split("-");
  return `${d}.${m}.${y}`;
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** The calendar date in Tashkent as YYYY-MM-DD. */
export function tashkentDay(value: Date): string {
  const [d, m, y] = formatDate(value).split(".");
  return `${y}-${m}-${d}`;
}

/** i18next resolves plural forms with Intl rules; Uzbek Cyrillic uses the Uzbek rules. */
export const pluralLocale = (locale: Locale) => (locale === "uz-Cyrl" ? "uz" : locale);
