import type { Prisma, PrismaClient, Tx } from "../db/database.js";
import { CLAIM } from "../db/sql/escalation.js";
import { runIn } from "../db/sql/statement.js";
import type { DeadlineUnit, WorkingCalendar } from "../domain/calendar.js";
import { InvalidInputError } from "../domain/errors.js";
import type { Names } from "../domain/vocabulary.js";
import { audit } from "../notifications/outbox.js";
import { type ApplicationItem, applicationInclude, applicationItem } from "./backoffice/applications.js";
import { type Page, type PageRequest, pageOf as pageQuery } from "./backoffice/paging.js";
import { type VisitItem, visitInclude, visitItem } from "./backoffice/visits.js";
import { calendarFor } from "./calendar.js";
import { namesOf } from "./names.js";

/** How many items of one kind one tick claims at most (the rest wait for the next tick). */
const CLAIM_BATCH = 500;

/** Statuses in which an application still waits for its decision. */
const UNDECIDED = ["submitted", "under_review"];
/** Statuses in which a visit is still to be made. */
const VISIT_OPEN = ["requested", "accepted", "rescheduled"];
/** How long before the acceptance deadline the worker is reminded (default). */
export const REMINDER_WINDOW_MS = 2 * 3600_000;

export type EscalationKind = "reminder" | "escalation" | "late_notice";
export type SubjectKind = "visit" | "application";

export interface VisitRule {
  acceptanceAmount: number;
  acceptanceUnit: DeadlineUnit;
  visitWorkingDays: number;
}

const unitOf = (value: string): DeadlineUnit => (value === "hours" ? "hours" : "working_days");
/** The end (midnight, Tashkent) of a booked day. */
const endOfDay = (slotDate: Date) => new Date(slotDate.getTime() + 86_400_000 - 5 * 3600_000);

/** When a visit request must be accepted and when made. Pure. */
export function visitDeadlines(
  calendar: WorkingCalendar,
  visit: { createdAt: Date; slotDate: Date },
  rule: VisitRule,
): { acceptBy: Date; visitBy: Date } {
  const acceptBy = calendar.addDeadline(visit.createdAt, rule.acceptanceAmount, rule.acceptanceUnit);
  // The citizen chose the day: a visit made on it is on time even if that is after the deadline.
  const byRule = calendar.addWorkingDays(visit.createdAt, rule.visitWorkingDays);
  const booked = endOfDay(visit.slotDate);
  return { acceptBy, visitBy: new Date(Math.max(booked.getTime(), byRule.getTime())) };
}

export interface Lateness {
  deadlineAt: Date;
  /** How late, in `unit`. */
  late: number;
  unit: DeadlineUnit;
}

export interface OverdueVisit extends VisitItem {
  /** Not accepted by its acceptance deadline (only while still `requested`). */
  acceptanceLate: Lateness | null;
  /** Not made by its visit deadline. */
  visitLate: Lateness | null;
}

export interface OverdueApplication extends ApplicationItem {
  late: Lateness;
}

/** An item this caller won the right to act on (send the reminder, the escalation, the notice). */
export interface Claimed {
  escalationId: number;
  kind: EscalationKind;
  subjectKind: SubjectKind;
  subjectId: number;
  reference: string;
  deadlineAt: Date;
}

interface Candidate {
  subjectKind: SubjectKind;
  subjectId: number;
  reference: string;
  deadlineAt: Date;
}

export interface ServiceDeadlines {
  benefitTypes: { code: string; names: Names; decisionWorkingDays: number }[];
  visitReasons: {
    code: string;
    names: Names;
    acceptance: { amount: number; unit: DeadlineUnit };
    visitWorkingDays: number;
  }[];
}

export interface ServiceDeadlinesChange {
  benefitTypes?: { code: string; decisionWorkingDays: number }[] | undefined;
  visitReasons?:
    | {
        code: string;
        acceptance?: { amount: number; unit: DeadlineUnit } | undefined;
        visitWorkingDays?: number | undefined;
      }[]
    | undefined;
}

