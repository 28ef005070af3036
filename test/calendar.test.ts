import { describe, expect, it } from "vitest";
import { isCalendarDay, WEEKDAYS_ONLY, WorkingCalendar } from "../core/domain/calendar.js";
import { nextWorkingDays } from "../core/domain/slots.js";
import { fixedHolidays } from "../core/reference/seed.js";

// December 2026: Tuesday the 8th is Constitution Day; say Saturday the 12th is a transferred working day.
const calendar = new WorkingCalendar([
  { date: "2026-12-08", kind: "holiday" },
  { date: "2026-12-12", kind: "working_day" },
]);
const tashkent = (local: string) => new Date(`${local}+05:00`);

describe("working-day calendar", () => {
  it("counts Monday–Friday, skips a holiday and counts a transferred Saturday", () => {
    expect(calendar.isWorkingDay("2026-12-07")).toBe(true);
    expect(calendar.isWorkingDay("2026-12-08")).toBe(false);
    expect(calendar.isWorkingDay("2026-12-12")).toBe(true);
    expect(calendar.isWorkingDay("2026-12-13")).toBe(false);
    expect(calendar.nextWorkingDays(tashkent("2026-12-07T10:00"), 5)).toEqual([
      "2026-12-09",
      "2026-12-10",
      "2026-12-11",
      "2026-12-12",
      "2026-12-14",
    ]);
  });

  it("books on the same calendar: nextWorkingDays without one is Monday–Friday, with one skips the holiday", () => {
    const monday = tashkent("2026-12-07T10:00");
    expect(nextWorkingDays(monday, 3)).toEqual(["2026-12-08", "2026-12-09", "2026-12-10"]);
    expect(nextWorkingDays(monday, 3, calendar)).toEqual(["2026-12-09", "2026-12-10", "2026-12-11"]);
  });

  it("takes the day in Tashkent: 23:30 UTC on Sunday is already Monday there", () => {
    expect(WEEKDAYS_ONLY.nextWorkingDays(new Date("2026-12-06T20:30:00Z"), 1)).toEqual(["2026-12-08"]);
  });

  it("puts a working-day deadline at the end of the n-th working day after the start day", () => {
    // Requested Monday 7th at 17:59: three working days are the 9th, 10th, 11th (the 8th is a holiday).
    expect(calendar.addWorkingDays(tashkent("2026-12-07T17:59"), 3)).toEqual(tashkent("2026-12-12T00:00"));
    // Friday 11th + 1: the transferred Saturday counts.
    expect(calendar.addWorkingDays(tashkent("2026-12-11T09:00"), 1)).toEqual(tashkent("2026-12-13T00:00"));
    expect(calendar.addWorkingDays(tashkent("2026-12-07T09:00"), 0)).toEqual(tashkent("2026-12-08T00:00"));
  });

  it("counts hour-based deadlines in office hours, over nights, weekends and holidays", () => {
    expect(calendar.addWorkingHours(tashkent("2026-12-07T10:00"), 4)).toEqual(tashkent("2026-12-07T14:00"));
    // Monday 16:00 + 4 h: 2 h on Monday, Tuesday is a holiday, 2 h on Wednesday.
    expect(calendar.addWorkingHours(tashkent("2026-12-07T16:00"), 4)).toEqual(tashkent("2026-12-09T11:00"));
    // Sunday night: the clock starts at 09:00 on the next working day.
    expect(calendar.addWorkingHours(tashkent("2026-12-13T23:00"), 2)).toEqual(tashkent("2026-12-14T11:00"));
    expect(calendar.addDeadline(tashkent("2026-12-07T07:00"), 9, "hours")).toEqual(tashkent("2026-12-07T18:00"));
  });

  it("says how late in working days, not counting the holiday in between", () => {
    const deadline = calendar.addWorkingDays(tashkent("2026-12-04T12:00"), 1); // end of Monday 7th
    expect(calendar.workingDaysLate(deadline, tashkent("2026-12-07T23:00"))).toBe(0);
    expect(calendar.workingDaysLate(deadline, tashkent("2026-12-08T12:00"))).toBe(0); // the holiday
    expect(calendar.workingDaysLate(deadline, tashkent("2026-12-09T08:00"))).toBe(1);
    expect(calendar.workingDaysLate(deadline, tashkent("2026-12-14T08:00"))).toBe(5); // 9, 10, 11, 12, 14
    expect(WEEKDAYS_ONLY.workingDaysLate(deadline, tashkent("2026-12-09T08:00"))).toBe(2);
  });

  it("says how late in office hours, rounded up", () => {
    const deadline = tashkent("2026-12-07T17:00");
    expect(calendar.workingHoursLate(deadline, tashkent("2026-12-07T16:00"))).toBe(0);
    expect(calendar.workingHoursLate(deadline, tashkent("2026-12-07T17:10"))).toBe(1);
    expect(calendar.lateBy(deadline, tashkent("2026-12-09T10:30"), "hours")).toBe(3); // 1 h Monday, 1.5 h Wednesday
  });

  it("accepts only real calendar days", () => {
    expect(isCalendarDay("2028-02-29")).toBe(true);
    expect(isCalendarDay("2026-02-29")).toBe(false);
    expect(isCalendarDay("2026-13-01")).toBe(false);
    expect(isCalendarDay("26-12-01")).toBe(false);
  });
});

describe("the bound on a start that makes it late", () => {
  it("is exactly where a start's working-day deadline passes, for every start across a holiday and a transfer", () => {
    const now = new Date("2026-12-15T10:00:00Z");
    for (const days of [1, 3, 10]) {
      const bound = calendar.startedLateBefore(days, now);
      // Every start in the 40 days around the bound, in six-hour steps: late exactly when before it.
      for (let t = bound.getTime() - 30 * 86_400_000; t < bound.getTime() + 10 * 86_400_000; t += 6 * 3_600_000) {
        const start = new Date(t);
        expect(calendar.addWorkingDays(start, days) <= now, `${days} days from ${start.toISOString()}`).toBe(
          t < bound.getTime(),
        );
      }
    }
  });
});

describe("fixed-date holidays (Labour Code, article 208)", () => {
  it("moves a holiday on a weekend to the next working day that is not itself a holiday", () => {
    const days = fixedHolidays(
      [
        { monthDay: "03-08", name: "8 mart" },
        { monthDay: "03-21", name: "Navro'z" },
      ],
      [2025, 2026],
    ).map((h) => h.date);
    // 2025: 8 March is a Saturday (Monday 10th off), 21 March a Friday; 2026: 8 March a Sunday, 21 a Saturday.
    expect(days).toEqual([
      "2025-03-08",
      "2025-03-10",
      "2025-03-21",
      "2026-03-08",
      "2026-03-09",
      "2026-03-21",
      "2026-03-23",
    ]);
  });
});
