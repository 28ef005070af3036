import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { openDataPlugin } from "../app/open/plugin.js";
import { atMost, auditRelease, type Relation, sumRelation } from "../core/opendata/audit.js";
import { buildSnapshot, type Figures, type OpenDataSnapshot } from "../core/opendata/publish.js";
import type { AppealRow, ApplicationRow, OpenDataInput, VisitRow } from "../core/opendata/types.js";
import { random } from "./support/open-data.js";

/*
 * Adversarial populations, each released and then attacked as issue 17 did: every figure of the
 * whole release (every scope and table the endpoints serve) goes into a linear program together
 * with every additive relation a reader knows — written out here from docs/open-data.md, not taken
 * from the publishing code — and HiGHS computes each suppressed cell's smallest and largest
 * feasible value. No cell may be pinned, and no interval may be narrower than the threshold.
 */

const MIN_PEOPLE = 10;
const DAY = 86_400_000;
const names = (s: string) => ({ uz: s, "uz-Cyrl": s, ru: s });
/** The release is cut at the start of the Tashkent month of NOW: 2026-11-30T19:00Z. */
const NOW = new Date("2026-12-01T10:00:00Z");
const CUT = Date.parse("2026-11-30T19:00:00Z");

const BENEFITS = ["CHILD", "DISABILITY", "ELDERLY", "MATERNITY"];
const REASONS = ["CONSULT", "PAPERS"];
const APP_OUTCOMES = ["pending", "approved", "rejected", "withdrawn"];
const APPEAL_OUTCOMES = ["pending", "upheld", "dismissed"];
const VISIT_OUTCOMES = ["open", "done", "not_home", "cancelled"];

/**
 * Three regions: "1726" (city) with districts A, B and the empty C; "1727" with D and the empty E;
 * "1703" with nothing but the empty F. Districts without a mahalla are the ones the register shows
 * to be empty.
 */
function references(): Omit<OpenDataInput, "applications" | "appeals" | "visits"> {
  const regions = [
    { id: 1, code: "1726", iso: null, names: names("city") },
    { id: 2, code: "1727", iso: null, names: names("region") },
    { id: 3, code: "1703", iso: null, names: names("far") },
  ];
  const district = (id: number, code: string, regionId: number, mahallas: number) => ({
    id,
    code,
    regionId,
    names: names(code),
    households: mahallas > 0 ? 2000 + id : null,
    mahallas,
    mahallasWithHouseholds: mahallas,
  });
  return {
    regions,
    districts: [
      district(1, "A", 1, 3),
      district(2, "B", 1, 2),
      district(3, "C", 1, 0),
      district(4, "D", 2, 2),
      district(5, "E", 2, 0),
      district(6, "F", 3, 0),
    ],
    benefitTypes: BENEFITS.map((code, i) => ({ id: i + 1, code, sortOrder: i, names: names(code) })),
    visitReasons: REASONS.map((code, i) => ({ id: i + 1, code, sortOrder: i, names: names(code) })),
  };
}

interface Person {
  district: number;
  locale?: string;
  channel?: string;
  /** Applications as [benefit index, status, days before the cut]. */
  apps?: [number, string, number][];
  /** Appeals as [status, days before the cut]; each is on one of the person's rejected applications. */
  appeals?: [string, number][];
  /** Visits as [reason index, status, days before the cut, hours to done]. */
  visits?: [number, string, number, number?][];
}

function population(people: Person[]): OpenDataInput {
  const applications: ApplicationRow[] = [];
  const appeals: AppealRow[] = [];
  const visits: VisitRow[] = [];
  people.forEach((p, citizenId) => {
    for (const [benefit, status, days] of p.apps ?? []) {
      const submittedAt = new Date(CUT - days * DAY);
      applications.push({
        citizenId,
        districtId: p.district,
        benefitTypeId: benefit + 1,
        status,
        channel: p.channel ?? "ussd",
        locale: p.locale ?? "uz",
        submittedAt,
        decidedAt: status === "submitted" ? null : new Date(submittedAt.getTime() + 2 * DAY),
      });
    }
    for (const [status, days] of p.appeals ?? []) {
      appeals.push({ citizenId, districtId: p.district, status, createdAt: new Date(CUT - days * DAY) });
    }
    for (const [reason, status, days, hours] of p.visits ?? []) {
      const createdAt = new Date(CUT - days * DAY);
      visits.push({
        citizenId,
        districtId: p.district,
        reasonId: reason + 1,
        status,
        channel: p.channel ?? "telegram",
        locale: p.locale ?? "uz",
        createdAt,
        doneAt: status === "done" ? new Date(createdAt.getTime() + (hours ?? 30) * 3_600_000) : null,
      });
    }
  });
  return { ...references(), applications, appeals, visits };
}

