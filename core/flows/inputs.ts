import { validatePinfl } from "../domain/pinfl.js";
import type { Text } from "../domain/vocabulary.js";
import type { StepInput } from "../engine/flow.js";
import { text } from "../engine/flow.js";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: Text };

const fail = (key: string, params?: Record<string, string | number>): { ok: false; error: Text } => ({
  ok: false,
  error: text(key, params),
});

/**
 * Text as the database can store it: PostgreSQL refuses NUL (in text and JSON) and a lone UTF-16
 * surrogate (in JSON), so control characters become spaces and lone surrogates U+FFFD.
 */
export function storableText(value: string): string {
  return value
    .replace(/\p{Cc}/gu, " ")
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** Free text from a keypad or keyboard: trimmed, control characters removed, spaces collapsed. */
export function cleanText(value: string): string {
  return storableText(value).replace(/\s+/g, " ").trim();
}

export function textOf(input: StepInput): string | null {
  return input.type === "text" ? cleanText(input.value) : null;
}

export function parseInteger(input: StepInput, min: number, max: number): Parsed<number> {
  const raw = textOf(input);
  const digits = raw?.replace(/[\s.,]/g, "") ?? "";
  if (!/^\d{1,12}$/.test(digits)) return fail("errors.number_expected");
  const value = Number(digits);
  if (value < min || value > max) return fail("errors.number_range", { min, max });
  return { ok: true, value };
}

export function parsePinflInput(input: StepInput): Parsed<string> {
  const raw = textOf(input);
  if (raw === null) return fail("pinfl.invalid_format");
  const result = validatePinfl(raw);
  if (result.ok) return { ok: true, value: result.pinfl };
  return fail(`pinfl.invalid_${result.problem}`);
}

export function parseFreeText(input: StepInput, min: number, max: number): Parsed<string> {
  const raw = textOf(input);
  if (raw === null || raw.length < min) return fail("errors.text_too_short", { min });
  if (raw.length > max) return fail("errors.text_too_long", { max });
  return { ok: true, value: raw };
}

/** A day typed as DD.MM.YYYY (also with / - or spaces) → YYYY-MM-DD. */
export function parseDay(input: StepInput): Parsed<string> {
  const raw = textOf(input) ?? "";
  const m = /^(\d{1,2})[./\-\s*](\d{1,2})[./\-\s*](\d{4})$/.exec(raw);
  if (!m) return fail("errors.date_expected");
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return fail("errors.date_expected");
  }
  return { ok: true, value: date.toISOString().slice(0, 10) };
}

export const chosen = (input: StepInput): string | null => (input.type === "choose" ? input.key : null);
