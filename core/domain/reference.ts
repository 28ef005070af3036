import { randomInt } from "node:crypto";

/**
 * References citizens dictate over the phone and type on a keypad: a letter for the kind, then
 * eight digits, the last a Damm check digit, which catches every single wrong digit and every swap
 * of two neighbouring digits. Shown as "A-1234-5678"; typed in any form ("a12345678", "1234 5678").
 */
export type ReferenceKind = "A" | "V" | "P"; // application, visit, appeal (P for "petition")

const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

export function dammDigit(digits: string): number {
  let interim = 0;
  for (const ch of digits) interim = (DAMM[interim] as number[])[Number(ch)] as number;
  return interim;
}

export function newReference(kind: ReferenceKind): string {
  const body = String(randomInt(0, 10_000_000)).padStart(7, "0");
  const digits = `${body}${dammDigit(body)}`;
  return `${kind}-${digits.slice(0, 4)}-${digits.slice(4)}`;
}

/** Canonical form of a typed reference, or null when it cannot be one (wrong length or check digit). */
export function parseReference(input: string, defaultKind?: ReferenceKind): string | null {
  // A Cyrillic keyboard gives А/В/Р, which look exactly like the Latin kind letters.
  const cleaned = input
    .toUpperCase()
    .replace(/[\s\-_.*#]/g, "")
    .replace(/^[АВР]/, (c) => ({ А: "A", В: "V", Р: "P" })[c] ?? c);
  const m = /^([AVP])?(\d{8})$/.exec(cleaned);
  if (!m) return null;
  const kind = (m[1] as ReferenceKind | undefined) ?? defaultKind;
  const digits = m[2] as string;
  if (!kind || dammDigit(digits) !== 0) return null;
  return `${kind}-${digits.slice(0, 4)}-${digits.slice(4)}`;
}
