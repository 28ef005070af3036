import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDataPlugin } from "../app/open/plugin.js";
import { WorkingCalendar } from "../core/domain/calendar.js";
import { ALL_TIME, districtUnit, NATIONAL, regionUnit, scopeId } from "../core/opendata/aggregate.js";
import { doneWithinThreeWorkingDays } from "../core/opendata/measures.js";
import { buildSnapshot } from "../core/opendata/publish.js";
import { histogramMedian } from "../core/opendata/quality.js";
import { prismaOpenDataSource } from "../core/opendata/source.js";
import type {
  ApplicationRow,
  Cell,
  EscalationRow,
  FeedbackRow,
  OpenDataInput,
  OpenDataStream,
  VisitRow,
} from "../core/opendata/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { generateOpenDataWorld, type OpenDataWorld } from "./support/open-data.js";

/*
 * The service-quality figures on a population built here by hand, with every expected share,
 * median and average worked out in the comments (none of it computed by the aggregation code).
 * Navruz (Friday 2025-03-21) is a holiday on the way of every deadline: the on-time groups are on
 * time only because it is counted out.
 */

const DAY = 86_400_000;
const NOW = new Date("2025-04-15T10:00:00+05:00"); // release cut: 2025-04-01, one month (2025-03)
const at = (day: string, time = "12:00") => new Date(`${day}T${time}:00+05:00`);
const names = (s: string) => ({ uz: s, "uz-Cyrl": s, ru: s });

let nextCitizen = 1;
const citizen = () => nextCitizen++;

const REGION_A = { id: 1, code: "1726", iso: "UZ-TK", names: names("Toshkent shahri") };
const D1 = {
  id: 11,
  code: "1726001",
  regionId: 1,
  names: names("Birinchi"),
  households: null,
  mahallas: 1,
  mahallasWithHouseholds: 0,
};
const D2 = {
  id: 12,
  code: "1726002",
  regionId: 1,
  names: names("Ikkinchi"),
  households: null,
  mahallas: 1,
  mahallasWithHouseholds: 0,
};

function application(districtId: number, status: string, submittedAt: Date, decidedAt: Date | null): ApplicationRow {
  return {
    citizenId: citizen(),
    districtId,
    benefitTypeId: 1,
    status,
    channel: "ussd",
    locale: "uz",
    submittedAt,
    decidedAt,
  };
}
function visit(districtId: number, status: string, acceptedAt: Date | null): VisitRow {
  return {
    citizenId: citizen(),
    districtId,
    reasonId: 1,
    status,
    channel: "telegram",
    locale: "ru",
    // Thursday: one working day to accept, and Friday is Navruz, so the deadline is the end of Monday 24th.
    createdAt: at("2025-03-20", "10:00"),
    doneAt: null,
    acceptedAt,
  };
}
const times = <T>(n: number, make: () => T): T[] => Array.from({ length: n }, make);

