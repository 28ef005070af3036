/**
 * The working-day calendar of Uzbekistan, pure: working days are Monday–Friday, less the public
 * holidays, plus the days the government transfers work to (usually a Saturday given for a bridge
 * day). Every deadline and every "days late" figure is counted on it, so the booking rule and the
 * accountability figures cannot disagree about what a working day is.
 *
 * Days are Tashkent calendar days, YYYY-MM-DD. Uzbekistan keeps UTC+5 all year (no daylight saving
 * since 1992), so a fixed offset is exact and needs no time-zone database.
 */

export type HolidayKind = "holiday" | "working_day";
export const HOLIDAY_KINDS: readonly HolidayKind[] = ["holiday", "working_day"];

export interface CalendarEntry {
  /** YYYY-MM-DD, a Tashkent calendar day. */
  date: string;
  /** holiday: a day off although Monday–Friday; working_day: a transferred working day (e.g. a Saturday). */
  kind: HolidayKind;
}

export type DeadlineUnit = "working_days" | "hours";
export const DEADLINE_UNITS: readonly DeadlineUnit[] = ["working_days", "hours"];

const TASHKENT_OFFSET_MS = 5 * 3600_000;
const DAY_MS = 86_400_000;
/**
 * Office hours counted by hour-based deadlines: 09:00–18:00 Tashkent on working days. A request
 * made on Friday evening with a four-hour deadline is due Monday 13:00, not Saturday morning.
 */
export const OFFICE_OPENS_HOUR = 9;
export const OFFICE_CLOSES_HOUR = 18;

/** Day number (days since 1970-01-01) of a YYYY-MM-DD day. */
const dayNumberOf = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const dayOfNumber = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
/** The Tashkent day number an instant falls on. */
const tashkentDayNumber = (at: Date) => Math.floor((at.getTime() + TASHKENT_OFFSET_MS) / DAY_MS);
/** The instant a Tashkent day number begins, plus `hours`. */
const instantOf = (dayNumber: number, hours = 0) =>
  new Date(dayNumber * DAY_MS + hours * 3600_000 - TASHKENT_OFFSET_MS);

/** The Tashkent calendar day (YYYY-MM-DD) of an instant. */
export const tashkentDate = (at: Date) => dayOfNumber(tashkentDayNumber(at));

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not). */
export function isCalendarDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const parsed = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(parsed) && new Date(parsed).toISOString().slice(0, 10) === value;
}

export class WorkingCalendar {
  private readonly exceptions: ReadonlyMap<number, HolidayKind>;

  constructor(entries: readonly CalendarEntry[] = []) {
    this.exceptions = new Map(entries.map((e) => [dayNumberOf(e.date), e.kind]));
  }

  private isWorkingDayNumber(n: number): boolean {
    const exception = this.exceptions.get(n);
    if (exception) return exception === "working_day";
    // Day 0 (1970-01-01) was a Thursday: (n + 3) % 7 is 0 on Mondays, 5 and 6 at the weekend.
    return (n + 3) % 7 < 5;
  }

  isWorkingDay(day: string): boolean {
    return this.isWorkingDayNumber(dayNumberOf(day));
  }

  /** The next `count` working days after the Tashkent day of `now` (the booking window). */
  nextWorkingDays(now: Date, count: number): string[] {
    const days: string[] = [];
    for (let n = tashkentDayNumber(now) + 1; days.length < count; n++) {
      if (this.isWorkingDayNumber(n)) days.push(dayOfNumber(n));
    }
    return days;
  }

  /**
   * A deadline of `count` working days from `from`: the end (midnight, Tashkent) of the count-th
   * working day after the day of `from`. The day it starts on is not counted, so a request made at
   * 17:59 does not lose a day. Zero: the end of the same day.
   */
  addWorkingDays(from: Date, count: number): Date {
    let n = tashkentDayNumber(from);
    for (let counted = 0; counted < count; ) {
      n += 1;
      if (this.isWorkingDayNumber(n)) counted += 1;
    }
    return instantOf(n + 1);
  }

  /**
   * The moment before which anything started has used up `count` working days by `now`: the
   * deadline only depends on the start's day, and a later start never has an earlier deadline, so
   * "late" is a plain `< dueBefore(...)` on the start — a filter the database can page and count.
   */
  startedLateBefore(count: number, now: Date): Date {
    let day = tashkentDayNumber(now);
    while (this.addWorkingDays(instantOf(day), count).getTime() > now.getTime()) day -= 1;
    return instantOf(day + 1);
  }

  /** A deadline of `hours` office hours from `from` (09:00–18:00 on working days). */
  addWorkingHours(from: Date, hours: number): Date {
    let remainingMs = hours * 3600_000;
    let n = tashkentDayNumber(from);
    let cursor = Math.max(from.getTime(), instantOf(n, OFFICE_OPENS_HOUR).getTime());
    for (;;) {
      const closes = instantOf(n, OFFICE_CLOSES_HOUR).getTime();
      if (this.isWorkingDayNumber(n) && cursor < closes) {
        if (cursor + remainingMs <= closes) return new Date(cursor + remainingMs);
        remainingMs -= closes - cursor;
      }
      n += 1;
      cursor = instantOf(n, OFFICE_OPENS_HOUR).getTime();
    }
  }

  /** A deadline of `amount` working days or office hours from `from`. */
  addDeadline(from: Date, amount: number, unit: DeadlineUnit): Date {
    return unit === "hours" ? this.addWorkingHours(from, amount) : this.addWorkingDays(from, amount);
  }

  /**
   * Working days late: the working days from the deadline to `now`, counting the day in progress
   * (a deadline at the end of Monday, looked at on Tuesday, is one day late). 0 when not late, or
   * when only a weekend or holiday has passed since.
   */
  workingDaysLate(deadline: Date, now: Date): number {
    if (now.getTime() <= deadline.getTime()) return 0;
    let late = 0;
    // A day-based deadline is a midnight, so the first day counted is the one it opens.
    for (let n = tashkentDayNumber(deadline); n <= tashkentDayNumber(now); n++)
      if (this.isWorkingDayNumber(n)) late += 1;
    return late;
  }

  /** Office hours late, rounded up to whole hours (0 when not late). */
  workingHoursLate(deadline: Date, now: Date): number {
    if (now.getTime() <= deadline.getTime()) return 0;
    let ms = 0;
    for (let n = tashkentDayNumber(deadline); n <= tashkentDayNumber(now); n++) {
      if (!this.isWorkingDayNumber(n)) continue;
      const start = Math.max(deadline.getTime(), instantOf(n, OFFICE_OPENS_HOUR).getTime());
      const end = Math.min(now.getTime(), instantOf(n, OFFICE_CLOSES_HOUR).getTime());
      if (end > start) ms += end - start;
    }
    return Math.ceil(ms / 3600_000);
  }

  /** How late, in the deadline's own unit. */
  lateBy(deadline: Date, now: Date, unit: DeadlineUnit): number {
    return unit === "hours" ? this.workingHoursLate(deadline, now) : this.workingDaysLate(deadline, now);
  }
}

/** Monday–Friday with no holidays: what the calendar is before any holiday is known. */
export const WEEKDAYS_ONLY = new WorkingCalendar();