/**
 * Deadlines of issue 15 on the working-day calendar: the agency's deadline settings, the overdue
 * lists, and the claim-once queues the escalation jobs read. What is pending is scanned in full
 * (open visit requests and undecided applications, a bounded set), and the deadline of each is
 * computed in one place (here), on the same calendar as the booking window.
 */
export class DeadlineService {
  constructor(private readonly prisma: PrismaClient) {}

  private calendar(): Promise<WorkingCalendar> {
    return calendarFor(this.prisma).calendar();
  }

  async serviceDeadlines(): Promise<ServiceDeadlines> {
    const [benefits, reasons] = await Promise.all([
      this.prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" } }),
      this.prisma.visitReason.findMany({ orderBy: { sortOrder: "asc" } }),
    ]);
    return {
      benefitTypes: benefits.map((b) => ({
        code: b.code,
        names: namesOf(b),
        decisionWorkingDays: b.decisionWorkingDays,
      })),
      visitReasons: reasons.map((r) => ({
        code: r.code,
        names: namesOf(r),
        acceptance: { amount: r.acceptanceAmount, unit: unitOf(r.acceptanceUnit) },
        visitWorkingDays: r.visitWorkingDays,
      })),
    };
  }

  /** Changes the deadlines named (others are kept), in one transaction with its audit rows. */
  async setServiceDeadlines(change: ServiceDeadlinesChange, actor: string): Promise<ServiceDeadlines> {
    await this.prisma.$transaction(async (tx) => {
      for (const b of change.benefitTypes ?? []) {
        const before = await tx.benefitType.findUnique({ where: { code: b.code } });
        if (!before) throw new InvalidInputError("UNKNOWN_BENEFIT_TYPE", `no benefit type ${b.code}`, "benefitTypes");
        await tx.benefitType.update({ where: { id: before.id }, data: { decisionWorkingDays: b.decisionWorkingDays } });
        await audit(tx, {
          actor,
          action: "service_deadline.set",
          entity: "BenefitType",
          entityId: before.code,
          before: { decisionWorkingDays: before.decisionWorkingDays },
          after: { decisionWorkingDays: b.decisionWorkingDays },
        });
      }
      for (const r of change.visitReasons ?? []) {
        const before = await tx.visitReason.findUnique({ where: { code: r.code } });
        if (!before) throw new InvalidInputError("UNKNOWN_VISIT_REASON", `no visit reason ${r.code}`, "visitReasons");
        const data = {
          ...(r.acceptance ? { acceptanceAmount: r.acceptance.amount, acceptanceUnit: r.acceptance.unit } : {}),
          ...(r.visitWorkingDays !== undefined ? { visitWorkingDays: r.visitWorkingDays } : {}),
        };
        await tx.visitReason.update({ where: { id: before.id }, data });
        await audit(tx, {
          actor,
          action: "service_deadline.set",
          entity: "VisitReason",
          entityId: before.code,
          before: {
            acceptanceAmount: before.acceptanceAmount,
            acceptanceUnit: before.acceptanceUnit,
            visitWorkingDays: before.visitWorkingDays,
          },
          after: data,
        });
      }
    });
    return this.serviceDeadlines();
  }

  /**
   * Undecided applications past their decision deadline, the longest-waiting first. The deadline
   * is exact per benefit type as a bound on the submission (WorkingCalendar.startedLateBefore), so
   * the database filters, pages and counts: a backlog of any size is never loaded whole.
   */
  async overdueApplications(
    now: Date,
    filter: { districtCode?: string | undefined } & PageRequest = {},
  ): Promise<Page<OverdueApplication>> {
    const calendar = await this.calendar();
    const where: Prisma.ApplicationWhereInput = {
      ...(await this.lateApplicationsWhere(this.prisma, calendar, now)),
      ...(filter.districtCode ? { citizen: { mahalla: { district: { code: filter.districtCode } } } } : {}),
    };
    return pageQuery(filter, {
      rows: (window) =>
        this.prisma.application.findMany({
          where,
          orderBy: [{ submittedAt: "asc" }, { id: "asc" }],
          ...window,
          include: {
            ...applicationInclude,
            benefitType: { select: { ...applicationInclude.benefitType.select, decisionWorkingDays: true } },
          },
        }),
      count: () => this.prisma.application.count({ where }),
      item: (a) => {
        const deadlineAt = calendar.addWorkingDays(a.submittedAt, a.benefitType.decisionWorkingDays);
        return {
          ...applicationItem(a),
          late: { deadlineAt, late: calendar.workingDaysLate(deadlineAt, now), unit: "working_days" as const },
        };
      },
    });
  }