function population(): OpenDataInput {
  // Submitted Monday 10th, 10 working days: the deadline is the end of Tuesday 25th (the 24th without Navruz).
  const submitted = at("2025-03-10", "09:00");
  const applications: ApplicationRow[] = [
    // D1: 12 on time; late by 1 (26th), 2 (27th), 4 (31st: 26, 27, 28, 31) working days, 4 each;
    // one still undecided at the cut, 4 working days late by then; a withdrawal and one not yet due.
    ...times(12, () => application(D1.id, "approved", submitted, at("2025-03-25"))),
    ...times(4, () => application(D1.id, "rejected", submitted, at("2025-03-26"))),
    ...times(4, () => application(D1.id, "approved", submitted, at("2025-03-27"))),
    ...times(4, () => application(D1.id, "paid", submitted, at("2025-03-31"))),
    application(D1.id, "under_review", submitted, null),
    application(D1.id, "withdrawn", submitted, null),
    application(D1.id, "submitted", at("2025-03-28"), null),
    // After the cut: not in this release.
    application(D1.id, "approved", at("2025-04-02"), at("2025-04-03")),
    // D2: 20 on time, 12 late by 3 (28th).
    ...times(20, () => application(D2.id, "rejected", submitted, at("2025-03-25", "17:00"))),
    ...times(12, () => application(D2.id, "approved", submitted, at("2025-03-28"))),
  ];
  const visits: VisitRow[] = [
    // D1: 10 accepted Monday 24th (on time), 5 late by 1 (25th), 5 late by 2 (26th).
    ...times(10, () => visit(D1.id, "accepted", at("2025-03-24", "15:00"))),
    ...times(5, () => visit(D1.id, "accepted", at("2025-03-25", "10:00"))),
    ...times(5, () => visit(D1.id, "accepted", at("2025-03-26", "10:00"))),
    // D2: 15 on time, 10 late by 1, one never accepted (late by 5 at the cut: 25–28, 31), one cancelled unaccepted.
    ...times(15, () => visit(D2.id, "accepted", at("2025-03-24", "17:30"))),
    ...times(10, () => visit(D2.id, "accepted", at("2025-03-25", "09:30"))),
    visit(D2.id, "requested", null),
    visit(D2.id, "cancelled", null),
  ];
  const escalation = (districtId: number): EscalationRow => ({
    citizenId: citizen(),
    districtId,
    startedAt: at("2025-03-20"),
    sentAt: at("2025-03-25"),
  });
  const escalations = [...times(10, () => escalation(D1.id)), ...times(12, () => escalation(D2.id))];
  const rating = (
    districtId: number,
    subjectKind: "visit" | "decision",
    score: number,
    closed = false,
  ): FeedbackRow => ({
    citizenId: citizen(),
    districtId,
    startedAt: at("2025-03-12"),
    subjectKind,
    score,
    answeredAt: at("2025-03-27"),
    followUpStatus: score <= 2 ? (closed ? "closed" : "open") : "none",
    followUpClosedAt: closed ? at("2025-03-30") : null,
  });
  const feedback: FeedbackRow[] = [
    // D1 visits: 5×6, 4×2, 1×4 = 42 over 12 → 3.5; decisions: 5×4, 2×6 = 32 over 10 → 3.2.
    // Follow-ups: 4 + 6 = 10 opened, all 10 closed.
    ...times(6, () => rating(D1.id, "visit", 5)),
    ...times(2, () => rating(D1.id, "visit", 4)),
    ...times(4, () => rating(D1.id, "visit", 1, true)),
    ...times(4, () => rating(D1.id, "decision", 5)),
    ...times(6, () => rating(D1.id, "decision", 2, true)),
    // D2 visits: 4 × 15 → 4.0; decisions: 1 × 10 → 1.0; 10 follow-ups opened, none closed.
    ...times(15, () => rating(D2.id, "visit", 4)),
    ...times(10, () => rating(D2.id, "decision", 1)),
    // Answered after the cut: not in this release.
    { ...rating(D2.id, "visit", 5), answeredAt: at("2025-04-02") },
  ];
  return {
    regions: [REGION_A],
    districts: [D1, D2],
    benefitTypes: [{ id: 1, code: "LOW_INCOME", sortOrder: 1, names: names("B"), decisionWorkingDays: 10 }],
    visitReasons: [
      { id: 1, code: "HOME_CHECK", sortOrder: 1, names: names("V"), acceptance: { amount: 1, unit: "working_days" } },
    ],
    holidays: [{ date: "2025-03-21", kind: "holiday" }],
    applications,
    appeals: [],
    visits,
    escalations,
    feedback,
  };
}

const shown = (value: number): Cell => ({ value, suppressed: false });
const hidden: Cell = { value: null, suppressed: true };

