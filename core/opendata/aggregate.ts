import {
  APPEAL_OUTCOMES,
  APPLICATION_OUTCOMES,
  appealOutcome,
  applicationOutcome,
  CHANNELS,
  channelOf,
  DAY_MS,
  doneWithinThreeWorkingDays,
  HOUR_MS,
  LANGUAGES,
  languageOf,
  type MeasureCatalogue,
  monthOf,
  VISIT_OUTCOMES,
  visitOutcome,
} from "./measures.js";
import type { RawCount } from "./suppress.js";
import type { OpenDataInput } from "./types.js";

/**
 * Where a figure is published: a geographic unit and a period. Only these scopes exist: the
 * nation, regions and districts over the whole period, and the nation and regions per month.
 */
export const NATIONAL = "N";
export const ALL_TIME = "all";
export const regionUnit = (code: string) => `R:${code}`;
export const districtUnit = (code: string) => `D:${code}`;
export const scopeId = (unit: string, period: string) => `${unit}@${period}`;
export const cellId = (scope: string, measure: string) => `${scope}#${measure}`;

/**
 * Distinct people, counted up to a cap. Publication only asks "fewer than MIN_PEOPLE or not", and
 * uncapped sets would hold every citizen once per cell, which does not fit memory on a full register.
 */
export class PeopleUpTo {
  private ids: Set<number> | undefined = new Set();
  private full = 0;

  constructor(private readonly cap: number) {}

  add(citizenId: number): void {
    if (!this.ids) return;
    this.ids.add(citizenId);
    if (this.ids.size >= this.cap) {
      this.full = this.ids.size;
      this.ids = undefined;
    }
  }

  /** The exact count below the cap; the cap once reached. */
  get size(): number {
    return this.ids ? this.ids.size : this.full;
  }
}

/** The inputs of the published statistics of one scope, before rounding and suppression. */
export interface RawStats {
  decisionDays: number[];
  decisionPeople: PeopleUpTo;
  approved: number;
  decided: number;
  decidedPeople: PeopleUpTo;
  doneHours: number[];
  doneWithin: number;
  donePeople: PeopleUpTo;
}

export interface RawAggregates {
  /** Months from the first event to the month of `now`, ascending. */
  months: string[];
  /** Every count measure of every scope, zeros included; people capped at `peopleCap`. */
  counts: Map<string, RawCount>;
  stats: Map<string, RawStats>;
  scopes: string[];
}

/** Running counts of one scope, indexed like catalogue.counts. */
interface Tally {
  values: number[];
  people: (PeopleUpTo | undefined)[];
  stats: RawStats;
}

const newTally = (measures: number, cap: number): Tally => ({
  values: new Array<number>(measures).fill(0),
  people: new Array<PeopleUpTo | undefined>(measures).fill(undefined),
  stats: {
    decisionDays: [],
    decisionPeople: new PeopleUpTo(cap),
    approved: 0,
    decided: 0,
    decidedPeople: new PeopleUpTo(cap),
    doneHours: [],
    doneWithin: 0,
    donePeople: new PeopleUpTo(cap),
  },
});

function monthsBetween(first: string, last: string): string[] {
  const months: string[] = [];
  let [y, m] = first.split("-").map(Number) as [number, number];
  for (let key = first; key <= last; ) {
    months.push(key);
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
    key = `${y}-${String(m).padStart(2, "0")}`;
  }
  return months;
}

/**
 * Counts and statistic inputs for every published scope. Pure: the same input gives the same output.
 * Runs once per row with integer-indexed tallies, since production tables are large.
 */
