import type { PrismaClient } from "../db/database.js";
import { OPEN_DATA_PAGE as APPEALS_PAGE } from "../db/sql/appeal.js";
import { OPEN_DATA_PAGE as APPLICATIONS_PAGE } from "../db/sql/application.js";
import { HOUSEHOLDS_BY_DISTRICT } from "../db/sql/mahalla.js";
import { runIn } from "../db/sql/statement.js";
import { OPEN_DATA_PAGE as VISITS_PAGE } from "../db/sql/visit-request.js";
import type { AppealRow, ApplicationRow, OpenDataStream, VisitRow } from "./types.js";

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

const toDate = (value: Date | string | null): Date | null =>
  value === null ? null : value instanceof Date ? value : new Date(value);

/** Reads the narrow rows the open data is computed from: no names, phones, PINFLs or references. */
export function prismaOpenDataSource(prisma: PrismaClient): OpenDataSource {
  return {
    async load() {
      const [regions, districts, households, benefitTypes, visitReasons] = await Promise.all([
        prisma.region.findMany({ orderBy: { code: "asc" } }),
        prisma.district.findMany({ orderBy: { code: "asc" } }),
        runIn(prisma, HOUSEHOLDS_BY_DISTRICT, []),
        prisma.benefitType.findMany(),
        prisma.visitReason.findMany(),
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
        }),
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
        benefitTypes: benefitTypes.map(category),
        visitReasons: visitReasons.map(category),
        applications,
        appeals,
        visits,
      };
    },
  };
}
