import { WEEKDAYS_ONLY, type WorkingCalendar } from "./calendar.js";

export type SlotPart = "morning" | "afternoon";
export const SLOT_PARTS: readonly SlotPart[] = ["morning", "afternoon"];

export interface Slot {
  /** YYYY-MM-DD, the calendar day in Tashkent. */
  date: string;
  part: SlotPart;
}

export const slotKey = (slot: Slot) => `${slot.date}:${slot.part}`;

export function parseSlotKey(key: string): Slot | null {
  const m = /^(\d{4}-\d{2}-\d{2}):(morning|afternoon)$/.exec(key);
  return m ? { date: m[1] as string, part: m[2] as SlotPart } : null;
}

/** ISO weekday 1 (Monday) … 7 (Sunday) of a YYYY-MM-DD day. */
export const weekday = (day: string) => ((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;

/**
 * The next `count` working days after today in Tashkent, on the working-day calendar (Monday to
 * Friday without holidays when none is given; the services pass the one loaded from the database).
 */
export function nextWorkingDays(now: Date, count: number, calendar: WorkingCalendar = WEEKDAYS_ONLY): string[] {
  return calendar.nextWorkingDays(now, count);
}
