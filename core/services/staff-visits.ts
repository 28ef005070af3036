import { createHash } from "node:crypto";
import type { SqlExecutor } from "../db/adapters.js";
import { type PrismaClient, type Tx, txSql } from "../db/database.js";
import { BY_TELEGRAM, type StaffRow } from "../db/sql/staff.js";
import { run } from "../db/sql/statement.js";
import { DomainError, ForbiddenError, NotFoundError } from "../domain/errors.js";
import { type Slot, type SlotPart, slotKey } from "../domain/slots.js";
import type { VisitStatus } from "../domain/statuses.js";
import type { Locale, Names, Params } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import { tashkentDay } from "../i18n/format.js";
import { audit, notifyCitizen, notifyStaff } from "../notifications/outbox.js";
import { calendarFor } from "./calendar.js";
import type { DeadlineService, Lateness } from "./deadlines.js";
import { askFeedback } from "./feedback.js";
import { claimPlace, freeSlotsInPool, poolOfVisit } from "./slot-capacity.js";

/** Invite codes are one-time and expire after this many hours. */
export const INVITE_TTL_HOURS = 72;

export type StaffRole = "social_worker" | "district_admin";

export interface StaffMember {
  id: number;
  fullName: string;
  role: StaffRole;
  districtId: number;
  locale: Locale;
  active: boolean;
}

export type LinkResult =
  | { ok: true; staff: StaffMember }
  | { ok: false; reason: "invalid" | "used" | "expired" | "inactive" };

/** A visit request as staff see it: everything needed to go and help. */
export interface StaffVisit {
  reference: string;
  status: VisitStatus;
  citizen: { name: string | null; phone: string };
  reason: Names;
  mahalla: Names;
  date: string;
  part: SlotPart;
  address: string | null;
  location: { latitude: number; longitude: number } | null;
  assignedStaff: { id: number; fullName: string } | null;
  outcomeNote: string | null;
}

/** A visit past one of its deadlines, as `/today` shows it first (issue 15). */
export interface OverdueStaffVisit {
  reference: string;
  status: VisitStatus;
  mahalla: Names;
  /** Past its acceptance deadline (while not accepted), else past its visit deadline. */
  late: Lateness;
}

export type StaffVisitAction = "accept" | "reschedule" | "done" | "not_home" | "reassign" | "take";

/** Where each staff action may start from; anything else is refused with the visit's status. */
const ALLOWED_FROM: Record<StaffVisitAction, readonly VisitStatus[]> = {
  accept: ["requested"],
  reschedule: ["requested", "accepted", "rescheduled"],
  done: ["requested", "accepted", "rescheduled"],
  not_home: ["requested", "accepted", "rescheduled"],
  reassign: ["requested", "accepted", "rescheduled"],
  // An admin takes a request nobody accepted (escalation, issue 15).
  take: ["requested"],
};

/** What resolves a visit's open escalation (accepting or handing it on is the answer it waited for). */
const RESOLVES: Partial<Record<StaffVisitAction, string>> = {
  accept: "accepted",
  reassign: "reassigned",
  take: "taken",
};

export const OUTCOME_NOTE = { min: 3, max: 500 } as const;

/** The stored form of an invite code: the code itself is only ever shown once. */
/** Codes are shown in capitals but may be typed in any case. */
export const hashInviteCode = (code: string) => createHash("sha256").update(code.trim().toUpperCase()).digest("hex");

const staffSelect = { id: true, fullName: true, role: true, districtId: true, locale: true, active: true } as const;
/** A Staff row as the staff side knows the person (the bot reads the row with its update ledger). */
export const toMember = (row: StaffRow): StaffMember => ({
  ...row,
  role: row.role === "district_admin" ? "district_admin" : "social_worker",
  locale: isLocale(row.locale) ? row.locale : "uz",
});

