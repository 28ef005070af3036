import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDataPlugin } from "../app/open/plugin.js";
import { prismaOpenDataSource } from "../core/opendata/source.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { generateOpenDataWorld, type OpenDataWorld } from "./support/open-data.js";

/*
 * The open data on a generated world, checked against figures computed here from the generated
 * records with plain loops — none of the aggregation code is used for the expectations.
 */

type Cell = { value: number | null; suppressed: boolean };
type Json = Record<string, unknown>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MIN_PEOPLE = 10;
const tashkent = (d: Date) => new Date(d.getTime() + 5 * HOUR).toISOString();
const monthOf = (d: Date) => tashkent(d).slice(0, 7);
const dayOf = (d: Date) => tashkent(d).slice(0, 10);
/** Days off on Monday–Friday and working Saturdays of the Holiday table (the reference data seeds some). */
let calendarDays = new Map<string, string>();
function thirdWorkingDayAfter(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  let counted = 0;
  while (counted < 3) {
    d.setUTCDate(d.getUTCDate() + 1);
    const kind = calendarDays.get(d.toISOString().slice(0, 10));
    if (kind ? kind === "working_day" : d.getUTCDay() !== 0 && d.getUTCDay() !== 6) counted++;
  }
  return d.toISOString().slice(0, 10);
}
function middle(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const rounded = (v: number, decimals: number) => Math.round(v * 10 ** decimals) / 10 ** decimals;

const APP_OUTCOME: Record<string, string> = {
  submitted: "pending",
  under_review: "pending",
  approved: "approved",
  paid: "approved",
  rejected: "rejected",
  withdrawn: "withdrawn",
};
const APPEAL_OUTCOME: Record<string, string> = {
  received: "pending",
  under_review: "pending",
  upheld: "upheld",
  dismissed: "dismissed",
};
const VISIT_OUTCOME: Record<string, string> = {
  requested: "open",
  accepted: "open",
  rescheduled: "open",
  done: "done",
  not_home: "not_home",
  cancelled: "cancelled",
};
const CHANNEL: Record<string, string> = { telegram: "telegram", ussd: "ussd", api: "other" };
const LANGUAGE = (l: string | null) => (l === "ru" || l === "uz-Cyrl" ? l : "uz");

interface Expected {
  counts: Map<string, { value: number; people: Set<number> }>;
  decisions: Map<string, { days: number[]; people: Set<number> }>;
  approvals: Map<string, { approved: number; decided: number; people: Set<number> }>;
  done: Map<string, { hours: number[]; within: number; people: Set<number> }>;
}

/** Where a release is cut: the start of the Tashkent month of `now` (the current month is not released). */
function releaseCutOf(now: Date): number {
  const local = new Date(now.getTime() + 5 * HOUR);
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) - 5 * HOUR;
}

/**
 * Expected figures keyed `unit|period|measure`; units are "UZ", region codes and district codes.
 * Only events before the release cut count.
 */
