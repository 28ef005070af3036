import type { SqlExecutor } from "../db/adapters.js";
import { type PrismaClient, prismaSql, type Tx } from "../db/database.js";
import { DomainError } from "../domain/errors.js";
import { nextWorkingDays, SLOT_PARTS, type Slot, type SlotPart } from "../domain/slots.js";
import { UPCOMING_VISIT_STATUSES, type VisitStatus } from "../domain/statuses.js";
import type { Channel, Names } from "../engine/types.js";
import { notifyCitizen, notifyStaff } from "../notifications/outbox.js";
import { namesOf } from "./names.js";
import { withFreshReference } from "./references.js";

/** Half-day capacity when a mahalla has no social worker on record yet. */
export const DEFAULT_SLOT_CAPACITY = 4;
/** How many working days ahead a visit can be booked. */
export const BOOKING_DAYS = 5;

export interface VisitSummary {
  reference: string;
  status: VisitStatus;
  reason: Names;
  date: string;
  part: SlotPart;
  upcoming: boolean;
}

const reasonNames = { select: { nameUz: true, nameUzCyrl: true, nameRu: true } } as const;
const dayDate = (day: string) => new Date(`${day}T00:00:00Z`);

/**
 * Places taken per day and half-day among the given days, counted against the mahalla's worker
 * (the first active one serving it) or, without one, against the mahalla; with that capacity.
 * The same rule as worker() and bookedCount(), which book() checks inside its transaction: a
 * change to one is a change to both.
 */
const FREE_SLOTS_SQL = `
  with worker as (
    select s.id, s."dailyCapacity" from "Staff" s
      join "StaffMahalla" sm on sm."staffId" = s.id and sm."mahallaId" = $1
     where s.active and s.role = 'social_worker'
     order by s.id limit 1)
  select to_char(v."slotDate", 'YYYY-MM-DD') as day, v."slotPart" as part, count(*)::int as taken,
         (select "dailyCapacity" from worker) as capacity
    from "VisitRequest" v
   where v."slotDate" = any($2::date[]) and v.status <> 'cancelled'
     and (case when exists (select 1 from worker) then v."assignedStaffId" = (select id from worker)
               else v."mahallaId" = $1 and v."assignedStaffId" is null end)
   group by 1, 2
  union all
  select null, null, 0, (select "dailyCapacity" from worker)`;

export class VisitService {
  private readonly sql: SqlExecutor;

  constructor(
    private readonly prisma: PrismaClient,
    sql?: SqlExecutor,
  ) {
    this.sql = sql ?? prismaSql(prisma);
  }

  /** The social worker who takes a mahalla's visits: the first active one serving it. */
  private worker(db: Tx | PrismaClient, mahallaId: number) {
    return db.staff.findFirst({
      where: { active: true, role: "social_worker", mahallas: { some: { mahallaId } } },
      orderBy: { id: "asc" },
      select: { id: true, dailyCapacity: true },
    });
  }

  private async bookedCount(db: Tx | PrismaClient, mahallaId: number, staffId: number | null, slot: Slot) {
    return db.visitRequest.count({
      where: {
        slotDate: dayDate(slot.date),
        slotPart: slot.part,
        status: { not: "cancelled" },
        ...(staffId !== null ? { assignedStaffId: staffId } : { mahallaId, assignedStaffId: null }),
      },
    });
  }

  /** Slots in the coming working days that still have room with the mahalla's worker. */
  async freeSlots(mahallaId: number, now: Date): Promise<Slot[]> {
    const days = nextWorkingDays(now, BOOKING_DAYS);
    // One statement: the booking screen is on every visit request's path.
    const rows = await this.sql.query<{
      day: string | null;
      part: string | null;
      taken: number;
      capacity: number | null;
    }>(FREE_SLOTS_SQL, [mahallaId, days]);
    const capacity = rows[0]?.capacity ?? DEFAULT_SLOT_CAPACITY;
    const taken = new Map(rows.filter((r) => r.day !== null).map((r) => [`${r.day}:${r.part}`, Number(r.taken)]));
    return days.flatMap((date) =>
      SLOT_PARTS.filter((part) => (taken.get(`${date}:${part}`) ?? 0) < capacity).map((part) => ({ date, part })),
    );
  }