export function aggregate(
  input: OpenDataInput,
  catalogue: MeasureCatalogue,
  now: Date,
  peopleCap: number,
): RawAggregates {
  const measureIndex = new Map(catalogue.counts.map((m, i) => [m, i]));
  const index = (measure: string) => {
    const i = measureIndex.get(measure);
    if (i === undefined) throw new Error(`unknown measure ${measure}`);
    return i;
  };
  const indexBy = <K extends string | number>(entries: [K, string][]) =>
    new Map(entries.map(([k, measure]) => [k, index(measure)]));
  const benefitIdx = indexBy(input.benefitTypes.map((b) => [b.id, `applications.byBenefitType.${b.code}`]));
  const reasonIdx = indexBy(input.visitReasons.map((r) => [r.id, `visits.byReason.${r.code}`]));
  const appOutcomeIdx = indexBy(APPLICATION_OUTCOMES.map((o) => [o, `applications.byOutcome.${o}`]));
  const appealOutcomeIdx = indexBy(APPEAL_OUTCOMES.map((o) => [o, `appeals.byOutcome.${o}`]));
  const visitOutcomeIdx = indexBy(VISIT_OUTCOMES.map((o) => [o, `visits.byOutcome.${o}`]));
  const channelIdx = indexBy(CHANNELS.map((c) => [c, `requests.byChannel.${c}`]));
  const languageIdx = indexBy(LANGUAGES.map((l) => [l, `requests.byLanguage.${l}`]));
  const [appTotal, appealTotal, visitTotal, requestTotal] = [
    "applications.total",
    "appeals.total",
    "visits.total",
    "requests.total",
  ].map(index) as [number, number, number, number];
  const measures = catalogue.counts.length;

  const tallies = new Map<string, Tally>();
  const tallyOf = (scope: string) => {
    let t = tallies.get(scope);
    if (!t) {
      t = newTally(measures, peopleCap);
      tallies.set(scope, t);
    }
    return t;
  };
  const regionCodes = new Map(input.regions.map((r) => [r.id, r.code]));
  /** Per district: its whole-period scopes, and its region's unit for the monthly ones. */
  const places = new Map<number, { fixed: Tally[]; region: string }>();
  for (const d of input.districts) {
    const regionCode = regionCodes.get(d.regionId);
    if (regionCode === undefined) continue;
    const region = regionUnit(regionCode);
    places.set(d.id, {
      fixed: [scopeId(NATIONAL, ALL_TIME), scopeId(region, ALL_TIME), scopeId(districtUnit(d.code), ALL_TIME)].map(
        tallyOf,
      ),
      region,
    });
  }
  const monthly = new Map<string, Tally[]>();
  let firstMonth: string | undefined;
  let lastMonth = monthOf(now);

  /** The five scopes an event at this place and time counts in; none when its place is unknown. */
  const scopesOf = (districtId: number | null, at: Date): Tally[] => {
    const place = districtId === null ? undefined : places.get(districtId);
    if (!place) return [];
    const month = monthOf(at);
    if (firstMonth === undefined || month < firstMonth) firstMonth = month;
    if (month > lastMonth) lastMonth = month;
    const key = `${place.region}@${month}`;
    let byMonth = monthly.get(key);
    if (!byMonth) {
      byMonth = [tallyOf(scopeId(NATIONAL, month)), tallyOf(scopeId(place.region, month))];
      monthly.set(key, byMonth);
    }
    return [...place.fixed, ...byMonth];
  };
  const add = (scopes: Tally[], measureIdx: number[], citizenId: number) => {
    for (const t of scopes) {
      for (const i of measureIdx) {
        t.values[i] = (t.values[i] as number) + 1;
        let people = t.people[i];
        if (!people) {
          people = new PeopleUpTo(peopleCap);
          t.people[i] = people;
        }
        people.add(citizenId);
      }
    }
  };

  for (const a of input.applications) {
    const scopes = scopesOf(a.districtId, a.submittedAt);
    if (scopes.length === 0) continue;
    const outcome = applicationOutcome(a.status);
    add(
      scopes,
      [
        appTotal,
        benefitIdx.get(a.benefitTypeId) ?? index(`applications.byBenefitType.#${a.benefitTypeId}`),
        appOutcomeIdx.get(outcome) as number,
        requestTotal,
        channelIdx.get(channelOf(a.channel)) as number,
        languageIdx.get(languageOf(a.locale)) as number,
      ],
      a.citizenId,
    );
    if (outcome !== "approved" && outcome !== "rejected") continue;
    const days = a.decidedAt ? (a.decidedAt.getTime() - a.submittedAt.getTime()) / DAY_MS : undefined;
    for (const { stats: s } of scopes) {
      s.decided += 1;
      if (outcome === "approved") s.approved += 1;
      s.decidedPeople.add(a.citizenId);
      if (days !== undefined) {
        s.decisionDays.push(days);
        s.decisionPeople.add(a.citizenId);
      }
    }
  }

  for (const appeal of input.appeals) {
    const scopes = scopesOf(appeal.districtId, appeal.createdAt);
    add(scopes, [appealTotal, appealOutcomeIdx.get(appealOutcome(appeal.status)) as number], appeal.citizenId);
  }

  for (const v of input.visits) {
    const scopes = scopesOf(v.districtId, v.createdAt);
    if (scopes.length === 0) continue;
    const outcome = visitOutcome(v.status);
    add(
      scopes,
      [
        visitTotal,
        reasonIdx.get(v.reasonId) ?? index(`visits.byReason.#${v.reasonId}`),
        visitOutcomeIdx.get(outcome) as number,
        requestTotal,
        channelIdx.get(channelOf(v.channel)) as number,
        languageIdx.get(languageOf(v.locale)) as number,
      ],
      v.citizenId,
    );
    if (outcome !== "done" || !v.doneAt) continue;
    const hours = (v.doneAt.getTime() - v.createdAt.getTime()) / HOUR_MS;
    const within = doneWithinThreeWorkingDays(v.createdAt, v.doneAt);
    for (const { stats: s } of scopes) {
      s.doneHours.push(hours);
      if (within) s.doneWithin += 1;
      s.donePeople.add(v.citizenId);
    }
  }

  const months = firstMonth === undefined ? [] : monthsBetween(firstMonth, lastMonth);
  const scopes = [
    scopeId(NATIONAL, ALL_TIME),
    ...input.regions.map((r) => scopeId(regionUnit(r.code), ALL_TIME)),
    ...input.districts.map((d) => scopeId(districtUnit(d.code), ALL_TIME)),
    ...months.flatMap((m) => [scopeId(NATIONAL, m), ...input.regions.map((r) => scopeId(regionUnit(r.code), m))]),
  ];
  const counts = new Map<string, RawCount>();
  const stats = new Map<string, RawStats>();
  for (const scope of scopes) {
    const t = tallyOf(scope);
    catalogue.counts.forEach((measure, i) => {
      counts.set(cellId(scope, measure), { value: t.values[i] as number, people: t.people[i]?.size ?? 0 });
    });
    stats.set(scope, t.stats);
  }
  return { months, counts, stats, scopes };
}
