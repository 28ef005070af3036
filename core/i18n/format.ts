import type { Locale } from "../engine/types.js";

export const DISPLAY_TIME_ZONE = "Asia/Tashkent";

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

const dateFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: DISPLAY_TIME_ZONE,
  day: "2-digit",
  month: "2-digit",
  year: "numeric",
});

/** dd.mm.yyyy in Tashkent time: the form used on Uzbek documents in every language. */
export function formatDate(value: string | Date): string {
  const date = typeof value === "string" ? new Date(value) : value;
  const parts = Object.fromEntries(dateFormat.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.day}.${parts.month}.${parts.year}`;
}

/** The calendar date in Tashkent as YYYY-MM-DD. */
export function tashkentDay(value: Date): string {
  const [d, m, y] = formatDate(value).split(".");
  return `${y}-${m}-${d}`;
}

/** i18next resolves plural forms with Intl rules; Uzbek Cyrillic uses the Uzbek rules. */
export const pluralLocale = (locale: Locale) => (locale === "uz-Cyrl" ? "uz" : locale);