describe("service-quality figures on a constructed population", () => {
  let input: OpenDataInput;
  let figures: (scope: string) => Record<string, Cell>;

  beforeAll(async () => {
    input = population();
    const snapshot = await buildSnapshot(input, NOW);
    figures = (scope) => snapshot.quality.get(scope) as Record<string, Cell>;
    expect(snapshot.months).toEqual(["2025-03"]);
    expect(snapshot.qualityAudit.narrowestInterval).toBeGreaterThanOrEqual(10);
  });

  it("gives each district its exact shares within deadline, median working days late and rating averages", () => {
    expect(figures(scopeId(districtUnit(D1.code), ALL_TIME))).toEqual({
      "decisions.shareWithinDeadline": shown(0.48), // 12 / (12 + 13)
      "decisions.medianWorkingDaysLate": shown(2), // 1×4, 2×4, 4×5: the 7th of 13
      "visits.shareAcceptedWithinDeadline": shown(0.5), // 10 / 20
      "visits.medianWorkingDaysLate": shown(1.5), // 1×5, 2×5
      "escalations.total": shown(10),
      "ratings.visits.count": shown(12),
      "ratings.visits.average": shown(3.5),
      "ratings.decisions.count": shown(10),
      "ratings.decisions.average": shown(3.2),
      "followUps.opened": shown(10),
      // D2 closed none (a zero behind nobody): D1's 10 would give it away beside the region's 10.
      "followUps.closed": hidden,
    });
    expect(figures(scopeId(districtUnit(D2.code), ALL_TIME))).toEqual({
      "decisions.shareWithinDeadline": shown(0.625), // 20 / 32
      "decisions.medianWorkingDaysLate": shown(3),
      "visits.shareAcceptedWithinDeadline": shown(0.577), // 15 / 26
      "visits.medianWorkingDaysLate": shown(1), // 1×10, 5: the 6th of 11
      "escalations.total": shown(12),
      "ratings.visits.count": shown(15),
      "ratings.visits.average": shown(4),
      "ratings.decisions.count": shown(10),
      "ratings.decisions.average": shown(1),
      "followUps.opened": shown(10),
      "followUps.closed": hidden,
    });
  });

  it("adds the districts up to the region, the region to the nation and the month to the whole period", () => {
    const region = {
      "decisions.shareWithinDeadline": shown(0.561), // 32 / 57
      "decisions.medianWorkingDaysLate": shown(3), // 1×4, 2×4, 3×12, 4×5: the 13th of 25
      "visits.shareAcceptedWithinDeadline": shown(0.543), // 25 / 46
      "visits.medianWorkingDaysLate": shown(1), // 1×15, 2×5, 5: the 11th of 21
      "escalations.total": shown(22),
      "ratings.visits.count": shown(27),
      "ratings.visits.average": shown(3.78), // 102 / 27
      "ratings.decisions.count": shown(20),
      "ratings.decisions.average": shown(2.1), // 42 / 20
      "followUps.opened": shown(20),
      "followUps.closed": shown(10),
    };
    for (const scope of [
      scopeId(regionUnit(REGION_A.code), ALL_TIME),
      scopeId(regionUnit(REGION_A.code), "2025-03"),
      scopeId(NATIONAL, ALL_TIME),
      scopeId(NATIONAL, "2025-03"),
    ]) {
      expect(figures(scope), scope).toEqual(region);
    }
  });

  it("counts working days on the calendar: without Navruz the on-time groups are late", async () => {
    const snapshot = await buildSnapshot({ ...population(), holidays: [] }, NOW);
    const d2 = snapshot.quality.get(scopeId(districtUnit(D2.code), ALL_TIME)) as Record<string, Cell>;
    // All 32 decisions of D2 are late then: the on-time count is a zero behind nobody, suppressed.
    expect(d2["decisions.shareWithinDeadline"]).toEqual(hidden);
    // 20 late by 1 (25th), 12 by 4 (25–28th): the 16th and 17th of 32 are both 1.
    expect(d2["decisions.medianWorkingDaysLate"]).toEqual(shown(1));
  });

  it("takes the median of a histogram of days late as of the list of values", () => {
    const list = [1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4];
    const histogram = new Map<number, number>();
    for (const v of list) histogram.set(v, (histogram.get(v) ?? 0) + 1);
    expect(histogramMedian(histogram)).toBe(2);
    histogram.set(7, 3); // 16 values: the 8th and 9th are 2 and 4
    expect(histogramMedian(histogram)).toBe(3);
    expect(
      histogramMedian(
        new Map([
          [1, 1],
          [2, 1],
        ]),
      ),
    ).toBe(1.5);
    expect(histogramMedian(new Map())).toBeUndefined();
  });

  it("counts the three-working-day visit rule of the other figures on the same calendar", () => {
    const calendar = new WorkingCalendar([{ date: "2025-03-21", kind: "holiday" }]);
    const requested = at("2025-03-19", "10:00"); // Wednesday: 20, (21 Navruz), 24, 25
    expect(doneWithinThreeWorkingDays(requested, at("2025-03-25", "23:59"), calendar)).toBe(true);
    expect(doneWithinThreeWorkingDays(requested, at("2025-03-25", "23:59"))).toBe(false);
    expect(doneWithinThreeWorkingDays(requested, at("2025-03-26", "00:00"), calendar)).toBe(false);
  });
});