  /** Undecided applications whose decision deadline has passed, per benefit type's own deadline. */
  private async lateApplicationsWhere(
    db: Tx | PrismaClient,
    calendar: WorkingCalendar,
    now: Date,
  ): Promise<Prisma.ApplicationWhereInput> {
    const types = await db.benefitType.findMany({ select: { id: true, decisionWorkingDays: true } });
    return {
      status: { in: UNDECIDED },
      OR: types.map((t) => ({
        benefitTypeId: t.id,
        submittedAt: { lt: calendar.startedLateBefore(t.decisionWorkingDays, now) },
      })),
    };
  }

  /** Visit requests not accepted by their acceptance deadline or not made by their visit deadline. */
  async overdueVisits(
    now: Date,
    filter: { districtCode?: string | undefined } & PageRequest = {},
  ): Promise<Page<OverdueVisit>> {
    const calendar = await this.calendar();
    const rows = await this.prisma.visitRequest.findMany({
      where: {
        status: { in: VISIT_OPEN },
        createdAt: { lte: now },
        ...(filter.districtCode ? { mahalla: { district: { code: filter.districtCode } } } : {}),
      },
      include: {
        ...visitInclude,
        reason: {
          select: {
            ...visitInclude.reason.select,
            acceptanceAmount: true,
            acceptanceUnit: true,
            visitWorkingDays: true,
          },
        },
      },
    });
    const late = rows
      .map((v) => {
        const unit = unitOf(v.reason.acceptanceUnit);
        const { acceptBy, visitBy } = visitDeadlines(calendar, v, {
          acceptanceAmount: v.reason.acceptanceAmount,
          acceptanceUnit: unit,
          visitWorkingDays: v.reason.visitWorkingDays,
        });
        const acceptanceLate =
          v.status === "requested" && acceptBy <= now
            ? { deadlineAt: acceptBy, late: calendar.lateBy(acceptBy, now, unit), unit }
            : null;
        const visitLate =
          visitBy <= now
            ? { deadlineAt: visitBy, late: calendar.workingDaysLate(visitBy, now), unit: "working_days" as const }
            : null;
        const first = [acceptanceLate, visitLate].flatMap((l) => (l ? [l.deadlineAt.getTime()] : []));
        return { v, acceptanceLate, visitLate, first: Math.min(...first) };
      })
      .filter((x) => x.acceptanceLate || x.visitLate)
      .sort((x, y) => x.first - y.first || x.v.id - y.v.id);
    return pageOf(filter, late, ({ v, acceptanceLate, visitLate }) => ({ ...visitItem(v), acceptanceLate, visitLate }));
  }

  /**
   * Visit requests still not accepted whose acceptance deadline falls within `windowMs` from now,
   * not reminded yet: claimed for this caller (see claim).
   */
  async claimReminders(now: Date, options: { windowMs?: number; tx?: Tx } = {}): Promise<Claimed[]> {
    const windowMs = options.windowMs ?? REMINDER_WINDOW_MS;
    const due = (await this.unacceptedVisits("reminder", now, options.tx)).filter(
      (c) => c.deadlineAt > now && c.deadlineAt.getTime() - windowMs <= now.getTime(),
    );
    return this.claim(options.tx ?? this.prisma, "reminder", due);
  }

  /** Visit requests still not accepted past their acceptance deadline, not escalated yet: claimed. */
  async claimEscalations(now: Date, options: { tx?: Tx } = {}): Promise<Claimed[]> {
    const due = (await this.unacceptedVisits("escalation", now, options.tx)).filter((c) => c.deadlineAt <= now);
    return this.claim(options.tx ?? this.prisma, "escalation", due);
  }

