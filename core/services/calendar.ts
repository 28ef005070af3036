import type { PrismaClient } from "../db/database.js";
import { type CalendarEntry, type HolidayKind, isCalendarDay, WorkingCalendar } from "../domain/calendar.js";
import { InvalidInputError } from "../domain/errors.js";
import { audit } from "../notifications/outbox.js";

const day = (d: Date) => d.toISOString().slice(0, 10);

export interface HolidayEntry extends CalendarEntry {
  name: string | null;
}

/**
 * The working-day calendar as the database holds it (the Holiday table). Read on every booking
 * screen and changed a few times a year, so it is cached like reference data; a change through
 * this service drops the cache at once, and other instances see it within the cache's minute.
 *
 * One cache per database client (calendarFor), so the booking services and the API of a process
 * share it and the API's invalidation reaches the booking screen immediately.
 */
export class CalendarService {
  private cached: { at: number; calendar: WorkingCalendar } | null = null;
  private loading: Promise<WorkingCalendar> | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = 60_000,
  ) {}

  async calendar(): Promise<WorkingCalendar> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.calendar;
    // Concurrent first readers share one query.
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<WorkingCalendar> {
    const calendar = new WorkingCalendar(await this.entries());
    this.cached = { at: Date.now(), calendar };
    return calendar;
  }

  invalidate(): void {
    this.cached = null;
  }

  async entries(range: { from?: string; to?: string } = {}): Promise<HolidayEntry[]> {
    const rows = await this.prisma.holiday.findMany({
      where: {
        date: {
          ...(range.from ? { gte: new Date(`${range.from}T00:00:00Z`) } : {}),
          ...(range.to ? { lte: new Date(`${range.to}T00:00:00Z`) } : {}),
        },
      },
      orderBy: { date: "asc" },
    });
    return rows.map((r) => ({ date: day(r.date), kind: r.kind as HolidayKind, name: r.name }));
  }

  /**
   * Sets days of the calendar (a movable holiday, a transferred working day, a correction): each
   * date is inserted or replaced, in one transaction with its audit row; `kind: null` removes a
   * date (it becomes an ordinary day again). Dates are checked as real calendar days.
   */
  async setEntries(
    changes: { date: string; kind: HolidayKind | null; name?: string | null }[],
    actor: string,
  ): Promise<HolidayEntry[]> {
    const bad = changes.filter((c) => !isCalendarDay(c.date)).map((c) => c.date);
    if (bad.length)
      throw new InvalidInputError("INVALID_DATE", `not a calendar day (YYYY-MM-DD): ${bad.join(", ")}`, "date");
    const dates = changes.map((c) => c.date);
    if (new Set(dates).size !== dates.length)
      throw new InvalidInputError("DUPLICATE_DATE", "a date is given more than once", "date");
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.holiday.findMany({
        where: { date: { in: dates.map((d) => new Date(`${d}T00:00:00Z`)) } },
      });
      for (const c of changes) {
        const date = new Date(`${c.date}T00:00:00Z`);
        if (c.kind === null) await tx.holiday.deleteMany({ where: { date } });
        else
          await tx.holiday.upsert({
            where: { date },
            create: { date, kind: c.kind, name: c.name ?? null },
            update: { kind: c.kind, ...(c.name !== undefined ? { name: c.name } : {}) },
          });
      }
      await audit(tx, {
        actor,
        action: "holidays.set",
        entity: "Holiday",
        before: before.map((b) => ({ date: day(b.date), kind: b.kind, name: b.name })),
        after: changes.map((c) => ({ date: c.date, kind: c.kind, name: c.name ?? null })),
      });
    });
    this.invalidate();
    return this.entries({ from: [...dates].sort()[0], to: [...dates].sort().at(-1) });
  }
}

const shared = new WeakMap<PrismaClient, CalendarService>();

/** The calendar service of this database client, shared by every service of the process. */
export function calendarFor(prisma: PrismaClient): CalendarService {
  let service = shared.get(prisma);
  if (!service) {
    service = new CalendarService(prisma);
    shared.set(prisma, service);
  }
  return service;
}