const COUNT_MEASURES = [
  "applications.total",
  ...BENEFITS.map((b) => `applications.byBenefitType.${b}`),
  ...APP_OUTCOMES.map((o) => `applications.byOutcome.${o}`),
  "appeals.total",
  ...APPEAL_OUTCOMES.map((o) => `appeals.byOutcome.${o}`),
  "visits.total",
  ...REASONS.map((r) => `visits.byReason.${r}`),
  ...VISIT_OUTCOMES.map((o) => `visits.byOutcome.${o}`),
  "requests.total",
  ...["telegram", "ussd", "other"].map((c) => `requests.byChannel.${c}`),
  ...["uz", "uz-Cyrl", "ru"].map((l) => `requests.byLanguage.${l}`),
];
/** Visits done on time and late: a reader gets them from the on-time share × done visits. */
const ON_TIME = "derived.onTime";
const LATE = "derived.late";

/** The partitions of docs/open-data.md, "Within one unit and period the counts add up". */
const PARTITIONS: [string, string[]][] = [
  ["applications.total", BENEFITS.map((b) => `applications.byBenefitType.${b}`)],
  ["applications.total", APP_OUTCOMES.map((o) => `applications.byOutcome.${o}`)],
  ["appeals.total", APPEAL_OUTCOMES.map((o) => `appeals.byOutcome.${o}`)],
  ["visits.total", REASONS.map((r) => `visits.byReason.${r}`)],
  ["visits.total", VISIT_OUTCOMES.map((o) => `visits.byOutcome.${o}`)],
  ["requests.total", ["applications.total", "visits.total"]],
  ["requests.total", ["telegram", "ussd", "other"].map((c) => `requests.byChannel.${c}`)],
  ["requests.total", ["uz", "uz-Cyrl", "ru"].map((l) => `requests.byLanguage.${l}`)],
  ["visits.byOutcome.done", [ON_TIME, LATE]],
];

interface Attack {
  suppressedCells: number;
  narrow: string[];
  narrowest: number;
  /** Every published count, `unit|period|measure` → value, for scenario checks. */
  published: Map<string, number>;
}

/** The attack: all published figures of the release, all relations, HiGHS for every hidden cell. */
async function attack(snapshot: OpenDataSnapshot): Promise<Attack> {
  const values = new Map<string, number>();
  const hidden = new Set<string>();
  const read = (unit: string, period: string, figures: Figures) => {
    for (const m of COUNT_MEASURES) {
      const cell = figures[m];
      if (!cell) throw new Error(`${unit}|${period} has no ${m}`);
      const id = `${unit}|${period}|${m}`;
      if (cell.suppressed) hidden.add(id);
      else values.set(id, cell.value as number);
    }
    const share = figures["visits.shareDoneWithin3WorkingDays"];
    const done = figures["visits.byOutcome.done"];
    if (done && !done.suppressed && done.value === 0) {
      // No visit was done: none on time, none late.
      values.set(`${unit}|${period}|${ON_TIME}`, 0);
      values.set(`${unit}|${period}|${LATE}`, 0);
    } else if (share && !share.suppressed && done && !done.suppressed) {
      const onTime = Math.round((share.value as number) * (done.value as number));
      values.set(`${unit}|${period}|${ON_TIME}`, onTime);
      values.set(`${unit}|${period}|${LATE}`, (done.value as number) - onTime);
    } else {
      hidden.add(`${unit}|${period}|${ON_TIME}`);
      hidden.add(`${unit}|${period}|${LATE}`);
    }
  };
  const months = snapshot.national.months.map((m) => m.month);
  read("UZ", "all", snapshot.national.figures);
  for (const m of snapshot.national.months) read("UZ", m.month, m.figures);
  for (const r of snapshot.regions) {
    read(r.code, "all", r.figures);
    for (const m of r.months) read(r.code, m.month, m.figures);
    for (const d of r.districts) read(d.code, "all", d.figures);
  }
  const measures = [...COUNT_MEASURES, ON_TIME, LATE];
  const relations: Relation[] = [];
  const scopes = [
    ...["UZ", ...snapshot.regions.map((r) => r.code)].flatMap((u) => ["all", ...months].map((p) => `${u}|${p}`)),
    ...snapshot.regions.flatMap((r) => r.districts.map((d) => `${d.code}|all`)),
  ];
  for (const scope of scopes) {
    for (const [total, parts] of PARTITIONS) {
      relations.push(
        sumRelation(
          `${scope}|${total}`,
          parts.map((p) => `${scope}|${p}`),
        ),
      );
    }
    // Only rejected applications are appealed; an appeal not upheld leaves its application rejected.
    if (scope.endsWith("|all")) {
      relations.push(
        atMost(
          [`${scope}|appeals.byOutcome.pending`, `${scope}|appeals.byOutcome.dismissed`],
          `${scope}|applications.byOutcome.rejected`,
        ),
      );
    }
  }
  for (const m of measures) {
    for (const p of ["all", ...months]) {
      relations.push(
        sumRelation(
          `UZ|${p}|${m}`,
          snapshot.regions.map((r) => `${r.code}|${p}|${m}`),
        ),
      );
    }
    for (const r of snapshot.regions) {
      relations.push(
        sumRelation(
          `${r.code}|all|${m}`,
          r.districts.map((d) => `${d.code}|all|${m}`),
        ),
      );
    }
    for (const u of ["UZ", ...snapshot.regions.map((r) => r.code)]) {
      relations.push(
        sumRelation(
          `${u}|all|${m}`,
          months.map((p) => `${u}|${p}|${m}`),
        ),
      );
    }
  }
  const result = await auditRelease(values, hidden, relations, MIN_PEOPLE);
  if (result.narrow.length > 0) {
    console.log(result.narrow.map((c) => `${c} ${JSON.stringify(result.intervals.get(c))}`).join("\n"));
  }
  let narrowest = Number.POSITIVE_INFINITY;
  for (const iv of result.intervals.values()) narrowest = Math.min(narrowest, iv.max - iv.min);
  return { suppressedCells: hidden.size, narrow: result.narrow, narrowest, published: values };
}