const visitInclude = {
  citizen: { select: { fullName: true, phone: true } },
  reason: { select: { shortUz: true, shortUzCyrl: true, shortRu: true } },
  mahalla: { select: { districtId: true, nameUz: true, nameUzCyrl: true, nameRu: true } },
  assignedStaff: { select: { id: true, fullName: true } },
} as const;

type VisitRow = Awaited<ReturnType<typeof loadVisit>>;
function loadVisit(db: Tx | PrismaClient, reference: string) {
  return db.visitRequest.findUnique({ where: { reference }, include: visitInclude });
}

const day = (date: Date) => date.toISOString().slice(0, 10);
const dayDate = (d: string) => new Date(`${d}T00:00:00Z`);

function toStaffVisit(v: NonNullable<VisitRow>): StaffVisit {
  return {
    reference: v.reference,
    status: v.status as VisitStatus,
    citizen: { name: v.citizen.fullName, phone: v.citizen.phone },
    reason: { uz: v.reason.shortUz, "uz-Cyrl": v.reason.shortUzCyrl, ru: v.reason.shortRu },
    mahalla: { uz: v.mahalla.nameUz, "uz-Cyrl": v.mahalla.nameUzCyrl, ru: v.mahalla.nameRu },
    date: day(v.slotDate),
    part: v.slotPart as SlotPart,
    address: v.address,
    location: v.latitude !== null && v.longitude !== null ? { latitude: v.latitude, longitude: v.longitude } : null,
    assignedStaff: v.assignedStaff,
    outcomeNote: v.outcomeNote,
  };
}

const actor = (staff: StaffMember) => `staff:${staff.id}`;

/**
 * What mahalla staff do with visit requests: link their Telegram account, list their visits, and
 * accept, reschedule, complete or reassign them. Every action is authorised here, on the server,
 * whatever the channel sent; each change, its history row, its audit entry and the citizen's
 * notification are written in one transaction.
 */
export class StaffVisitService {
  private readonly clock: () => Date;

  private readonly sql: SqlExecutor;

