/**
 * PINFL (JShShIR): the 14-digit personal identification number. Digit 1 encodes century and sex
 * (1–6), digits 2–7 the birth date (DDMMYY), the last digit is a check digit: the sum of the first
 * 13 digits weighted 7, 3, 1, 7, 3, 1, … modulo 10.
 */
export type PinflProblem = "format" | "birth_date" | "checksum";

const WEIGHTS = [7, 3, 1];

export function pinflCheckDigit(first13: string): number {
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(first13[i]) * (WEIGHTS[i % 3] as number);
  return sum % 10;
}

export function validatePinfl(input: string): { ok: true; pinfl: string } | { ok: false; problem: PinflProblem } {
  const pinfl = input.replace(/\s/g, "");
  if (!/^[1-6]\d{13}$/.test(pinfl)) return { ok: false, problem: "format" };
  const century = [1800, 1800, 1900, 1900, 2000, 2000][Number(pinfl[0]) - 1] as number;
  const day = Number(pinfl.slice(1, 3));
  const month = Number(pinfl.slice(3, 5));
  const year = century + Number(pinfl.slice(5, 7));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { ok: false, problem: "birth_date" };
  }
  if (pinflCheckDigit(pinfl.slice(0, 13)) !== Number(pinfl[13])) return { ok: false, problem: "checksum" };
  return { ok: true, pinfl };
}

/** Builds a valid PINFL (for tests and demo data): birth date, sex and a 6-digit serial. */
export function makePinfl(birth: Date, female: boolean, serial: number): string {
  const y = birth.getUTCFullYear();
  const first = (y >= 2000 ? 5 : y >= 1900 ? 3 : 1) + (female ? 1 : 0);
  const dd = String(birth.getUTCDate()).padStart(2, "0");
  const mm = String(birth.getUTCMonth() + 1).padStart(2, "0");
  const yy = String(y % 100).padStart(2, "0");
  const first13 = `${first}${dd}${mm}${yy}${String(serial).padStart(6, "0")}`;
  return `${first13}${pinflCheckDigit(first13)}`;
}