/** The issue's population: 54 people in four districts of two regions, small cells everywhere. */
function issuePopulation(): Person[] {
  const rnd = random(17);
  const people: Person[] = [];
  const plan: [number, number][] = [
    [1, 13],
    [2, 20],
    [4, 21],
  ];
  for (const [district, count] of plan) {
    for (let i = 0; i < count; i++) {
      const rejected = district === 2 || rnd.next() < 0.3;
      people.push({
        district,
        locale: rnd.next() < 0.1 ? "ru" : "uz",
        apps: [[rnd.int(0, 3), rejected ? "rejected" : rnd.pick(["submitted", "approved", "paid"]), rnd.int(3, 80)]],
        appeals: rejected && people.length % 4 === 0 ? [["received", 1]] : [],
        visits: i % 3 === 0 ? [[rnd.int(0, 1), "done", rnd.int(5, 80), rnd.int(2, 200)]] : [],
      });
    }
  }
  return people;
}

async function releaseAndAttack(people: Person[]) {
  const snapshot = await buildSnapshot(population(people), NOW);
  return { snapshot, attack: await attack(snapshot) };
}

describe("open data releases attacked with a linear-programming solver", () => {
  it("leaves nothing to recover from the issue's 54 people: no pinned cell, no interval under 10", async () => {
    const people = issuePopulation();
    const { snapshot, attack: a } = await releaseAndAttack(people);
    const requests = people.reduce((n, p) => n + (p.apps?.length ?? 0) + (p.visits?.length ?? 0), 0);
    expect(a.suppressedCells).toBeGreaterThan(100);
    expect(a.narrow).toEqual([]);
    expect(a.narrowest).toBeGreaterThanOrEqual(MIN_PEOPLE - 1e-6);
    // The release is not empty: the nation's total of requests is still published.
    expect(snapshot.national.figures["requests.total"]).toEqual({ value: requests, suppressed: false });
    // The publisher's own audit agrees with the attack.
    expect(snapshot.audit.narrowestInterval).toBeGreaterThanOrEqual(MIN_PEOPLE - 1e-6);
  }, 60_000);

  it("protects a small group in one breakdown of a large district", async () => {
    const people: Person[] = Array.from({ length: 60 }, (_, i) => ({
      district: 1,
      apps: [[i < 2 ? 3 : i % 3, i % 2 ? "approved" : "rejected", 10 + (i % 50)]],
    }));
    const { snapshot, attack: a } = await releaseAndAttack(people);
    const district = snapshot.regions.find((r) => r.code === "1726")?.districts.find((d) => d.code === "A") as {
      figures: Figures;
    };
    expect(district.figures["applications.byBenefitType.MATERNITY"]?.suppressed).toBe(true);
    expect(a.narrow).toEqual([]);
  }, 60_000);

  it("protects one-person language and channel cells", async () => {
    const people: Person[] = Array.from({ length: 45 }, (_, i) => ({
      district: 1 + (i % 2),
      locale: i === 0 ? "ru" : i === 1 ? "uz-Cyrl" : "uz",
      channel: i === 2 ? "api" : i % 2 ? "telegram" : "ussd",
      apps: [[i % 4, "approved", 5 + (i % 40)]],
    }));
    const { snapshot, attack: a } = await releaseAndAttack(people);
    expect(snapshot.national.figures["requests.byLanguage.ru"]?.suppressed).toBe(true);
    expect(snapshot.national.figures["requests.byChannel.other"]?.suppressed).toBe(true);
    expect(a.narrow).toEqual([]);
  }, 60_000);

  it("protects districts just above and just below the threshold", async () => {
    const people: Person[] = [
      ...Array.from({ length: 11 }, (_, i) => ({
        district: 1,
        apps: [[0, "approved", 5 + i]] as [number, string, number][],
      })),
      ...Array.from({ length: 9 }, (_, i) => ({
        district: 2,
        apps: [[0, "approved", 5 + i]] as [number, string, number][],
      })),
      ...Array.from({ length: 10 }, (_, i) => ({
        district: 4,
        apps: [[1, "rejected", 5 + i]] as [number, string, number][],
      })),
    ];
    const { attack: a } = await releaseAndAttack(people);
    expect(a.narrow).toEqual([]);
  }, 60_000);

  it("does not reveal a group in which everyone was rejected", async () => {
    const people: Person[] = [
      ...Array.from({ length: 15 }, (_, i) => ({
        district: 2,
        apps: [[i % 2, "rejected", 5 + i]] as [number, string, number][],
      })),
      ...Array.from({ length: 40 }, (_, i) => ({
        district: 1,
        apps: [[i % 4, i % 3 ? "approved" : "rejected", 5 + i]] as [number, string, number][],
      })),
    ];
    const { snapshot, attack: a } = await releaseAndAttack(people);
    expect(a.narrow).toEqual([]);
    const b = snapshot.regions.find((r) => r.code === "1726")?.districts.find((d) => d.code === "B") as {
      figures: Figures;
    };
    const total = b.figures["applications.total"] as { value: number | null };
    const rejected = b.figures["applications.byOutcome.rejected"] as { value: number | null };
    // Never both shown and equal: that would say that everyone who applied in B was rejected.
    expect(total.value !== null && rejected.value !== null && total.value === rejected.value).toBe(false);
  }, 60_000);

  it("protects a single month, and shows on-time shares only where they reveal no hidden count", async () => {
    const people: Person[] = Array.from({ length: 30 }, (_, i) => ({
      district: 1 + (i % 2) * 3,
      apps: [[i % 2, "approved", 3 + (i % 10)]],
      visits: [[i % 2, "done", 3 + (i % 10), i === 0 ? 200 : 20]],
    }));
    const { snapshot, attack: a } = await releaseAndAttack(people);
    expect(snapshot.months).toEqual(["2026-11"]);
    expect(a.narrow).toEqual([]);
    // One late visit among many: a published share with a published done count would give it away.
    const share = snapshot.national.figures["visits.shareDoneWithin3WorkingDays"] as { suppressed: boolean };
    const done = snapshot.national.figures["visits.byOutcome.done"] as { suppressed: boolean };
    expect(share.suppressed || done.suppressed).toBe(true);
  }, 60_000);

  it("cuts releases at the month: events since the cut change nothing until the next month", async () => {
    const people = issuePopulation();
    const before = await buildSnapshot(population(people), NOW);
    const later = population([...people, { district: 1, apps: [[0, "rejected", -0.01]] }]);
    const after = await buildSnapshot(later, new Date(NOW.getTime() + 5 * 60_000));
    expect(after.national).toEqual(before.national);
    expect(after.regions).toEqual(before.regions);
    expect(before.months.at(-1)).toBe("2026-11");
  }, 60_000);
});

describe("a release that cannot be published", () => {
  it("answers 503 with a reason code, logs why, and does not recompute on every request", async () => {
    let loads = 0;
    const logged: string[] = [];
    const app = Fastify({
      logger: {
        level: "error",
        stream: {
          write: (line: string) => {
            logged.push(line);
          },
        },
      },
    });
    await app.register(openDataPlugin, {
      prisma: undefined as never,
      source: {
        load: async () => {
          loads++;
          throw new Error("audit failed: the relations have no feasible solution");
        },
      },
    });
    const first = await app.inject({ method: "GET", url: "/open/v1/regions" });
    const second = await app.inject({ method: "GET", url: "/open/v1/months" });
    expect(first.statusCode).toBe(503);
    expect(first.json()).toMatchObject({ code: "RELEASE_UNAVAILABLE" });
    expect(second.statusCode).toBe(503);
    expect(loads).toBe(1);
    expect(logged.join("")).toContain("open data release not published");
    await app.close();
  });
});