describe("service-quality figures of few people", () => {
  it("suppresses every cell of a district under ten people, and whatever would give it away", async () => {
    const base = population();
    const regionB = { id: 2, code: "1703", iso: "UZ-AN", names: names("Andijon") };
    const b1 = { ...D1, id: 21, code: "1703001", regionId: 2, names: names("Kichik") };
    const small: OpenDataInput = {
      ...base,
      regions: [regionB, REGION_A],
      districts: [b1, D1, D2],
      applications: [
        ...base.applications,
        ...times(3, () => application(b1.id, "approved", at("2025-03-10"), at("2025-03-12"))),
      ],
      visits: [...base.visits, ...times(4, () => visit(b1.id, "accepted", at("2025-03-24")))],
      escalations: [
        ...(base.escalations ?? []),
        { citizenId: citizen(), districtId: b1.id, startedAt: at("2025-03-20"), sentAt: at("2025-03-25") },
      ],
      feedback: [
        ...(base.feedback ?? []),
        ...times(5, () => ({
          citizenId: citizen(),
          districtId: b1.id,
          startedAt: at("2025-03-12"),
          subjectKind: "visit" as const,
          score: 2,
          answeredAt: at("2025-03-27"),
          followUpStatus: "open",
          followUpClosedAt: null,
        })),
      ],
    };
    const snapshot = await buildSnapshot(small, NOW);
    const of = (scope: string) => snapshot.quality.get(scope) as Record<string, Cell>;
    for (const scope of [
      scopeId(districtUnit(b1.code), ALL_TIME),
      scopeId(regionUnit(regionB.code), ALL_TIME),
      scopeId(regionUnit(regionB.code), "2025-03"),
    ]) {
      for (const [measure, cell] of Object.entries(of(scope))) expect(cell, `${scope} ${measure}`).toEqual(hidden);
    }
    // Region B is the nation less region A: wherever both of those are published, so is B.
    for (const period of [ALL_TIME, "2025-03"]) {
      const nation = of(scopeId(NATIONAL, period));
      const a = of(scopeId(regionUnit(REGION_A.code), period));
      for (const measure of ["escalations.total", "ratings.visits.count", "followUps.opened"]) {
        expect(nation[measure]?.suppressed === false && a[measure]?.suppressed === false, measure).toBe(false);
      }
    }
    expect(snapshot.qualityAudit.narrowestInterval).toBeGreaterThanOrEqual(10);
    expect(snapshot.qualityAudit.suppressed).toBeGreaterThan(0);
  });
});

/** The constructed population, served page by page as the database source would. */
function streamOf(input: OpenDataInput): OpenDataStream {
  async function* one<T>(rows: T[]) {
    yield rows;
  }
  return {
    ...input,
    applications: one(input.applications),
    appeals: one(input.appeals),
    visits: one(input.visits),
    escalations: one(input.escalations ?? []),
    feedback: one(input.feedback ?? []),
  };
}

/** RFC 4180 as toCsv writes it (no field of this population needs quoting). */
const parseCsv = (text: string) =>
  text
    .trimEnd()
    .split("\r\n")
    .map((line) => line.split(","));

