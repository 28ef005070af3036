import type { PrismaClient } from "../db/database.js";
import { OPEN_DATA_PAGE as APPEALS_PAGE } from "../db/sql/appeal.js";
import { OPEN_DATA_PAGE as APPLICATIONS_PAGE } from "../db/sql/application.js";
import { HOUSEHOLDS_BY_DISTRICT } from "../db/sql/mahalla.js";
import { runIn } from "../db/sql/statement.js";
import { OPEN_DATA_PAGE as VISITS_PAGE } from "../db/sql/visit-request.js";
import type { HolidayKind } from "../domain/calendar.js";
import type { AppealRow, ApplicationRow, EscalationRow, FeedbackRow, OpenDataStream, VisitRow } from "./types.js";

/** Where the aggregation gets its rows; a seam for tests that count or delay loads. */
export interface OpenDataSource {
  load(): Promise<OpenDataStream>;
}

/** Rows per query: bounds the memory of one page and how long aggregating it holds the event loop. */
const PAGE = 5_000;

/**
 * Yields the rows page by page in id order (keyset pagination), each page mapped as it arrives and
 * dropped once consumed: a register of millions is never held in memory at once.
 */
async function* paged<T extends { id: number }, R>(
  read: (afterId: number) => Promise<T[]>,
  map: (row: T) => R,
): AsyncGenerator<R[]> {
  let after = 0;
  for (;;) {
    const page = await read(after);
    if (page.length > 0) yield page.map(map);
    if (page.length < PAGE) return;
    after = (page[page.length - 1] as T).id;
  }
}

/** Drops the rows a page mapped to null (a subject gone missing). */
async function* compact<T>(pages: AsyncIterable<(T | null)[]>): AsyncGenerator<T[]> {
  for await (const page of pages) yield page.filter((row): row is T => row !== null);
}

const toDate = (value: Date | string | null): Date | null =>
  value === null ? null : value instanceof Date ? value : new Date(value);