  private readonly deadlines: DeadlineService | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    // Required: the SQL path is built once, with the rest of the core (app/core.ts).
    // `deadlines` (the core's) for the overdue visits `/today` lists first; none: none listed.
    options: { clock?: () => Date; sql: SqlExecutor; deadlines?: DeadlineService },
  ) {
    this.sql = options.sql;
    this.deadlines = options.deadlines;
    this.clock = options.clock ?? (() => new Date());
  }

  /** `/start <code>`: binds the Telegram account to the invited staff member, once. */
  async linkTelegram(code: string, telegram: { userId: bigint; chatId: bigint }): Promise<LinkResult> {
    const now = this.clock();
    return this.prisma.$transaction(async (tx) => {
      const invite = await tx.staffInvite.findUnique({
        where: { codeHash: hashInviteCode(code) },
        include: { staff: { select: staffSelect } },
      });
      if (!invite) return { ok: false, reason: "invalid" } as const;
      if (invite.usedAt) return { ok: false, reason: "used" } as const;
      if (invite.expiresAt <= now) return { ok: false, reason: "expired" } as const;
      if (!invite.staff.active) return { ok: false, reason: "inactive" } as const;
      // Claimed with a condition, so two simultaneous uses of one code cannot both succeed.
      const claimed = await tx.staffInvite.updateMany({
        where: { id: invite.id, usedAt: null },
        data: { usedAt: now },
      });
      if (claimed.count !== 1) return { ok: false, reason: "used" } as const;
      // One Telegram account belongs to one staff record: a relink moves it.
      await tx.staff.updateMany({
        where: { telegramUserId: telegram.userId, NOT: { id: invite.staffId } },
        data: { telegramUserId: null, telegramChatId: null },
      });
      const staff = await tx.staff.update({
        where: { id: invite.staffId },
        data: { telegramUserId: telegram.userId, telegramChatId: telegram.chatId },
        select: staffSelect,
      });
      const member = toMember(staff);
      await audit(tx, {
        actor: actor(member),
        action: "staff.telegram_linked",
        entity: "Staff",
        entityId: String(staff.id),
        after: { inviteId: invite.id },
      });
      return { ok: true, staff: member } as const;
    });
  }

  async findByTelegram(telegramUserId: bigint): Promise<StaffMember | null> {
    // Asked for every Telegram update (is this a worker's chat?): plain SQL.
    const [row] = await run(this.sql, BY_TELEGRAM, [telegramUserId.toString()]);
    return row?.active ? toMember(row) : null;
  }

  async findById(id: number): Promise<(StaffMember & { telegramChatId: bigint | null }) | null> {
    const row = await this.prisma.staff.findUnique({
      where: { id },
      select: { ...staffSelect, telegramChatId: true },
    });
    return row ? { ...toMember(row), telegramChatId: row.telegramChatId } : null;
  }

  /**
   * Today's or the coming week's visits: a worker's own mahallas (and visits assigned to them),
   * a district admin's whole district. Cancelled visits are left out.
   */
  async list(staff: StaffMember, range: "today" | "week"): Promise<StaffVisit[]> {
    const today = tashkentDay(this.clock());
    const last = new Date(dayDate(today).getTime() + (range === "today" ? 0 : 6) * 86_400_000);
    const rows = await this.prisma.visitRequest.findMany({
      where: {
        slotDate: { gte: dayDate(today), lte: last },
        status: { not: "cancelled" },
        ...(await this.scope(staff)),
      },
      orderBy: [{ slotDate: "asc" }, { slotPart: "desc" }, { id: "asc" }],
      take: 40,
      include: visitInclude,
    });
    return rows.map(toStaffVisit);
  }

  /**
   * Visits past a deadline that this staff member answers for: a worker's own (assigned, or in a
   * mahalla they serve), the admin's whole district; the latest first, at most `limit`.
   */
  async overdue(staff: StaffMember, limit = 10): Promise<OverdueStaffVisit[]> {
    if (!this.deadlines) return [];
    const district = await this.prisma.district.findUnique({ where: { id: staff.districtId }, select: { code: true } });
    if (!district) return [];
    const page = await this.deadlines.overdueVisits(this.clock(), { districtCode: district.code, limit: 500 });
    const served =
      staff.role === "district_admin"
        ? null
        : new Set(
            (
              await this.prisma.staffMahalla.findMany({
                where: { staffId: staff.id },
                select: { mahalla: { select: { code: true } } },
              })
            ).map((m) => m.mahalla.code),
          );
    return page.items
      .filter((v) => served === null || v.assignedStaff?.id === staff.id || served.has(v.mahalla.code))
      .slice(0, limit)
      .flatMap((v) => {
        const late = v.acceptanceLate ?? v.visitLate;
        return late ? [{ reference: v.reference, status: v.status, mahalla: v.mahalla.names, late }] : [];
      });
  }

  private async scope(staff: StaffMember) {
    if (staff.role === "district_admin") return { mahalla: { districtId: staff.districtId } };
    return { OR: [{ mahallaId: { in: await this.servedMahallas(staff.id) } }, { assignedStaffId: staff.id }] };
  }

  private async servedMahallas(staffId: number, db: Tx | PrismaClient = this.prisma): Promise<number[]> {
    const rows = await db.staffMahalla.findMany({ where: { staffId }, select: { mahallaId: true } });
    return rows.map((r) => r.mahallaId);
  }

  /** One visit, if this staff member may see it. */
  async get(staff: StaffMember, reference: string): Promise<StaffVisit> {
    return toStaffVisit(await this.authorised(this.prisma, staff, reference, "view"));
  }

  /**
   * The visit, when the staff member may act on it: a worker for the mahallas they serve (or a
   * visit assigned to them by their admin), a district admin for their district. A refusal is
   * written to the audit log before it is thrown, outside any transaction that would undo it.
   */
  private async authorised(db: Tx | PrismaClient, staff: StaffMember, reference: string, action: string) {
    const visit = await loadVisit(db, reference);
    if (!visit) throw new NotFoundError(`visit ${reference}`);
    const allowed =
      staff.active &&
      (staff.role === "district_admin"
        ? visit.mahalla.districtId === staff.districtId
        : visit.assignedStaffId === staff.id || (await this.servedMahallas(staff.id, db)).includes(visit.mahallaId));
    if (!allowed) {
      await this.refuse(staff, reference, action);
      throw new ForbiddenError(`staff ${staff.id} may not ${action} visit ${reference}`);
    }
    return visit;
  }

  async accept(staff: StaffMember, reference: string): Promise<StaffVisit> {
    const takesOver = (visit: NonNullable<VisitRow>) =>
      visit.assignedStaffId === null && staff.role === "social_worker";
    return this.act(
      staff,
      reference,
      "accept",
      (visit) => ({
        status: "accepted",
        // Accepting an unassigned request makes it the worker's own.
        ...(takesOver(visit) ? { assignedStaffId: staff.id } : {}),
      }),
      undefined,
      // ... and so it takes a place in the worker's diary, claimed like a booking's.
      (tx, visit) => (takesOver(visit) ? this.claimFor(tx, staff.id, visit) : Promise.resolve()),
    );
  }

  /** A place for the visit's half-day in another worker's diary, or a refusal saying it is full. */
  private async claimFor(tx: Tx, staffId: number, visit: NonNullable<VisitRow>): Promise<void> {
    const slot = { date: day(visit.slotDate), part: visit.slotPart as SlotPart };
    if (!(await claimPlace(txSql(tx), { staffId, mahallaId: visit.mahallaId }, slot))) {
      throw new DomainError("DIARY_FULL", { key: "staff.refused.diary_full" });
    }
  }

  async markDone(staff: StaffMember, reference: string, note: string): Promise<StaffVisit> {
    const trimmed = note.replace(/\s+/g, " ").trim();
    if (trimmed.length < OUTCOME_NOTE.min) {
      throw new DomainError("NOTE_TOO_SHORT", { key: "errors.text_too_short", params: { min: OUTCOME_NOTE.min } });
    }
    if (trimmed.length > OUTCOME_NOTE.max) {
      throw new DomainError("NOTE_TOO_LONG", { key: "errors.text_too_long", params: { max: OUTCOME_NOTE.max } });
    }
    return this.act(staff, reference, "done", () => ({ status: "done", outcomeNote: trimmed }), trimmed);
  }

  async markNotHome(staff: StaffMember, reference: string): Promise<StaffVisit> {
    return this.act(staff, reference, "not_home", () => ({ status: "not_home" }));
  }

  /**
   * Free half-day slots the visit could move to (its own slot excluded), counted in the diary it
   * stays in: its worker's, or its mahalla's while nobody is assigned.
   */
  async freeSlots(staff: StaffMember, reference: string): Promise<Slot[]> {
    const visit = await this.authorised(this.prisma, staff, reference, "view");
    const current = `${day(visit.slotDate)}:${visit.slotPart}`;
    const calendar = await calendarFor(this.prisma).calendar();
    return (await freeSlotsInPool(this.sql, poolOfVisit(visit), this.clock(), calendar)).filter(
      (s) => slotKey(s) !== current,
    );
  }

  async reschedule(staff: StaffMember, reference: string, slot: Slot): Promise<StaffVisit> {
    const offered = await this.freeSlots(staff, reference);
    if (!offered.some((s) => slotKey(s) === slotKey(slot))) {
      throw new DomainError("SLOT_UNAVAILABLE", { key: "staff.refused.slot_unavailable" });
    }
    return this.act(
      staff,
      reference,
      "reschedule",
      () => ({ status: "rescheduled", slotDate: dayDate(slot.date), slotPart: slot.part }),
      slotKey(slot),
      async (tx, visit) => {
        // The same claim as booking, on the diary the visit stays in, read in this transaction.
        if (!(await claimPlace(txSql(tx), poolOfVisit(visit), slot))) {
          throw new DomainError("SLOT_UNAVAILABLE", { key: "staff.refused.slot_unavailable" });
        }
      },
    );
  }

  /** Active social workers of the admin's district other than the one assigned. */
  async reassignCandidates(staff: StaffMember, reference: string): Promise<{ id: number; fullName: string }[]> {
    if (staff.role !== "district_admin") {
      await this.refuse(staff, reference, "reassign");
      throw new ForbiddenError(`staff ${staff.id} may not reassign visit ${reference}`);
    }
    const visit = await this.authorised(this.prisma, staff, reference, "reassign");
    return this.prisma.staff.findMany({
      where: {
        districtId: staff.districtId,
        role: "social_worker",
        active: true,
        ...(visit.assignedStaffId !== null ? { NOT: { id: visit.assignedStaffId } } : {}),
      },
      orderBy: { fullName: "asc" },
      select: { id: true, fullName: true },
    });
  }

  /**
   * A district admin hands the visit to another worker of the district, who is sent the request.
   * `escalated`: pressed on an escalation message, so only while that escalation is still open
   * (a stale button after another admin acted is refused, saying so).
   */
  async reassign(
    staff: StaffMember,
    reference: string,
    toStaffId: number,
    options: { escalated?: boolean } = {},
  ): Promise<StaffVisit> {
    const candidates = await this.reassignCandidates(staff, reference);
    // Said first, before the visit's status: a stale button's clearest answer is who answered it.
    if (options.escalated) await this.openEscalation(this.prisma, reference);
    if (!candidates.some((c) => c.id === toStaffId)) {
      throw new DomainError("WORKER_INVALID", { key: "staff.refused.worker_invalid" });
    }
    return this.act(
      staff,
      reference,
      "reassign",
      () => ({ assignedStaffId: toStaffId }),
      `staff:${toStaffId}`,
      async (tx, visit) => {
        if (options.escalated) await this.openEscalation(tx, visit.reference);
        await this.claimFor(tx, toStaffId, visit);
      },
    );
  }

  /**
   * A district admin takes an escalated request: it becomes theirs and accepted, the citizen is
   * told as for any acceptance. Only while its escalation is open and it is still not accepted.
   */
  async take(staff: StaffMember, reference: string): Promise<StaffVisit> {
    if (staff.role !== "district_admin") {
      await this.refuse(staff, reference, "take");
      throw new ForbiddenError(`staff ${staff.id} may not take visit ${reference}`);
    }
    await this.authorised(this.prisma, staff, reference, "take");
    await this.openEscalation(this.prisma, reference);
    return this.act(
      staff,
      reference,
      "take",
      () => ({ status: "accepted", assignedStaffId: staff.id }),
      undefined,
      (tx, visit) => this.openEscalation(tx, visit.reference),
    );
  }

  /** Refuses when the visit's escalation was already answered (by another admin, or the worker). */
  private async openEscalation(db: Tx | PrismaClient, reference: string): Promise<void> {
    const open = await db.escalation.findFirst({
      where: { visitRequest: { reference }, kind: "escalation" },
      select: { resolvedAt: true, resolvedBy: true, resolution: true },
    });
    if (open && open.resolvedAt === null) return;
    throw new DomainError("ESCALATION_RESOLVED", {
      key: "staff.refused.escalation_resolved",
      params: { resolution: { t: `staff.resolution.${open?.resolution ?? "none"}` } },
    });
  }

  /** Kept in the audit log on its own: no transaction around it may undo the record of a refusal. */
  private refuse(staff: StaffMember, reference: string, action: string) {
    return audit(this.prisma, {
      actor: actor(staff),
      action: "visit.action_refused",
      entity: "VisitRequest",
      entityId: reference,
      after: { action, reason: "forbidden" },
    });
  }

  /**
   * The common shape of a staff action: authorise, check the status allows it, change the visit
   * only if nobody changed it meanwhile, record history and audit, notify, all in one transaction.
   */
  private async act(
    staff: StaffMember,
    reference: string,
    action: StaffVisitAction,
    change: (visit: NonNullable<VisitRow>) => {
      status?: VisitStatus;
      outcomeNote?: string;
      slotDate?: Date;
      slotPart?: SlotPart;
      assignedStaffId?: number;
    },
    note?: string,
    guard?: (tx: Tx, visit: NonNullable<VisitRow>) => Promise<void>,
  ): Promise<StaffVisit> {
    // Authorisation first, outside the transaction, so a refusal's audit entry is kept.
    await this.authorised(this.prisma, staff, reference, action);
    return this.prisma.$transaction(async (tx) => {
      const visit = await loadVisit(tx, reference);
      if (!visit) throw new NotFoundError(`visit ${reference}`);
      const status = visit.status as VisitStatus;
      if (!ALLOWED_FROM[action].includes(status)) {
        throw new DomainError("VISIT_NOT_ACTIONABLE", {
          key: "staff.refused.not_actionable",
          params: { status: { t: `status.visit.${status}` } },
        });
      }
      if (guard) await guard(tx, visit);
      const data = change(visit);
      const updated = await tx.visitRequest.updateMany({
        where: { id: visit.id, status, updatedAt: visit.updatedAt },
        data,
      });
      if (updated.count !== 1) throw new DomainError("VISIT_CHANGED", { key: "staff.refused.changed" });
      const resolution = RESOLVES[action];
      if (resolution) {
        // Conditional on still being open: of two admins answering one escalation, one records it.
        await tx.escalation.updateMany({
          where: { visitRequestId: visit.id, kind: "escalation", resolvedAt: null },
          data: { resolvedAt: this.clock(), resolvedBy: actor(staff), resolution },
        });
      }
      const toStatus = data.status ?? status;
      await tx.visitStatusChange.create({
        data: { visitId: visit.id, fromStatus: status, toStatus, note: note ?? null, actor: actor(staff) },
      });
      const after = await loadVisit(tx, reference);
      if (!after) throw new NotFoundError(`visit ${reference}`);
      await audit(tx, {
        actor: actor(staff),
        action: `visit.${action}`,
        entity: "VisitRequest",
        entityId: reference,
        before: { status, slot: `${day(visit.slotDate)}:${visit.slotPart}`, assignedStaffId: visit.assignedStaffId },
        after: {
          status: toStatus,
          slot: `${day(after.slotDate)}:${after.slotPart}`,
          assignedStaffId: after.assignedStaffId,
          ...(data.outcomeNote ? { note: data.outcomeNote } : {}),
        },
      });
      await this.notify(tx, action, after);
      return toStaffVisit(after);
    });
  }

  private async notify(tx: Tx, action: StaffVisitAction, visit: NonNullable<VisitRow>): Promise<void> {
    const params: Params = {
      reference: visit.reference,
      date: { date: day(visit.slotDate) },
      part: { t: `visit.part.${visit.slotPart}` },
    };
    if (action === "reassign") {
      if (visit.assignedStaffId === null) return;
      // The new worker gets the same request card a fresh booking sends.
      await notifyStaff(tx, visit.assignedStaffId, {
        templateKey: "notify.visit_requested_staff",
        params: {
          ...params,
          reason: {
            names: { uz: visit.reason.shortUz, "uz-Cyrl": visit.reason.shortUzCyrl, ru: visit.reason.shortRu },
          },
        },
      });
      return;
    }
    const templateKey = {
      accept: "notify.visit_accepted",
      take: "notify.visit_accepted",
      reschedule: "notify.visit_rescheduled",
      done: "notify.visit_done",
      not_home: "notify.visit_not_home",
    }[action];
    // The citizen hears back where they booked: SMS for a USSD booking, Telegram when linked.
    await notifyCitizen(tx, visit.citizenId, { templateKey, params }, { preferSms: visit.channel === "ussd" });
    if (action === "done")
      await askFeedback(tx, { kind: "visit", id: visit.id }, { preferSms: visit.channel === "ussd" });
  }
}
