import { WorkingCalendar } from "../domain/calendar.js";
import {
  APPEAL_OUTCOMES,
  APPLICATION_OUTCOMES,
  appealOutcome,
  applicationOutcome,
  CHANNELS,
  channelOf,
  DAY_MS,
  DONE_LATE,
  DONE_ON_TIME,
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
import type { AppealRow, ApplicationRow, OpenDataInput, VisitRow } from "./types.js";

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
  /** Whole months from the first event to the last month before the cut, ascending. */
  months: string[];
  /** Every count measure (internal ones too) of every scope, zeros included; people capped at `peopleCap`. */
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

/** The reference data the aggregation needs before the first row. */
export type OpenDataReferences = Omit<
  OpenDataInput,
  "applications" | "appeals" | "visits" | "escalations" | "feedback"
>;

/**
 * Counts and statistic inputs for every published scope, fed one row at a time so that a caller can
 * stream the register page by page: memory holds the tallies (scopes × measures, people capped at
 * `peopleCap`) and the durations the medians need, never the rows. Pure: the same rows in any order
 * give the same result.
 */
export class Aggregation {
  private readonly tallies = new Map<string, Tally>();
  private readonly places = new Map<number, { fixed: Tally[]; region: string }>();
  private readonly monthly = new Map<string, Tally[]>();
  private firstMonth: string | undefined;
  private readonly lastMonth: string;
  private readonly cut: number;
  private readonly measures: number;
  private readonly doneIdx: { onTime: number; late: number };
  private readonly index: (measure: string) => number;
  private readonly benefitIdx: Map<number, number>;
  private readonly reasonIdx: Map<number, number>;
  private readonly appOutcomeIdx: Map<string, number>;
  private readonly appealOutcomeIdx: Map<string, number>;
  private readonly visitOutcomeIdx: Map<string, number>;
  private readonly channelIdx: Map<string, number>;
  private readonly languageIdx: Map<string, number>;
  private readonly totals: { app: number; appeal: number; visit: number; request: number };
  private readonly calendar: WorkingCalendar;

  constructor(
    private readonly refs: OpenDataReferences,
    private readonly catalogue: MeasureCatalogue,
    cut: Date,
    private readonly peopleCap: number,
  ) {
    const measureIndex = new Map(catalogue.allCounts.map((m, i) => [m, i]));
    this.index = (measure: string) => {
      const i = measureIndex.get(measure);
      if (i === undefined) throw new Error(`unknown measure ${measure}`);
      return i;
    };
    const indexBy = <K extends string | number>(entries: [K, string][]) =>
      new Map(entries.map(([k, measure]) => [k, this.index(measure)]));
    this.benefitIdx = indexBy(refs.benefitTypes.map((b) => [b.id, `applications.byBenefitType.${b.code}`]));
    this.reasonIdx = indexBy(refs.visitReasons.map((r) => [r.id, `visits.byReason.${r.code}`]));
    this.appOutcomeIdx = indexBy(APPLICATION_OUTCOMES.map((o) => [o, `applications.byOutcome.${o}`]));
    this.appealOutcomeIdx = indexBy(APPEAL_OUTCOMES.map((o) => [o, `appeals.byOutcome.${o}`]));
    this.visitOutcomeIdx = indexBy(VISIT_OUTCOMES.map((o) => [o, `visits.byOutcome.${o}`]));
    this.channelIdx = indexBy(CHANNELS.map((c) => [c, `requests.byChannel.${c}`]));
    this.languageIdx = indexBy(LANGUAGES.map((l) => [l, `requests.byLanguage.${l}`]));
    this.totals = {
      app: this.index("applications.total"),
      appeal: this.index("appeals.total"),
      visit: this.index("visits.total"),
      request: this.index("requests.total"),
    };
    this.doneIdx = { onTime: this.index(DONE_ON_TIME), late: this.index(DONE_LATE) };
    this.measures = catalogue.allCounts.length;
    this.calendar = new WorkingCalendar(refs.holidays ?? []);
    this.cut = cut.getTime();
    // The month before the cut's: releaseCut() puts the cut at a month start.
    this.lastMonth = monthOf(new Date(this.cut - 1));
    const regionCodes = new Map(refs.regions.map((r) => [r.id, r.code]));
    for (const d of refs.districts) {
      const regionCode = regionCodes.get(d.regionId);
      if (regionCode === undefined) continue;
      const region = regionUnit(regionCode);
      this.places.set(d.id, {
        fixed: [scopeId(NATIONAL, ALL_TIME), scopeId(region, ALL_TIME), scopeId(districtUnit(d.code), ALL_TIME)].map(
          (s) => this.tallyOf(s),
        ),
        region,
      });
    }
  }

  private tallyOf(scope: string): Tally {
    let t = this.tallies.get(scope);
    if (!t) {
      t = newTally(this.measures, this.peopleCap);
      this.tallies.set(scope, t);
    }
    return t;
  }

  /**
   * The five scopes an event at this place and time counts in; none when its place is unknown or
   * it happened at or after the cut (the current month is not released).
   */
  private scopesOf(districtId: number | null, at: Date): Tally[] {
    const place = districtId === null ? undefined : this.places.get(districtId);
    if (!place || at.getTime() >= this.cut) return [];
    const month = monthOf(at);
    if (this.firstMonth === undefined || month < this.firstMonth) this.firstMonth = month;
    const key = `${place.region}@${month}`;
    let byMonth = this.monthly.get(key);
    if (!byMonth) {
      byMonth = [this.tallyOf(scopeId(NATIONAL, month)), this.tallyOf(scopeId(place.region, month))];
      this.monthly.set(key, byMonth);
    }
    return [...place.fixed, ...byMonth];
  }

  private add(scopes: Tally[], measureIdx: number[], citizenId: number): void {
    for (const t of scopes) {
      for (const i of measureIdx) {
        t.values[i] = (t.values[i] as number) + 1;
        let people = t.people[i];
        if (!people) {
          people = new PeopleUpTo(this.peopleCap);
          t.people[i] = people;
        }
        people.add(citizenId);
      }
    }
  }

  application(a: ApplicationRow): void {
    const scopes = this.scopesOf(a.districtId, a.submittedAt);
    if (scopes.length === 0) return;
    const outcome = applicationOutcome(a.status);
    this.add(
      scopes,
      [
        this.totals.app,
        this.benefitIdx.get(a.benefitTypeId) ?? this.index(`applications.byBenefitType.#${a.benefitTypeId}`),
        this.appOutcomeIdx.get(outcome) as number,
        this.totals.request,
        this.channelIdx.get(channelOf(a.channel)) as number,
        this.languageIdx.get(languageOf(a.locale)) as number,
      ],
      a.citizenId,
    );
    if (outcome !== "approved" && outcome !== "rejected") return;
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

  appeal(appeal: AppealRow): void {
    const scopes = this.scopesOf(appeal.districtId, appeal.createdAt);
    this.add(
      scopes,
      [this.totals.appeal, this.appealOutcomeIdx.get(appealOutcome(appeal.status)) as number],
      appeal.citizenId,
    );
  }

  visit(v: VisitRow): void {
    const scopes = this.scopesOf(v.districtId, v.createdAt);
    if (scopes.length === 0) return;
    const outcome = visitOutcome(v.status);
    this.add(
      scopes,
      [
        this.totals.visit,
        this.reasonIdx.get(v.reasonId) ?? this.index(`visits.byReason.#${v.reasonId}`),
        this.visitOutcomeIdx.get(outcome) as number,
        this.totals.request,
        this.channelIdx.get(channelOf(v.channel)) as number,
        this.languageIdx.get(languageOf(v.locale)) as number,
      ],
      v.citizenId,
    );
    if (outcome !== "done" || !v.doneAt) return;
    const within = doneWithinThreeWorkingDays(v.createdAt, v.doneAt, this.calendar);
    this.add(scopes, [within ? this.doneIdx.onTime : this.doneIdx.late], v.citizenId);
    const hours = (v.doneAt.getTime() - v.createdAt.getTime()) / HOUR_MS;
    for (const { stats: s } of scopes) {
      s.doneHours.push(hours);
      if (within) s.doneWithin += 1;
      s.donePeople.add(v.citizenId);
    }
  }

  result(): RawAggregates {
    const { refs, catalogue } = this;
    const months = this.firstMonth === undefined ? [] : monthsBetween(this.firstMonth, this.lastMonth);
    const scopes = [
      scopeId(NATIONAL, ALL_TIME),
      ...refs.regions.map((r) => scopeId(regionUnit(r.code), ALL_TIME)),
      ...refs.districts.map((d) => scopeId(districtUnit(d.code), ALL_TIME)),
      ...months.flatMap((m) => [scopeId(NATIONAL, m), ...refs.regions.map((r) => scopeId(regionUnit(r.code), m))]),
    ];
    const counts = new Map<string, RawCount>();
    const stats = new Map<string, RawStats>();
    for (const scope of scopes) {
      const t = this.tallyOf(scope);
      catalogue.allCounts.forEach((measure, i) => {
        counts.set(cellId(scope, measure), { value: t.values[i] as number, people: t.people[i]?.size ?? 0 });
      });
      stats.set(scope, t.stats);
    }
    return { months, counts, stats, scopes };
  }
}

/** The aggregation of rows already in memory (tests, the benchmark). */
export function aggregate(
  input: OpenDataInput,
  catalogue: MeasureCatalogue,
  cut: Date,
  peopleCap: number,
): RawAggregates {
  const aggregation = new Aggregation(input, catalogue, cut, peopleCap);
  for (const a of input.applications) aggregation.application(a);
  for (const p of input.appeals) aggregation.appeal(p);
  for (const v of input.visits) aggregation.visit(v);
  return aggregation.result();
}