function expectedFigures(world: OpenDataWorld): Expected {
  const cut = releaseCutOf(world.now);
  const district = new Map(world.districts.map((d) => [d.id, d]));
  const regionCode = new Map(world.regions.map((r) => [r.id, r.code]));
  const mahallaDistrict = new Map(world.mahallas.map((m) => [m.id, district.get(m.districtId)]));
  const citizenMahalla = new Map(world.citizens.map((c) => [c.id, c.mahallaId]));
  const citizenLocale = new Map(world.citizens.map((c) => [c.id, c.locale]));
  const benefit = new Map(world.benefitTypes.map((b) => [b.id, b.code]));
  const reason = new Map(world.visitReasons.map((r) => [r.id, r.code]));
  const out: Expected = { counts: new Map(), decisions: new Map(), approvals: new Map(), done: new Map() };

  const placesOf = (mahallaId: number | null | undefined, month: string): string[] => {
    if (mahallaId === null || mahallaId === undefined) return [];
    const d = mahallaDistrict.get(mahallaId);
    if (!d) throw new Error("generated mahalla outside the generated districts");
    const r = regionCode.get(d.regionId) as string;
    return [`UZ|all`, `${r}|all`, `${d.code}|all`, `UZ|${month}`, `${r}|${month}`];
  };
  const count = (places: string[], measure: string, citizenId: number) => {
    for (const p of places) {
      const key = `${p}|${measure}`;
      const c = out.counts.get(key) ?? { value: 0, people: new Set<number>() };
      c.value++;
      c.people.add(citizenId);
      out.counts.set(key, c);
    }
  };

  for (const a of world.applications) {
    if (a.submittedAt.getTime() >= cut) continue;
    const places = placesOf(citizenMahalla.get(a.citizenId), monthOf(a.submittedAt));
    const outcome = APP_OUTCOME[a.status] as string;
    for (const m of [
      "applications.total",
      `applications.byBenefitType.${benefit.get(a.benefitTypeId)}`,
      `applications.byOutcome.${outcome}`,
      "requests.total",
      `requests.byChannel.${CHANNEL[a.channel]}`,
      `requests.byLanguage.${LANGUAGE(a.locale)}`,
    ]) {
      count(places, m, a.citizenId);
    }
    if (outcome === "approved" || outcome === "rejected") {
      for (const p of places) {
        const s = out.approvals.get(p) ?? { approved: 0, decided: 0, people: new Set<number>() };
        s.decided++;
        if (outcome === "approved") s.approved++;
        s.people.add(a.citizenId);
        out.approvals.set(p, s);
        if (a.decidedAt) {
          const d = out.decisions.get(p) ?? { days: [], people: new Set<number>() };
          d.days.push((a.decidedAt.getTime() - a.submittedAt.getTime()) / DAY);
          d.people.add(a.citizenId);
          out.decisions.set(p, d);
        }
      }
    }
  }
  for (const appeal of world.appeals) {
    if (appeal.createdAt.getTime() >= cut) continue;
    const places = placesOf(citizenMahalla.get(appeal.citizenId), monthOf(appeal.createdAt));
    count(places, "appeals.total", appeal.citizenId);
    count(places, `appeals.byOutcome.${APPEAL_OUTCOME[appeal.status]}`, appeal.citizenId);
  }
  for (const v of world.visits) {
    if (v.createdAt.getTime() >= cut) continue;
    const places = placesOf(v.mahallaId, monthOf(v.createdAt));
    for (const m of [
      "visits.total",
      `visits.byReason.${reason.get(v.reasonId)}`,
      `visits.byOutcome.${VISIT_OUTCOME[v.status]}`,
      "requests.total",
      `requests.byChannel.${CHANNEL[v.channel]}`,
      `requests.byLanguage.${LANGUAGE(citizenLocale.get(v.citizenId) ?? null)}`,
    ]) {
      count(places, m, v.citizenId);
    }
    const doneTimes = v.history.filter((h) => h.toStatus === "done").map((h) => h.at.getTime());
    if (v.status === "done" && doneTimes.length > 0) {
      const doneAt = new Date(Math.min(...doneTimes));
      for (const p of places) {
        const s = out.done.get(p) ?? { hours: [], within: 0, people: new Set<number>() };
        s.hours.push((doneAt.getTime() - v.createdAt.getTime()) / HOUR);
        if (dayOf(doneAt) <= thirdWorkingDayAfter(dayOf(v.createdAt))) s.within++;
        s.people.add(v.citizenId);
        out.done.set(p, s);
      }
    }
  }
  return out;
}

/** Leaves of a `figures` object as dotted keys. */
function flatten(node: Json, prefix = "", out = new Map<string, Cell>()): Map<string, Cell> {
  for (const [key, value] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const v = value as Json;
    if ("suppressed" in v) out.set(path, v as unknown as Cell);
    else flatten(v, path, out);
  }
  return out;
}

const STAT_KEYS = [
  "applications.approvalShare",
  "applications.medianDaysToDecision",
  "visits.medianHoursToDone",
  "visits.shareDoneWithin3WorkingDays",
];

