import type { SqlDatabase } from "../db/adapters.js";
import { type PrismaClient, prismaSql } from "../db/database.js";
import { run } from "../db/sql/statement.js";
import { BOOK, BOOK_WITH_WORKER, BOOKING_FACTS } from "../db/sql/visit-request.js";
import { DomainError, NotFoundError } from "../domain/errors.js";
import type { Slot, SlotPart } from "../domain/slots.js";
import { UPCOMING_VISIT_STATUSES, type VisitStatus } from "../domain/statuses.js";
import type { Channel, Names } from "../domain/vocabulary.js";
import { notifyStaff, outboxRowParams, type Recipient } from "../notifications/outbox.js";
import { calendarFor } from "./calendar.js";
import { namesOf } from "./names.js";
import { withFreshReference } from "./references.js";
import { claimPlace, freeSlotsForMahalla, whenConnectionFree } from "./slot-capacity.js";

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
const recipient = (phone: string, chatId: string | null, locale: string | null): Recipient => ({
  phone,
  telegramChatId: chatId === null ? null : BigInt(chatId),
  locale,
});

export class VisitService {
  private readonly sql: SqlDatabase;

  constructor(
    private readonly prisma: PrismaClient,
    sql?: SqlDatabase,
  ) {
    this.sql = sql ?? prismaSql(prisma);
  }

  /** Slots in the coming working days that still have room with the mahalla's worker. */
  async freeSlots(mahallaId: number, now: Date): Promise<Slot[]> {
    // The working days of the calendar the database holds (holidays out, transferred days in).
    return freeSlotsForMahalla(this.sql, mahallaId, now, await calendarFor(this.prisma).calendar());
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
    return whenConnectionFree(() => this.bookOnce(input));
  }

  private bookOnce(input: Parameters<VisitService["book"]>[0]): Promise<string> {
    return withFreshReference("V", (reference) =>
      // Three statements whatever the outcome: who is told (and the worker), the half-day's lock
      // and count (claimPlace), then one statement writing the visit, its history and the notices.
      this.sql.transaction(async (tx) => {
        // The worker is chosen and the place claimed in this transaction, so the last free place of
        // a worker's half-day goes to one booking only, whichever of their mahallas it comes from.
        const [facts] = await run(tx, BOOKING_FACTS, [input.mahallaId, input.citizenId, input.reasonId]);
        if (!facts || facts.citizenPhone === null) throw new NotFoundError(`no citizen ${input.citizenId}`);
        if (facts.nameUz === null || facts.nameUzCyrl === null || facts.nameRu === null) {
          throw new NotFoundError(`no visit reason ${input.reasonId}`);
        }
        const pool = { staffId: facts.staffId, mahallaId: input.mahallaId };
        if (!(await claimPlace(tx, pool, input.slot))) {
          throw new DomainError("SLOT_FULL", { key: "visit.slot_full" });
        }
        const params = {
          reference,
          reason: { names: namesOf({ nameUz: facts.nameUz, nameUzCyrl: facts.nameUzCyrl, nameRu: facts.nameRu }) },
          date: { date: input.slot.date },
          part: { t: `visit.part.${input.slot.part}` },
        };
        const visit = [
          reference,
          input.citizenId,
          input.mahallaId,
          input.reasonId,
          input.slot.date,
          input.slot.part,
          input.address,
          input.location?.latitude ?? null,
          input.location?.longitude ?? null,
          pool.staffId,
          input.channel,
          new Date().toISOString(),
        ] as const;
        const citizenNotice = outboxRowParams(
          recipient(facts.citizenPhone, facts.citizenChatId, facts.citizenLocale),
          { citizenId: input.citizenId },
          { templateKey: "notify.visit_booked", params },
          input.channel === "ussd",
        );
        if (pool.staffId === null || facts.staffPhone === null) {
          await run(tx, BOOK, [...visit, ...citizenNotice]);
        } else {
          const staffNotice = outboxRowParams(
            recipient(facts.staffPhone, facts.staffChatId, facts.staffLocale),
            { staffId: pool.staffId },
            { templateKey: "notify.visit_requested_staff", params },
          );
          await run(tx, BOOK_WITH_WORKER, [...visit, ...staffNotice, ...citizenNotice]);
        }
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
      // Only if nobody changed the visit since it was read: a worker's "done" (or a reschedule)
      // committed meanwhile is not overwritten, and the citizen is told to look again.
      const cancelled = await tx.visitRequest.updateMany({
        where: { id: visit.id, status: visit.status, updatedAt: visit.updatedAt },
        data: { status: "cancelled" },
      });
      if (cancelled.count !== 1) throw new DomainError("VISIT_CHANGED", { key: "my_visits.changed" });
      await tx.visitStatusChange.create({
        data: { visitId: visit.id, fromStatus: visit.status, toStatus: "cancelled", actor: "citizen" },
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