  /**
   * Applications past their decision deadline and visits past their visit deadline whose citizen
   * has not been told yet: claimed.
   */
  async claimLateNotices(now: Date, options: { tx?: Tx } = {}): Promise<Claimed[]> {
    const calendar = await this.calendar();
    // Read in the caller's transaction when given: the embedded database has one connection.
    const db = options.tx ?? this.prisma;
    // At most CLAIM_BATCH of each a tick, oldest first: a backlog (a first start on years of data)
    // is worked through tick by tick instead of being loaded, and notified, all at once.
    const applications = await db.application.findMany({
      where: {
        ...(await this.lateApplicationsWhere(db, calendar, now)),
        escalations: { none: { kind: "late_notice" } },
      },
      orderBy: [{ submittedAt: "asc" }, { id: "asc" }],
      take: CLAIM_BATCH,
      select: {
        id: true,
        reference: true,
        submittedAt: true,
        benefitType: { select: { decisionWorkingDays: true } },
      },
    });
    const visits = await db.visitRequest.findMany({
      where: { status: { in: VISIT_OPEN }, escalations: { none: { kind: "late_notice" } } },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: CLAIM_BATCH,
      select: { id: true, reference: true, createdAt: true, slotDate: true, reason: true },
    });
    const due: Candidate[] = [
      ...applications.map((a) => ({
        subjectKind: "application" as const,
        subjectId: a.id,
        reference: a.reference,
        deadlineAt: calendar.addWorkingDays(a.submittedAt, a.benefitType.decisionWorkingDays),
      })),
      ...visits.map((v) => ({
        subjectKind: "visit" as const,
        subjectId: v.id,
        reference: v.reference,
        deadlineAt: visitDeadlines(calendar, v, ruleOf(v.reason)).visitBy,
      })),
    ].filter((c) => c.deadlineAt <= now);
    return this.claim(db, "late_notice", due);
  }

  private async unacceptedVisits(kind: EscalationKind, now: Date, tx?: Tx): Promise<Candidate[]> {
    const calendar = await this.calendar();
    const rows = await (tx ?? this.prisma).visitRequest.findMany({
      where: { status: "requested", createdAt: { lte: now }, escalations: { none: { kind } } },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: CLAIM_BATCH,
      select: { id: true, reference: true, createdAt: true, slotDate: true, reason: true },
    });
    return rows.map((v) => ({
      subjectKind: "visit",
      subjectId: v.id,
      reference: v.reference,
      deadlineAt: visitDeadlines(calendar, v, ruleOf(v.reason)).acceptBy,
    }));
  }

  /**
   * Claim-once: one insert of every candidate, skipping those another caller has already inserted
   * (the unique key on subject and kind); it returns only the rows this statement created. Two
   * instances racing over the same items therefore split them, never share one. Run it in the
   * transaction that writes the messages (`tx`), and a message and its claim commit together.
   */
  private async claim(db: Tx | PrismaClient, kind: EscalationKind, items: Candidate[]): Promise<Claimed[]> {
    if (items.length === 0) return [];
    const rows = await runIn(db, CLAIM, [
      kind,
      items.map((i) => i.subjectKind),
      items.map((i) => i.subjectId),
      items.map((i) => i.deadlineAt.toISOString().replace("Z", "")),
    ]);
    const references = new Map(items.map((i) => [`${i.subjectKind}:${i.subjectId}`, i.reference]));
    return rows.map((r) => ({
      escalationId: r.id,
      kind,
      subjectKind: r.subjectKind as SubjectKind,
      subjectId: r.subjectId,
      reference: references.get(`${r.subjectKind}:${r.subjectId}`) as string,
      deadlineAt: r.deadlineAt,
    }));
  }
}

const ruleOf = (reason: { acceptanceAmount: number; acceptanceUnit: string; visitWorkingDays: number }): VisitRule => ({
  acceptanceAmount: reason.acceptanceAmount,
  acceptanceUnit: unitOf(reason.acceptanceUnit),
  visitWorkingDays: reason.visitWorkingDays,
});

function pageOf<T, U>(filter: PageRequest, all: T[], map: (item: T) => U): Page<U> {
  const limit = filter.limit ?? 50;
  const offset = filter.offset ?? 0;
  return { items: all.slice(offset, offset + limit).map(map), total: all.length, limit, offset };
}