describe("open data on a generated world", () => {
  let db: TestDatabase;
  let world: OpenDataWorld;
  let app: FastifyInstance;
  let expected: Expected;
  let loads = 0;
  let clockMs = 0;
  /** Every published figure, `unit|period|measure` → cell, gathered from all endpoints. */
  const published = new Map<string, Cell>();
  let regionsBody: Json;
  let monthsBody: Json;
  let demandBody: Json;
  const districtBodies = new Map<string, Json>();
  const regionMonths = new Map<string, Json>();
  /** Units of districts with no active mahalla and nothing counted, and of regions made only of them. */
  const emptyUnits = new Set<string>();
  const emptyArea = (key: string) => emptyUnits.has(key.split("|")[0] as string);

  const get = async (url: string) => {
    const res = await app.inject({ method: "GET", url });
    expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
    return res;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    world = await generateOpenDataWorld(db.prisma);
    clockMs = world.now.getTime();
    calendarDays = new Map(
      (await db.prisma.holiday.findMany()).map((h) => [h.date.toISOString().slice(0, 10), h.kind] as const),
    );
    expected = expectedFigures(world);
    const source = prismaOpenDataSource(db.prisma);
    app = Fastify();
    await app.register(openDataPlugin, {
      prisma: db.prisma,
      clock: () => new Date(clockMs),
      source: {
        load: async () => {
          loads++;
          return source.load();
        },
      },
    });
    regionsBody = (await get("/open/v1/regions")).json();
    monthsBody = (await get("/open/v1/months")).json();
    demandBody = (await get("/open/v1/demand-index")).json();
    const add = (unit: string, period: string, figures: Json) => {
      for (const [measure, cell] of flatten(figures)) published.set(`${unit}|${period}|${measure}`, cell);
    };
    add("UZ", "all", (regionsBody.national as Json).figures as Json);
    for (const m of monthsBody.months as Json[]) add("UZ", m.month as string, m.figures as Json);
    for (const r of regionsBody.regions as Json[]) {
      const code = r.code as string;
      add(code, "all", r.figures as Json);
      const districts = (await get(`/open/v1/regions/${code}/districts`)).json() as Json;
      districtBodies.set(code, districts);
      for (const d of districts.districts as Json[]) add(d.code as string, "all", d.figures as Json);
      const rows = districts.districts as Json[];
      const empty = rows.filter(
        (d) =>
          d.mahallas === 0 &&
          ![...expected.counts.keys()].some(
            (k) => k.startsWith(`${d.code as string}|`) && expected.counts.get(k)?.value,
          ),
      );
      for (const d of empty) emptyUnits.add(d.code as string);
      if (empty.length === rows.length) emptyUnits.add(code);
      const months = (await get(`/open/v1/months?region=${code}`)).json() as Json;
      regionMonths.set(code, months);
      for (const m of months.months as Json[]) add(code, m.month as string, m.figures as Json);
    }
    // The release is audited by a linear-programming solver: seconds on an idle machine, more on a busy one.
  }, 300_000);
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it("covers thousands of citizens, several districts and months, and every status", () => {
    expect(world.citizens.length).toBeGreaterThan(2500);
    expect(world.applications.length).toBeGreaterThan(3000);
    expect(world.visits.length).toBeGreaterThan(1000);
    expect(world.appeals.length).toBeGreaterThan(100);
    // Seven months of activity, of which the current one is not released yet.
    expect((monthsBody.months as Json[]).length).toBe(6);
    expect((monthsBody.months as Json[]).every((m) => m.partial === false)).toBe(true);
    expect(new Set(world.applications.map((a) => a.status)).size).toBe(6);
  });

  it("publishes each count it shows with the value computed here, and only behind at least 10 people", () => {
    let checked = 0;
    for (const [key, cell] of published) {
      const measure = key.split("|")[2] as string;
      if (STAT_KEYS.includes(measure)) continue;
      const e = expected.counts.get(key);
      if (!cell.suppressed) {
        expect(cell.value, key).toBe(e?.value ?? 0);
        if (!emptyArea(key)) {
          expect(e?.people.size ?? 0, key).toBeGreaterThanOrEqual(MIN_PEOPLE);
          checked++;
        }
      } else {
        expect(cell.value, key).toBeNull();
      }
      // Nothing computed here is missing from the published tables.
    }
    for (const key of expected.counts.keys()) expect(published.has(key), key).toBe(true);
    expect(checked).toBeGreaterThan(300);
  });

  it("suppresses every cell that counts fewer than 10 people, zero included, except in areas the register shows empty", () => {
    let small = 0;
    for (const [key, cell] of published) {
      const measure = key.split("|")[2] as string;
      if (STAT_KEYS.includes(measure)) continue;
      const people = expected.counts.get(key)?.people.size ?? 0;
      if (emptyArea(key)) {
        // Nobody can live in a district without a mahalla: its zeros are published as zeros.
        expect(cell, key).toEqual({ value: 0, suppressed: false });
        continue;
      }
      if (people < MIN_PEOPLE) {
        expect(cell, key).toEqual({ value: null, suppressed: true });
        small++;
      }
      if (cell.value !== null) expect(cell.value, key).toBeGreaterThanOrEqual(MIN_PEOPLE);
    }
    expect(small).toBeGreaterThan(50);
  });

  it("never leaves a suppressed cell alone in a group whose total and other parts are published", () => {
    const benefitCodes = world.benefitTypes.map((b) => b.code);
    const reasonCodes = world.visitReasons.map((r) => r.code);
    const partitions: [string, string[]][] = [
      ["applications.total", benefitCodes.map((c) => `applications.byBenefitType.${c}`)],
      [
        "applications.total",
        ["pending", "approved", "rejected", "withdrawn"].map((o) => `applications.byOutcome.${o}`),
      ],
      ["appeals.total", ["pending", "upheld", "dismissed"].map((o) => `appeals.byOutcome.${o}`)],
      ["visits.total", reasonCodes.map((c) => `visits.byReason.${c}`)],
      ["visits.total", ["open", "done", "not_home", "cancelled"].map((o) => `visits.byOutcome.${o}`)],
      ["requests.total", ["applications.total", "visits.total"]],
      ["requests.total", ["telegram", "ussd", "other"].map((c) => `requests.byChannel.${c}`)],
      ["requests.total", ["uz", "uz-Cyrl", "ru"].map((l) => `requests.byLanguage.${l}`)],
    ];
    const countMeasures = [...new Set(partitions.flatMap(([t, parts]) => [t, ...parts]))];
    const months = (monthsBody.months as Json[]).map((m) => m.month as string);
    const regions = (regionsBody.regions as Json[]).map((r) => r.code as string);
    const scopes = [
      "UZ|all",
      ...regions.map((r) => `${r}|all`),
      ...[...districtBodies.values()].flatMap((b) => (b.districts as Json[]).map((d) => `${d.code}|all`)),
      ...months.flatMap((m) => [`UZ|${m}`, ...regions.map((r) => `${r}|${m}`)]),
    ];
    const groups: string[][] = [];
    for (const scope of scopes) {
      for (const [total, parts] of partitions) groups.push([total, ...parts].map((m) => `${scope}|${m}`));
    }
    for (const m of countMeasures) {
      for (const period of ["all", ...months]) {
        groups.push([`UZ|${period}|${m}`, ...regions.map((r) => `${r}|${period}|${m}`)]);
      }
      for (const [region, body] of districtBodies) {
        groups.push([`${region}|all|${m}`, ...(body.districts as Json[]).map((d) => `${d.code}|all|${m}`)]);
      }
      for (const unit of ["UZ", ...regions])
        groups.push([`${unit}|all|${m}`, ...months.map((p) => `${unit}|${p}|${m}`)]);
    }
    const lonely: string[] = [];
    let protectedByComplement = 0;
    for (const group of groups) {
      const hidden = group.filter((id) => {
        const cell = published.get(id);
        if (!cell) throw new Error(`no published cell ${id}`);
        return cell.suppressed;
      });
      if (hidden.length === 1) lonely.push(hidden[0] as string);
    }
    for (const [key, cell] of published) {
      if (cell.suppressed && (expected.counts.get(key)?.people.size ?? 0) >= MIN_PEOPLE) protectedByComplement++;
    }
    expect(lonely).toEqual([]);
    expect(groups.length).toBeGreaterThan(2000);
    // Complementary suppression did real work on this data.
    expect(protectedByComplement).toBeGreaterThan(0);
  });

  it("publishes medians and shares computed here, and only over at least 10 people", () => {
    let shown = 0;
    for (const [key, cell] of published) {
      const [unit, period, measure] = key.split("|") as [string, string, string];
      if (!STAT_KEYS.includes(measure)) continue;
      const place = `${unit}|${period}`;
      let people = 0;
      let value: number | undefined;
      if (measure === "applications.approvalShare") {
        const s = expected.approvals.get(place);
        people = s?.people.size ?? 0;
        if (s) value = rounded(s.approved / s.decided, 3);
        const approved = published.get(`${place}|applications.byOutcome.approved`) as Cell;
        const rejected = published.get(`${place}|applications.byOutcome.rejected`) as Cell;
        if (approved.suppressed || rejected.suppressed) {
          expect(cell.suppressed, `${key} would reveal a hidden outcome count`).toBe(true);
        }
      } else if (measure === "applications.medianDaysToDecision") {
        const approved = published.get(`${place}|applications.byOutcome.approved`) as Cell;
        const rejected = published.get(`${place}|applications.byOutcome.rejected`) as Cell;
        if (approved.suppressed || rejected.suppressed)
          expect(cell.suppressed, `${key}: its counts are hidden`).toBe(true);
        const s = expected.decisions.get(place);
        people = s?.people.size ?? 0;
        if (s) value = rounded(middle(s.days), 1);
      } else {
        const done = published.get(`${place}|visits.byOutcome.done`) as Cell;
        if (done.suppressed) expect(cell.suppressed, `${key}: its count is hidden`).toBe(true);
        const s = expected.done.get(place);
        people = s?.people.size ?? 0;
        if (s && measure === "visits.medianHoursToDone") value = rounded(middle(s.hours), 1);
        if (s && measure === "visits.shareDoneWithin3WorkingDays") value = rounded(s.within / s.hours.length, 3);
      }
      if (people < MIN_PEOPLE) expect(cell, key).toEqual({ value: null, suppressed: true });
      if (!cell.suppressed) {
        expect(cell.value, key).toBe(value);
        shown++;
      } else {
        expect(cell.value, key).toBeNull();
      }
    }
    expect(shown).toBeGreaterThan(20);
    // Every published on-time share is a proper fraction of its visits (the working-day rule itself
    // is pinned in open-rules.test.ts); on this world the audit may hide all of them.
    for (const [key, cell] of published) {
      if (key.endsWith("|visits.shareDoneWithin3WorkingDays") && !cell.suppressed) {
        expect(cell.value as number, key).toBeGreaterThanOrEqual(0);
        expect(cell.value as number, key).toBeLessThanOrEqual(1);
      }
    }
  });

  it("computes the demand index from households, published counts and the national median", () => {
    const households = new Map<number, { sum: number; counted: number; active: number }>();
    for (const m of world.mahallas) {
      if (!m.active) continue;
      const h = households.get(m.districtId) ?? { sum: 0, counted: 0, active: 0 };
      h.active++;
      if (m.households !== null) {
        h.sum += m.households;
        h.counted++;
      }
      households.set(m.districtId, h);
    }
    const districtIdByCode = new Map(world.districts.map((d) => [d.code, d.id]));
    const rows = demandBody.districts as Json[];
    const categories = (demandBody.categories as Json[]).map((c) => c.key as string);
    expect(categories.slice(0, 3)).toEqual(["requests.total", "applications.total", "visits.total"]);
    expect(categories).toHaveLength(3 + world.benefitTypes.length + world.visitReasons.length);
    const hhOf = (code: string) => {
      const id = districtIdByCode.get(code);
      const h = id === undefined ? undefined : households.get(id);
      return h && h.counted > 0 ? h.sum : null;
    };
    let indexed = 0;
    for (const category of categories) {
      const rates: number[] = [];
      for (const row of rows) {
        const hh = hhOf(row.code as string);
        const cell = published.get(`${row.code}|all|${category}`) as Cell;
        if (hh !== null && !cell.suppressed) {
          rates.push(((expected.counts.get(`${row.code}|all|${category}`)?.value ?? 0) / hh) * 1000);
        }
      }
      const medianRate = rates.length > 0 ? middle(rates) : null;
      const meta = (demandBody.categories as Json[]).find((c) => c.key === category) as Json;
      expect(meta.districtsInMedian, category).toBe(rates.length);
      expect(meta.medianRatePer1000Households, category).toBe(medianRate === null ? null : rounded(medianRate, 4));
      for (const row of rows) {
        const entry = (row.index as Json)[category] as Json;
        const hh = hhOf(row.code as string);
        const cell = published.get(`${row.code}|all|${category}`) as Cell;
        const label = `${row.code} ${category}`;
        expect(row.households, label).toBe(hh);
        expect(entry.count, label).toBe(cell.value);
        if (hh === null) {
          expect(entry, label).toMatchObject({ index: null, ratePer1000Households: null, reason: "no_household_data" });
        } else if (cell.suppressed) {
          expect(entry, label).toMatchObject({ index: null, ratePer1000Households: null, reason: "suppressed" });
        } else {
          const rate = ((cell.value as number) / hh) * 1000;
          expect(entry.ratePer1000Households, label).toBe(rounded(rate, 2));
          expect(entry.index, label).toBe(rounded(rate / (medianRate as number), 2));
          expect(entry.reason, label).toBeNull();
          indexed++;
        }
      }
    }
    expect(indexed).toBeGreaterThan(20);
    // The generated Samarqand district without household data gets no index, with the reason.
    const noHouseholds = rows.find((r) => r.code === "1718206") as Json;
    expect(((noHouseholds.index as Json)["requests.total"] as Json).reason).toBe("no_household_data");
    // The inactive mahalla's households are not counted; the one without a value is simply left out.
    const yangiyul = rows.find((r) => r.code === "1727259") as Json;
    expect(yangiyul).toMatchObject({ households: 17680, mahallas: 12, mahallasWithHouseholds: 12 });
    const cityDistrict = rows.find((r) => r.code === "1726266") as Json;
    expect(cityDistrict).toMatchObject({ mahallas: 10, mahallasWithHouseholds: 9 });
  });

  it("serves CSV with a stable header and the same numbers as the JSON", async () => {
    const res = await get("/open/v1/regions?format=csv");
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    const lines = res.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe("level,region_code,code,name_uz,name_uz_cyrl,name_ru,measure,unit,value,suppressed");
    let compared = 0;
    for (const line of lines.slice(1)) {
      const f = parseCsvLine(line);
      const [level, , code, , , , measure, , value, suppressed] = f;
      const unit = level === "national" ? "UZ" : (code as string);
      const cell = published.get(`${unit}|all|${measure}`) as Cell;
      expect(cell, line).toBeDefined();
      expect(suppressed).toBe(String(cell.suppressed));
      expect(value).toBe(cell.value === null ? "" : String(cell.value));
      compared++;
    }
    const measures = flatten((regionsBody.national as Json).figures as Json).size;
    expect(measures).toBe(42);
    expect(compared).toBe((1 + (regionsBody.regions as Json[]).length) * measures);

    const months = await get("/open/v1/months?format=csv&region=1726");
    expect(months.body.split("\r\n")[0]).toBe("region_code,month,partial,measure,unit,value,suppressed");
    const demand = await get("/open/v1/demand-index?format=csv");
    expect(demand.body.split("\r\n")[0]).toBe(
      "region_code,district_code,name_uz,name_uz_cyrl,name_ru,households,category,count,rate_per_1000_households,national_median_rate,index,reason",
    );
    const districts = await get("/open/v1/regions/1727/districts?format=csv");
    const yangiyul = districts.body
      .split("\r\n")
      .find((l) => l.startsWith("district,1727,1727259,") && l.includes(",applications.total,"));
    const jsonCell = published.get("1727259|all|applications.total") as Cell;
    expect(yangiyul?.split(",")[8]).toBe(String(jsonCell.value));
  });

  it("publishes no identifiers: no phone numbers, references or citizen ids", async () => {
    const bodies = [
      JSON.stringify(regionsBody),
      JSON.stringify(monthsBody),
      JSON.stringify(demandBody),
      ...[...districtBodies.values()].map((b) => JSON.stringify(b)),
      (await get("/open/v1/demand-index?format=csv")).body,
      (await get("/open")).body,
    ];
    for (const body of bodies) {
      expect(body).not.toMatch(/\+998/);
      expect(body).not.toMatch(/[AVP]-T\d{8}/);
      expect(body).not.toMatch(/citizen/i);
    }
  });

  it("serves one release until the next month's cut, computed once however many requests arrive", async () => {
    const before = loads;
    const res = await get("/open/v1/regions");
    expect(loads).toBe(before);
    expect(res.headers["cache-control"]).toMatch(/^public, max-age=\d+$/);
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers["cache-control"] as string)?.[1]);
    const local = new Date(clockMs + 5 * HOUR);
    const nextCut = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1) - 5 * HOUR;
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(Math.ceil((nextCut - clockMs) / 1000));

    // Minutes later the release is the same one: recomputing it would let two snapshots be differenced.
    clockMs += 5 * 60_000 + 1;
    await get("/open/v1/months");
    expect(loads).toBe(before);

    clockMs = nextCut + 1;
    const burst = await Promise.all(
      ["/open/v1/regions", "/open/v1/months", "/open/v1/demand-index", "/open/v1/regions/1726/districts", "/open"].map(
        (url) => app.inject({ method: "GET", url }),
      ),
    );
    expect(burst.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(loads).toBe(before + 1);
    expect(new Set(burst.slice(0, 4).map((r) => (r.json() as Json).generatedAt)).size).toBe(1);
  }, 300_000);

  it("answers 404 for an unknown region and 400 for an unknown format", async () => {
    const missing = await app.inject({ method: "GET", url: "/open/v1/regions/9999/districts" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "REGION_NOT_FOUND" });
    expect((await app.inject({ method: "GET", url: "/open/v1/months?region=9999" })).statusCode).toBe(404);
    expect((await app.inject({ method: "GET", url: "/open/v1/regions?format=xml" })).statusCode).toBe(400);
  });
});

/** One CSV record (RFC 4180 quoting). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(field);
      field = "";
    } else field += ch;
  }
  out.push(field);
  return out;
}