  async book(input: {
    citizenId: number;
    mahallaId: number;
    reasonId: number;
    slot: Slot;
    address: string | null;
    location: { latitude: number; longitude: number } | null;
    channel: Channel;
  }): Promise<string> {
    return withFreshReference("V", (reference) =>
      this.prisma.$transaction(async (tx) => {
        // One booking at a time per mahalla, so the last free place cannot be taken twice.
        await tx.$executeRaw`select pg_advisory_xact_lock(2, ${input.mahallaId})`;
        const worker = await this.worker(tx, input.mahallaId);
        const capacity = worker?.dailyCapacity ?? DEFAULT_SLOT_CAPACITY;
        if ((await this.bookedCount(tx, input.mahallaId, worker?.id ?? null, input.slot)) >= capacity) {
          throw new DomainError("SLOT_FULL", { key: "visit.slot_full" });
        }
        const visit = await tx.visitRequest.create({
          data: {
            reference,
            citizenId: input.citizenId,
            mahallaId: input.mahallaId,
            reasonId: input.reasonId,
            slotDate: dayDate(input.slot.date),
            slotPart: input.slot.part,
            address: input.address,
            latitude: input.location?.latitude ?? null,
            longitude: input.location?.longitude ?? null,
            status: "requested",
            assignedStaffId: worker?.id ?? null,
            channel: input.channel,
            history: { create: { toStatus: "requested", actor: "citizen" } },
          },
          include: { reason: reasonNames },
        });
        const params = {
          reference,
          reason: { names: namesOf(visit.reason) },
          date: { date: input.slot.date },
          part: { t: `visit.part.${input.slot.part}` },
        };
        if (worker) await notifyStaff(tx, worker.id, { templateKey: "notify.visit_requested_staff", params });
        await notifyCitizen(
          tx,
          input.citizenId,
          { templateKey: "notify.visit_booked", params },
          { preferSms: input.channel === "ussd" },
        );
        return reference;
      }),
    );
  }

  async listForCitizen(citizenId: number, now: Date, limit = 10): Promise<VisitSummary[]> {
    const today = dayDate(now.toISOString().slice(0, 10));
    const rows = await this.prisma.visitRequest.findMany({
      where: { citizenId },
      orderBy: [{ slotDate: "desc" }, { id: "desc" }],
      take: limit,
      include: { reason: reasonNames },
    });
    return rows.map((v) => ({
      reference: v.reference,
      status: v.status as VisitStatus,
      reason: namesOf(v.reason),
      date: v.slotDate.toISOString().slice(0, 10),
      part: v.slotPart as SlotPart,
      upcoming: UPCOMING_VISIT_STATUSES.includes(v.status as VisitStatus) && v.slotDate >= today,
    }));
  }

  /** The citizen cancels one of their own upcoming visits; the worker is told. */
  async cancelByCitizen(citizenId: number, reference: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const visit = await tx.visitRequest.findFirst({
        where: { citizenId, reference },
        include: { reason: reasonNames },
      });
      if (!visit || !UPCOMING_VISIT_STATUSES.includes(visit.status as VisitStatus)) {
        throw new DomainError("VISIT_NOT_CANCELLABLE", { key: "my_visits.not_cancellable" });
      }
      await tx.visitRequest.update({
        where: { id: visit.id },
        data: {
          status: "cancelled",
          history: { create: { fromStatus: visit.status, toStatus: "cancelled", actor: "citizen" } },
        },
      });
      if (visit.assignedStaffId !== null) {
        await notifyStaff(tx, visit.assignedStaffId, {
          templateKey: "notify.visit_cancelled_staff",
          params: {
            reference,
            reason: { names: namesOf(visit.reason) },
            date: { date: visit.slotDate.toISOString().slice(0, 10) },
            part: { t: `visit.part.${visit.slotPart}` },
          },
        });
      }
    });
  }
}
