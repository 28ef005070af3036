/**
 * Uzbek phone numbers in E.164 (+998 and nine digits). Accepts what people and gateways send:
 * spaces, dashes, brackets, a leading 00 or 8, or the nine national digits alone.
 */
export function normalizeUzPhone(input: string): string | null {
  const digits = input
    .replace(/[\s\-().]/g, "")
    .replace(/^\+/, "")
    .replace(/^00/, "");
  if (!/^\d+$/.test(digits)) return null;
  let national: string;
  if (digits.length === 12 && digits.startsWith("998")) national = digits.slice(3);
  else if (digits.length === 9) national = digits;
  else if (digits.length === 10 && digits.startsWith("8")) national = digits.slice(1);
  else return null;
  // Operator / area codes start with 3–9 (mobile 33, 5x, 77, 88, 9x; landlines 6x, 7x).
  if (!/^[3-9]\d{8}$/.test(national)) return null;
  return `+998${national}`;
}

/** For display: +998 90 123 45 67. */
export function formatUzPhone(e164: string): string {
  const m = /^\+998(\d{2})(\d{3})(\d{2})(\d{2})$/.exec(e164);
  return m ? `+998 ${m[1]} ${m[2]} ${m[3]} ${m[4]}` : e164;
}
