import { describe, expect, it } from "vitest";
import { formatUzPhone, normalizeUzPhone } from "../core/domain/phone.js";
import { makePinfl, validatePinfl } from "../core/domain/pinfl.js";
import { dammDigit, newReference, parseReference } from "../core/domain/reference.js";
import { nextWorkingDays } from "../core/domain/slots.js";
import { formatDate } from "../core/i18n/format.js";

describe("phone numbers", () => {
  it.each([
    ["+998 90 123-45-67", "+998901234567"],
    ["998901234567", "+998901234567"],
    ["00998901234567", "+998901234567"],
    ["90 123 45 67", "+998901234567"],
    ["(71) 200-00-00", "+998712000000"],
  ])("normalizes %s to E.164", (input, expected) => {
    expect(normalizeUzPhone(input)).toBe(expected);
  });

  it.each(["+7 916 123 45 67", "12345", "+998 00 123 45 67", "phone"])("refuses %s", (input) => {
    expect(normalizeUzPhone(input)).toBeNull();
  });

  it("formats for display", () => {
    expect(formatUzPhone("+998901234567")).toBe("+998 90 123 45 67");
  });
});

describe("PINFL", () => {
  it("accepts a well-formed number and names what is wrong with a bad one", () => {
    const good = makePinfl(new Date(Date.UTC(1990, 0, 31)), true, 123456);
    expect(good).toMatch(/^431019\d{8}$/);
    expect(validatePinfl(good)).toEqual({ ok: true, pinfl: good });
    expect(validatePinfl(`${good.slice(0, 13)}${(Number(good[13]) + 1) % 10}`)).toEqual({
      ok: false,
      problem: "checksum",
    });
    expect(validatePinfl("3310290123456" + "7")).toEqual({ ok: false, problem: "birth_date" });
    expect(validatePinfl("7310190123456")).toEqual({ ok: false, problem: "format" });
  });
});

describe("references", () => {
  it("are a kind letter and eight digits whose Damm check catches one wrong digit and one swap", () => {
    for (let i = 0; i < 200; i++) {
      const ref = newReference("A");
      expect(ref).toMatch(/^A-\d{4}-\d{4}$/);
      const digits = ref.replace(/\D/g, "");
      expect(dammDigit(digits)).toBe(0);
      const wrong = digits.slice(0, 3) + String((Number(digits[3]) + 1) % 10) + digits.slice(4);
      expect(parseReference(`A${wrong}`)).toBeNull();
      if (digits[2] !== digits[3]) {
        const swapped = digits.slice(0, 2) + digits[3] + digits[2] + digits.slice(4);
        expect(parseReference(`A${swapped}`)).toBeNull();
      }
    }
  });

  it("reads a reference however it is typed, also with a Cyrillic kind letter", () => {
    const ref = newReference("V");
    const digits = ref.replace(/\D/g, "");
    expect(parseReference(ref.toLowerCase())).toBe(ref);
    expect(parseReference(`${digits.slice(0, 4)} ${digits.slice(4)}`, "V")).toBe(ref);
    expect(parseReference(`В-${digits}`)).toBe(ref);
    expect(parseReference(digits)).toBeNull();
  });
});

describe("working days", () => {
  it("skips weekends and counts from the Tashkent date, not the UTC one", () => {
    // 19:30 UTC on Friday is already Saturday in Tashkent.
    expect(nextWorkingDays(new Date("2026-11-27T19:30:00Z"), 3)).toEqual(["2026-11-30", "2026-12-01", "2026-12-02"]);
    expect(nextWorkingDays(new Date("2026-11-25T06:00:00Z"), 2)).toEqual(["2026-11-26", "2026-11-27"]);
  });
});

describe("dates as citizens read them", () => {
  it("formats the calendar day in Tashkent exactly as the time-zone database does", () => {
    const intl = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Tashkent",
      day: "2-digit",
      month: "2-digit",
      year: "numeric",
    });
    // Around midnight Tashkent time (19:00 UTC), across years, and at random instants since 1992.
    const instants = [Date.UTC(2026, 11, 31, 18, 59, 59, 999), Date.UTC(2026, 11, 31, 19), Date.UTC(2028, 1, 28, 19)];
    let seed = 12_345;
    for (let i = 0; i < 2_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      instants.push(Date.UTC(1992, 0, 1) + (seed / 2 ** 31) * (Date.UTC(2060, 0, 1) - Date.UTC(1992, 0, 1)));
    }
    for (const ms of instants) {
      const parts = Object.fromEntries(intl.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
      expect(formatDate(new Date(ms))).toBe(`${parts.day}.${parts.month}.${parts.year}`);
    }
    expect(formatDate("2026-12-31T19:00:00Z")).toBe("01.01.2027");
  });
});