describe("GET /open/v1/service-quality", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    await app.register(openDataPlugin, {
      // The plugin reads only through the source here; the database client is never touched.
      prisma: undefined as never,
      clock: () => NOW,
      source: { load: async () => streamOf(population()) },
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it("answers the nation, each region with its months and districts, in the header's release", async () => {
    const res = await app.inject("/open/v1/service-quality");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      schemaVersion: 1,
      minPeople: 10,
      period: { from: "2025-03", to: "2025-03" },
      region: null,
    });
    expect(body.national.figures.decisions.shareWithinDeadline).toEqual(shown(0.561));
    expect(body.national.months).toEqual([{ month: "2025-03", figures: body.national.figures }]);
    expect(body.regions.map((r: { code: string }) => r.code)).toEqual(["1726"]);
    const d1 = body.regions[0].districts.find((d: { code: string }) => d.code === D1.code);
    expect(d1.figures.ratings.visits).toEqual({ count: shown(12), average: shown(3.5) });
    expect(d1.figures.followUps).toEqual({ opened: shown(10), closed: hidden });
    expect(res.headers["cache-control"]).toMatch(/^public, max-age=\d+$/);
  });

  it("serves the same figures as CSV, one row per unit, month and measure", async () => {
    const json = (await app.inject("/open/v1/service-quality")).json();
    const csv = await app.inject("/open/v1/service-quality?format=csv");
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    const [header, ...rows] = parseCsv(csv.body);
    expect(header).toEqual([
      "level",
      "region_code",
      "code",
      "name_uz",
      "name_uz_cyrl",
      "name_ru",
      "month",
      "measure",
      "unit",
      "value",
      "suppressed",
    ]);
    const cellOf = (figures: unknown, measure: string) =>
      measure.split(".").reduce((node, part) => (node as Record<string, unknown>)[part], figures) as Cell;
    const units = [
      { level: "national", code: "UZ", figures: json.national.figures, months: json.national.months },
      ...json.regions.flatMap(
        (r: { code: string; figures: unknown; months: unknown[]; districts: { code: string; figures: unknown }[] }) => [
          { level: "region", code: r.code, figures: r.figures, months: r.months },
          ...r.districts.map((d) => ({ level: "district", code: d.code, figures: d.figures, months: [] })),
        ],
      ),
    ];
    let compared = 0;
    for (const row of rows) {
      const [level, , code, , , , month, measure, , value, suppressed] = row as string[];
      const unit = units.find((u) => u.level === level && u.code === code);
      if (!unit) throw new Error(`no unit ${level} ${code} in the JSON`);
      const figures = month
        ? (unit.months as { month: string; figures: unknown }[]).find((m) => m.month === month)?.figures
        : unit.figures;
      const cell = cellOf(figures, measure as string);
      expect(
        { value: value === "" ? null : Number(value), suppressed: suppressed === "true" },
        `${code} ${month} ${measure}`,
      ).toEqual(cell);
      compared++;
    }
    // 11 measures × (nation: whole + 1 month, region: whole + 1 month, 2 districts).
    expect(compared).toBe(11 * 6);
  });

  it("filters to one region and leaves the nation out", async () => {
    const res = await app.inject("/open/v1/service-quality?region=1726");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.national).toBeNull();
    expect(body.region).toEqual({ code: "1726", iso: "UZ-TK", names: REGION_A.names });
    expect(body.regions).toHaveLength(1);
    const csv = parseCsv((await app.inject("/open/v1/service-quality?region=1726&format=csv")).body);
    expect(new Set(csv.slice(1).map((r) => r[1]))).toEqual(new Set(["1726"]));
  });

  it("refuses an unknown region code with 400 in the error catalogue's shape", async () => {
    const res = await app.inject("/open/v1/service-quality?region=9999");
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      statusCode: 400,
      code: "UNKNOWN_REGION",
      error: "Bad Request",
      message: "no region with code 9999",
    });
    expect((await app.inject("/open/v1/service-quality?region=abc")).statusCode).toBe(400);
    expect((await app.inject("/open/v1/service-quality?format=xml")).statusCode).toBe(400);
  });
});

