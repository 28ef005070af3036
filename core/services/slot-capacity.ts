import type { SqlExecutor } from "../db/adapters.js";
import { run } from "../db/sql/statement.js";
import { LOCK_SLOT, MAHALLA_PLACES, type PlacesRow, POOL_PLACES } from "../db/sql/visit-request.js";
import type { WorkingCalendar } from "../domain/calendar.js";
import { nextWorkingDays, SLOT_PARTS, type Slot, slotKey } from "../domain/slots.js";

/** Half-day capacity when a mahalla has no social worker on record yet. */
export const DEFAULT_SLOT_CAPACITY = 4;
/** How many working days ahead a visit can be booked. */
export const BOOKING_DAYS = 5;

/**
 * Whose half-day places a visit takes. A social worker has one diary whichever mahallas they
 * serve, so all visits assigned to them count together (capacity: their `dailyCapacity`); a visit
 * booked while its mahalla had no worker waits in that mahalla's unassigned pool (capacity:
 * DEFAULT_SLOT_CAPACITY). This module is the only place that counts places: the free-slot lists,
 * booking and rescheduling all go through it.
 */
export interface SlotPool {
  staffId: number | null;
  mahallaId: number;
}

/** The pool an existing visit's places are counted in: its worker's, or its mahalla's while unassigned. */
export const poolOfVisit = (visit: { assignedStaffId: number | null; mahallaId: number }): SlotPool => ({
  staffId: visit.assignedStaffId,
  mahallaId: visit.mahallaId,
});

/** What a pool has on some days: the rule "taken < capacity" lives here and nowhere else. */
class Places {
  readonly capacity: number;
  readonly staffId: number | null;
  private readonly taken: Map<string, number>;

  constructor(rows: PlacesRow[]) {
    // Every row carries the pool's capacity and worker.
    this.capacity = rows[0]?.capacity ?? DEFAULT_SLOT_CAPACITY;
    this.staffId = rows[0]?.staffId ?? null;
    this.taken = new Map(rows.filter((r) => r.day !== null).map((r) => [`${r.day}:${r.part}`, Number(r.taken)]));
  }

  hasRoom(slot: Slot): boolean {
    return (this.taken.get(slotKey(slot)) ?? 0) < this.capacity;
  }

  free(days: string[]): Slot[] {
    return days.flatMap((date) => SLOT_PARTS.map((part) => ({ date, part })).filter((s) => this.hasRoom(s)));
  }
}

/** Slots in the coming working days with room in the pool a new booking in this mahalla would join. */
export async function freeSlotsForMahalla(
  sql: SqlExecutor,
  mahallaId: number,
  now: Date,
  calendar: WorkingCalendar,
): Promise<Slot[]> {
  const days = nextWorkingDays(now, BOOKING_DAYS, calendar);
  // One statement: the booking screen is on every visit request's path.
  return new Places(await run(sql, MAHALLA_PLACES, [mahallaId, days])).free(days);
}

/** Slots in the coming working days with room in a known pool (where an existing visit may move). */
export async function freeSlotsInPool(
  sql: SqlExecutor,
  pool: SlotPool,
  now: Date,
  calendar: WorkingCalendar,
): Promise<Slot[]> {
  const days = nextWorkingDays(now, BOOKING_DAYS, calendar);
  return new Places(await run(sql, POOL_PLACES, [pool.mahallaId, days, pool.staffId])).free(days);
}

/**
 * Holds the pool's half-day for the rest of the transaction and says whether a place is left in it.
 * The lock is on exactly what is counted (the worker, or the unassigned mahalla, and the half-day),
 * so two transactions can never both see the last place free, whichever mahallas they book for;
 * a caller that gets `true` writes its visit in the same transaction, before the lock is released.
 * Only one such lock is taken per transaction, so they cannot deadlock. The key is a hash: a
 * collision only makes two unrelated half-days wait for each other.
 */
export async function claimPlace(tx: SqlExecutor, pool: SlotPool, slot: Slot): Promise<boolean> {
  const owner = pool.staffId !== null ? `staff:${pool.staffId}` : `mahalla:${pool.mahallaId}`;
  await run(tx, LOCK_SLOT, [`visit-slot:${owner}:${slotKey(slot)}`]);
  // Counted after the lock is held: read committed, this statement sees every earlier holder's visit.
  const rows = await run(tx, POOL_PLACES, [pool.mahallaId, [slot.date], pool.staffId]);
  return new Places(rows).hasRoom(slot);
}

/**
 * A booking that could not get a connection in time never began, so it may simply be tried again.
 * Bookings for one worker's half-day wait for each other by design (claimPlace); a burst for the
 * last places (everyone dials when a slot opens) queues longer than the pool's wait for a free
 * connection, and those callers should get their answer (booked, or taken) rather than an apology.
 */
export async function whenConnectionFree<T>(attempt: () => Promise<T>, tries = 4): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= tries || !neverStarted(err)) throw err;
    }
  }
}

/** Prisma's "could not start the transaction in time" (P2028) or the pg pool's connect timeout. */
function neverStarted(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : "";
  return (
    (e?.code === "P2028" && message.includes("Unable to start a transaction")) ||
    message.includes("timeout exceeded when trying to connect")
  );
}