/** Reads the narrow rows the open data is computed from: no names, phones, PINFLs or references. */
export function prismaOpenDataSource(prisma: PrismaClient): OpenDataSource {
  return {
    async load() {
      const [regions, districts, households, benefitTypes, visitReasons, holidays] = await Promise.all([
        prisma.region.findMany({ orderBy: { code: "asc" } }),
        prisma.district.findMany({ orderBy: { code: "asc" } }),
        runIn(prisma, HOUSEHOLDS_BY_DISTRICT, []),
        prisma.benefitType.findMany(),
        prisma.visitReason.findMany(),
        prisma.holiday.findMany({ orderBy: { date: "asc" } }),
      ]);
      const applications = paged(
        (after) => runIn(prisma, APPLICATIONS_PAGE, [after, PAGE]),
        (a): ApplicationRow => ({
          citizenId: a.citizenId,
          districtId: a.districtId,
          benefitTypeId: a.benefitTypeId,
          status: a.status,
          channel: a.channel,
          locale: a.locale,
          submittedAt: toDate(a.submittedAt) as Date,
          decidedAt: toDate(a.decidedAt),
        }),
      );
      const appeals = paged(
        (after) => runIn(prisma, APPEALS_PAGE, [after, PAGE]),
        (p): AppealRow => ({
          citizenId: p.citizenId,
          districtId: p.districtId,
          status: p.status,
          createdAt: toDate(p.createdAt) as Date,
        }),
      );
      const visits = paged(
        (after) => runIn(prisma, VISITS_PAGE, [after, PAGE]),
        (v): VisitRow => ({
          citizenId: v.citizenId,
          districtId: v.districtId,
          reasonId: v.reasonId,
          status: v.status,
          channel: v.channel,
          locale: v.locale,
          createdAt: toDate(v.createdAt) as Date,
          doneAt: toDate(v.doneAt),
          acceptedAt: toDate(v.acceptedAt),
        }),
      );
      const escalations = paged(
        (after) =>
          prisma.escalation.findMany({
            where: { id: { gt: after }, kind: "escalation" },
            orderBy: { id: "asc" },
            take: PAGE,
            select: {
              id: true,
              sentAt: true,
              visitRequest: { select: { citizenId: true, createdAt: true, mahalla: { select: { districtId: true } } } },
              application: {
                select: {
                  citizenId: true,
                  submittedAt: true,
                  citizen: { select: { mahalla: { select: { districtId: true } } } },
                },
              },
            },
          }),
        (e): EscalationRow | null => {
          const subject = e.visitRequest
            ? {
                citizenId: e.visitRequest.citizenId,
                districtId: e.visitRequest.mahalla.districtId,
                startedAt: e.visitRequest.createdAt,
              }
            : e.application
              ? {
                  citizenId: e.application.citizenId,
                  districtId: e.application.citizen.mahalla?.districtId ?? null,
                  startedAt: e.application.submittedAt,
                }
              : null;
          return subject && { ...subject, sentAt: e.sentAt };
        },
      );
      const feedback = paged(
        async (after) => {
          const rows = await prisma.feedback.findMany({
            where: { id: { gt: after }, score: { not: null }, answeredAt: { not: null } },
            orderBy: { id: "asc" },
            take: PAGE,
          });
          // The subject gives the place and month: the visit's mahalla, the applicant's mahalla.
          const ids = (kind: string) => rows.filter((f) => f.subjectKind === kind).map((f) => f.subjectId);
          const [visits, applications] = await Promise.all([
            prisma.visitRequest.findMany({
              where: { id: { in: ids("visit") } },
              select: { id: true, createdAt: true, mahalla: { select: { districtId: true } } },
            }),
            prisma.application.findMany({
              where: { id: { in: ids("decision") } },
              select: {
                id: true,
                submittedAt: true,
                citizen: { select: { mahalla: { select: { districtId: true } } } },
              },
            }),
          ]);
          const visitOf = new Map(
            visits.map((v) => [v.id, { startedAt: v.createdAt, districtId: v.mahalla.districtId }]),
          );
          const applicationOf = new Map(
            applications.map((a) => [
              a.id,
              { startedAt: a.submittedAt, districtId: a.citizen.mahalla?.districtId ?? null },
            ]),
          );
          return rows.map((f) => ({
            ...f,
            subject: (f.subjectKind === "visit" ? visitOf : applicationOf).get(f.subjectId),
          }));
        },
        (f): FeedbackRow | null =>
          f.subject &&
          f.score !== null &&
          f.answeredAt !== null &&
          (f.subjectKind === "visit" || f.subjectKind === "decision")
            ? {
                citizenId: f.citizenId,
                districtId: f.subject.districtId,
                startedAt: f.subject.startedAt,
                subjectKind: f.subjectKind,
                score: f.score,
                answeredAt: f.answeredAt,
                followUpStatus: f.followUpStatus,
                followUpClosedAt: f.followUpClosedAt,
              }
            : null,
      );
      const byDistrict = new Map(households.map((h) => [h.districtId, h]));
      const names = (r: { nameUz: string; nameUzCyrl: string; nameRu: string }) => ({
        uz: r.nameUz,
        "uz-Cyrl": r.nameUzCyrl,
        ru: r.nameRu,
      });
      const category = (r: {
        id: number;
        code: string;
        sortOrder: number;
        nameUz: string;
        nameUzCyrl: string;
        nameRu: string;
      }) => ({
        id: r.id,
        code: r.code,
        sortOrder: r.sortOrder,
        names: names(r),
      });
      const unit = (u: string) => (u === "hours" ? "hours" : "working_days");
      return {
        regions: regions.map((r) => ({ id: r.id, code: r.code, iso: r.iso, names: names(r) })),
        districts: districts.map((d) => {
          const h = byDistrict.get(d.id);
          const counted = Number(h?.counted ?? 0);
          return {
            id: d.id,
            code: d.code,
            regionId: d.regionId,
            names: names(d),
            households: counted > 0 && h?.households != null ? Number(h.households) : null,
            mahallas: Number(h?.mahallas ?? 0),
            mahallasWithHouseholds: counted,
          };
        }),
        benefitTypes: benefitTypes.map((b) => ({ ...category(b), decisionWorkingDays: b.decisionWorkingDays })),
        visitReasons: visitReasons.map((r) => ({
          ...category(r),
          acceptance: { amount: r.acceptanceAmount, unit: unit(r.acceptanceUnit) },
        })),
        holidays: holidays.map((h) => ({ date: h.date.toISOString().slice(0, 10), kind: h.kind as HolidayKind })),
        applications,
        appeals,
        visits,
        escalations: compact(escalations),
        feedback: compact(feedback),
      };
    },
  };
}