describe("the service-quality rows as the database source reads them", () => {
  let db: TestDatabase;
  let world: OpenDataWorld;
  let stream: OpenDataStream;
  const drain = async <T>(pages: AsyncIterable<T[]> | undefined) => {
    const rows: T[] = [];
    for await (const page of pages ?? []) rows.push(...page);
    return rows;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    world = await generateOpenDataWorld(db.prisma, { citizens: [60, 40, 30, 0, 0, 0, 0], seed: 15 });
    const p = db.prisma;
    // The reference data seeds the fixed holidays; a transferred working day is added to them.
    await p.holiday.upsert({
      where: { date: new Date("2025-03-22T00:00:00Z") },
      create: { date: new Date("2025-03-22T00:00:00Z"), kind: "working_day" },
      update: { kind: "working_day" },
    });
    await p.benefitType.updateMany({ data: { decisionWorkingDays: 7 } });
    await p.visitReason.updateMany({ data: { acceptanceAmount: 4, acceptanceUnit: "hours" } });
    const visits = world.visits.slice(0, 12);
    const applications = world.applications.slice(0, 6);
    for (const v of visits) {
      await p.escalation.create({
        data: {
          kind: "escalation",
          subjectKind: "visit",
          subjectId: v.id,
          visitRequestId: v.id,
          deadlineAt: v.createdAt,
          sentAt: new Date(v.createdAt.getTime() + DAY),
        },
      });
      // A reminder is no escalation: not counted.
      await p.escalation.create({
        data: {
          kind: "reminder",
          subjectKind: "visit",
          subjectId: v.id,
          visitRequestId: v.id,
          deadlineAt: v.createdAt,
        },
      });
    }
    for (const a of applications) {
      await p.escalation.create({
        data: {
          kind: "escalation",
          subjectKind: "application",
          subjectId: a.id,
          applicationId: a.id,
          deadlineAt: a.submittedAt,
          sentAt: new Date(a.submittedAt.getTime() + DAY),
        },
      });
    }
    for (const [i, v] of visits.entries()) {
      await p.feedback.create({
        data: {
          citizenId: v.citizenId,
          subjectKind: "visit",
          subjectId: v.id,
          channel: "telegram",
          // The first four are asked but never answer: not counted.
          ...(i < 4 ? {} : { score: i % 5, answeredAt: new Date(v.createdAt.getTime() + 2 * DAY) }),
          followUpStatus: i >= 4 && i % 5 <= 2 ? "closed" : "none",
          followUpClosedAt: i >= 4 && i % 5 <= 2 ? new Date(v.createdAt.getTime() + 3 * DAY) : null,
        },
      });
    }
    for (const a of applications) {
      await p.feedback.create({
        data: {
          citizenId: a.citizenId,
          subjectKind: "decision",
          subjectId: a.id,
          channel: "sms",
          score: 5,
          answeredAt: new Date(a.submittedAt.getTime() + 5 * DAY),
        },
      });
    }
    stream = await prismaOpenDataSource(p).load();
  }, 120_000);
  afterAll(() => db?.close());

  it("reads the calendar and the deadlines the figures are counted on", async () => {
    const days = await db.prisma.holiday.findMany({ orderBy: { date: "asc" } });
    expect(days.length).toBeGreaterThan(1);
    expect(stream.holidays).toEqual(days.map((d) => ({ date: d.date.toISOString().slice(0, 10), kind: d.kind })));
    expect(stream.holidays).toContainEqual({ date: "2025-03-22", kind: "working_day" });
    expect(new Set(stream.benefitTypes.map((b) => b.decisionWorkingDays))).toEqual(new Set([7]));
    expect(new Set(stream.visitReasons.map((r) => JSON.stringify(r.acceptance)))).toEqual(
      new Set([JSON.stringify({ amount: 4, unit: "hours" })]),
    );
  });

  it("places each visit's acceptance, each escalation and each answered rating where its subject is", async () => {
    const mahallaDistrict = new Map(world.mahallas.map((m) => [m.id, m.districtId]));
    const citizenMahalla = new Map(world.citizens.map((c) => [c.id, c.mahallaId]));
    const visitRows = await drain(stream.visits);
    expect(visitRows).toHaveLength(world.visits.length);
    const byVisit = new Map(world.visits.map((v) => [v.id, v]));
    let accepted = 0;
    for (const v of world.visits) {
      const first = v.history.find((h) => ["accepted", "done", "not_home"].includes(h.toStatus));
      const row = visitRows.find((r) => r.createdAt.getTime() === v.createdAt.getTime() && r.citizenId === v.citizenId);
      expect(row?.acceptedAt ?? null).toEqual(first?.at ?? null);
      if (first) accepted++;
    }
    expect(accepted).toBeGreaterThan(0);

    const escalations = await drain(stream.escalations);
    const expectedEscalations = [
      ...world.visits.slice(0, 12).map((v) => ({
        citizenId: v.citizenId,
        districtId: mahallaDistrict.get(v.mahallaId),
        startedAt: v.createdAt,
        sentAt: new Date(v.createdAt.getTime() + DAY),
      })),
      ...world.applications.slice(0, 6).map((a) => ({
        citizenId: a.citizenId,
        districtId: mahallaDistrict.get(citizenMahalla.get(a.citizenId) as number) ?? null,
        startedAt: a.submittedAt,
        sentAt: new Date(a.submittedAt.getTime() + DAY),
      })),
    ];
    expect(escalations).toEqual(expectedEscalations);

    const feedback = await drain(stream.feedback);
    expect(feedback).toHaveLength(8 + 6);
    for (const f of feedback.filter((r) => r.subjectKind === "visit")) {
      const v = world.visits.find(
        (w) => w.citizenId === f.citizenId && w.createdAt.getTime() === f.startedAt.getTime(),
      );
      expect(v && byVisit.has(v.id)).toBe(true);
      expect(f.districtId).toBe(mahallaDistrict.get((v as { mahallaId: number }).mahallaId));
      expect(f.followUpStatus === "closed").toBe(f.score <= 2);
    }
    expect(feedback.filter((r) => r.subjectKind === "decision").map((r) => r.score)).toEqual([5, 5, 5, 5, 5, 5]);
  });
});
