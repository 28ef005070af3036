import { type DeadlineUnit, WorkingCalendar } from "../domain/calendar.js";
import {
  ALL_TIME,
  cellId,
  districtUnit,
  NATIONAL,
  type OpenDataReferences,
  PeopleUpTo,
  regionUnit,
  scopeId,
} from "./aggregate.js";
import { atMost, type Relation } from "./audit.js";
import { applicationOutcome, MIN_PEOPLE, monthOf, round } from "./measures.js";
import type { Group, RawCount } from "./suppress.js";
import type { ApplicationRow, Cell, EscalationRow, FeedbackRow, VisitRow } from "./types.js";

/**
 * Public figures of service quality (issue 15): were decisions made and visit requests accepted
 * within their deadlines, how late were the late ones, how often a late request went up to the
 * district's admin, and what citizens said of the visit or the decision. Counted in the same scopes
 * as the other figures (nation, region, district over the whole period; nation and region per
 * month), each subject in the month and place of the application or visit request it is about, so
 * they sit beside that month's applications and visits. Working days are those of the one calendar
 * (core/domain/calendar.ts), deadlines those stored on BenefitType and VisitReason.
 *
 * The counts are suppressed and audited like every other count of the release, as a table of their
 * own (publish.ts): the within/late counts behind a share and the score sums behind an average are
 * never published but follow from what is, so they are cells of the audit too.
 */

export type QualityUnit = "share" | "working_days" | "escalations" | "ratings" | "score" | "follow_ups";

/** Published measures, in the order of the JSON and the CSV rows. */
export const QUALITY_MEASURES: readonly { key: string; unit: QualityUnit }[] = [
  { key: "decisions.shareWithinDeadline", unit: "share" },
  { key: "decisions.medianWorkingDaysLate", unit: "working_days" },
  { key: "visits.shareAcceptedWithinDeadline", unit: "share" },
  { key: "visits.medianWorkingDaysLate", unit: "working_days" },
  { key: "escalations.total", unit: "escalations" },
  { key: "ratings.visits.count", unit: "ratings" },
  { key: "ratings.visits.average", unit: "score" },
  { key: "ratings.decisions.count", unit: "ratings" },
  { key: "ratings.decisions.average", unit: "score" },
  { key: "followUps.opened", unit: "follow_ups" },
  { key: "followUps.closed", unit: "follow_ups" },
];

const DECISIONS_ON_TIME = "decisions.withinDeadline";
const DECISIONS_LATE = "decisions.late";
const VISITS_ON_TIME = "visits.acceptedWithinDeadline";
const VISITS_LATE = "visits.acceptedLate";
const SCORE_SUM = { visit: "ratings.visits.scoreSum", decision: "ratings.decisions.scoreSum" } as const;
const RATINGS = { visit: "ratings.visits.count", decision: "ratings.decisions.count" } as const;

/** Every count cell of a scope: the published counts, then those behind a share or an average. */
export const QUALITY_COUNTS: readonly string[] = [
  "escalations.total",
  RATINGS.visit,
  RATINGS.decision,
  "followUps.opened",
  "followUps.closed",
  DECISIONS_ON_TIME,
  DECISIONS_LATE,
  VISITS_ON_TIME,
  VISITS_LATE,
  SCORE_SUM.visit,
  SCORE_SUM.decision,
];
const PUBLISHED_COUNTS = new Set(QUALITY_MEASURES.map((m) => m.key).filter((k) => QUALITY_COUNTS.includes(k)));

/** What each statistic is computed from: it is shown only where all of them are published. */
const STAT_SOURCES: Record<string, string[]> = {
  "decisions.shareWithinDeadline": [DECISIONS_ON_TIME, DECISIONS_LATE],
  "decisions.medianWorkingDaysLate": [DECISIONS_LATE],
  "visits.shareAcceptedWithinDeadline": [VISITS_ON_TIME, VISITS_LATE],
  "visits.medianWorkingDaysLate": [VISITS_LATE],
  "ratings.visits.average": [RATINGS.visit, SCORE_SUM.visit],
  "ratings.decisions.average": [RATINGS.decision, SCORE_SUM.decision],
};

/** The column defaults of the schema, for a category read without its deadline. */
const DEFAULT_DECISION_DAYS = 10;
const DEFAULT_ACCEPTANCE = { amount: 1, unit: "working_days" as DeadlineUnit };

interface QualityStats {
  decisionPeople: PeopleUpTo;
  /** Working days late → how many: lateness is a small integer, so a histogram holds it exactly. */
  decisionLateDays: Map<number, number>;
  decisionLatePeople: PeopleUpTo;
  visitPeople: PeopleUpTo;
  visitLateDays: Map<number, number>;
  visitLatePeople: PeopleUpTo;
  ratingPeople: { visit: PeopleUpTo; decision: PeopleUpTo };
}

interface Tally {
  values: number[];
  people: PeopleUpTo[];
  stats: QualityStats;
}

export interface QualityAggregates {
  counts: Map<string, RawCount>;
  stats: Map<string, QualityStats>;
}

/**
 * The quality counts of every scope, fed one row at a time (the same pages as the other figures).
 * Only what happened before the cut counts: a decision or an acceptance after it is, at the cut,
 * still awaited, and late if its deadline had passed; lateness of what is still awaited is counted
 * to the cut.
 */
export class QualityAggregation {
  private readonly tallies = new Map<string, Tally>();
  private readonly places = new Map<number, { district: string; region: string }>();
  private readonly calendar: WorkingCalendar;
  private readonly cut: number;
  /** The last instant in the release: lateness of what is still awaited is counted to it. */
  private readonly asOf: Date;
  private readonly decisionDays: Map<number, number>;
  private readonly acceptance: Map<number, { amount: number; unit: DeadlineUnit }>;
  private readonly index = new Map(QUALITY_COUNTS.map((m, i) => [m, i]));

  constructor(
    refs: OpenDataReferences,
    cut: Date,
    private readonly peopleCap: number,
  ) {
    this.calendar = new WorkingCalendar(refs.holidays ?? []);
    this.cut = cut.getTime();
    this.asOf = new Date(this.cut - 1);
    this.decisionDays = new Map(refs.benefitTypes.map((b) => [b.id, b.decisionWorkingDays ?? DEFAULT_DECISION_DAYS]));
    this.acceptance = new Map(refs.visitReasons.map((r) => [r.id, r.acceptance ?? DEFAULT_ACCEPTANCE]));
    const regionCodes = new Map(refs.regions.map((r) => [r.id, r.code]));
    for (const d of refs.districts) {
      const code = regionCodes.get(d.regionId);
      if (code !== undefined) this.places.set(d.id, { district: districtUnit(d.code), region: regionUnit(code) });
    }
  }

  private tallyOf(scope: string): Tally {
    let t = this.tallies.get(scope);
    if (!t) {
      const people = () => new PeopleUpTo(this.peopleCap);
      t = {
        values: new Array<number>(QUALITY_COUNTS.length).fill(0),
        people: QUALITY_COUNTS.map(people),
        stats: {
          decisionPeople: people(),
          decisionLateDays: new Map(),
          decisionLatePeople: people(),
          visitPeople: people(),
          visitLateDays: new Map(),
          visitLatePeople: people(),
          ratingPeople: { visit: people(), decision: people() },
        },
      };
      this.tallies.set(scope, t);
    }
    return t;
  }

  /** The five scopes of a subject made at `startedAt` in this district; none outside the release. */
  private scopesOf(districtId: number | null, startedAt: Date): Tally[] {
    const place = districtId === null ? undefined : this.places.get(districtId);
    if (!place || startedAt.getTime() >= this.cut) return [];
    const month = monthOf(startedAt);
    return [
      scopeId(NATIONAL, ALL_TIME),
      scopeId(place.region, ALL_TIME),
      scopeId(place.district, ALL_TIME),
      scopeId(NATIONAL, month),
      scopeId(place.region, month),
    ].map((s) => this.tallyOf(s));
  }

  private add(scopes: Tally[], measure: string, citizenId: number, amount = 1): void {
    const i = this.index.get(measure) as number;
    for (const t of scopes) {
      t.values[i] = (t.values[i] as number) + amount;
      (t.people[i] as PeopleUpTo).add(citizenId);
    }
  }

  private before(at: Date | null | undefined): at is Date {
    return at !== null && at !== undefined && at.getTime() < this.cut;
  }

  /**
   * Decided within the deadline, or how many working days late (at least one: a decision on the
   * Saturday after a Friday deadline cost nobody a working day). Withdrawn applications and
   * decisions without a recorded time are left out, as are applications not yet due at the cut.
   */
  application(a: ApplicationRow): void {
    const outcome = applicationOutcome(a.status);
    if (outcome === "withdrawn") return;
    const decided = outcome === "approved" || outcome === "rejected";
    if (decided && !a.decidedAt) return;
    const scopes = this.scopesOf(a.districtId, a.submittedAt);
    if (scopes.length === 0) return;
    const deadline = this.calendar.addWorkingDays(
      a.submittedAt,
      this.decisionDays.get(a.benefitTypeId) ?? DEFAULT_DECISION_DAYS,
    );
    const at = decided && this.before(a.decidedAt) ? a.decidedAt : undefined;
    if (!at && deadline.getTime() >= this.cut) return;
    const late = this.calendar.workingDaysLate(deadline, at ?? this.asOf);
    this.add(scopes, late > 0 ? DECISIONS_LATE : DECISIONS_ON_TIME, a.citizenId);
    for (const { stats } of scopes) {
      stats.decisionPeople.add(a.citizenId);
      if (late > 0) {
        stats.decisionLateDays.set(late, (stats.decisionLateDays.get(late) ?? 0) + 1);
        stats.decisionLatePeople.add(a.citizenId);
      }
    }
  }

  /**
   * Accepted within the acceptance deadline (working days or office hours), or how many working
   * days late (the day of acceptance counted). A request cancelled before anyone accepted it, or
   * one with no recorded acceptance, is left out; one still waiting at the cut counts once its
   * deadline has passed.
   */
  visit(v: VisitRow): void {
    const accepted = this.before(v.acceptedAt) ? v.acceptedAt : undefined;
    // Waiting at the cut: still "requested" now, or accepted only after the cut. Anything else
    // without a recorded acceptance (cancelled first, or moved on without a history) is left out.
    const waiting = !accepted && (v.status === "requested" || (v.acceptedAt != null && !this.before(v.acceptedAt)));
    if (!accepted && !waiting) return;
    const scopes = this.scopesOf(v.districtId, v.createdAt);
    if (scopes.length === 0) return;
    const rule = this.acceptance.get(v.reasonId) ?? DEFAULT_ACCEPTANCE;
    const deadline = this.calendar.addDeadline(v.createdAt, rule.amount, rule.unit);
    if (!accepted && deadline.getTime() >= this.cut) return;
    const at = accepted ?? this.asOf;
    const isLate = this.calendar.lateBy(deadline, at, rule.unit) > 0;
    const late = isLate ? Math.max(1, this.calendar.workingDaysLate(deadline, at)) : 0;
    this.add(scopes, isLate ? VISITS_LATE : VISITS_ON_TIME, v.citizenId);
    for (const { stats } of scopes) {
      stats.visitPeople.add(v.citizenId);
      if (isLate) {
        stats.visitLateDays.set(late, (stats.visitLateDays.get(late) ?? 0) + 1);
        stats.visitLatePeople.add(v.citizenId);
      }
    }
  }

  escalation(e: EscalationRow): void {
    if (!this.before(e.sentAt)) return;
    this.add(this.scopesOf(e.districtId, e.startedAt), "escalations.total", e.citizenId);
  }

  /** An answered rating; a score of 1–2 opened a follow-up, closed if closed before the cut. */
  feedback(f: FeedbackRow): void {
    if (!this.before(f.answeredAt)) return;
    const scopes = this.scopesOf(f.districtId, f.startedAt);
    this.add(scopes, RATINGS[f.subjectKind], f.citizenId);
    this.add(scopes, SCORE_SUM[f.subjectKind], f.citizenId, f.score);
    for (const { stats } of scopes) stats.ratingPeople[f.subjectKind].add(f.citizenId);
    if (f.followUpStatus === "open" || f.followUpStatus === "closed") {
      this.add(scopes, "followUps.opened", f.citizenId);
      if (f.followUpStatus === "closed" && this.before(f.followUpClosedAt))
        this.add(scopes, "followUps.closed", f.citizenId);
    }
  }

  /** Every cell of every scope, zeros included. */
  result(scopes: readonly string[]): QualityAggregates {
    const counts = new Map<string, RawCount>();
    const stats = new Map<string, QualityStats>();
    for (const scope of scopes) {
      const t = this.tallyOf(scope);
      QUALITY_COUNTS.forEach((measure, i) => {
        counts.set(cellId(scope, measure), { value: t.values[i] as number, people: (t.people[i] as PeopleUpTo).size });
      });
      stats.set(scope, t.stats);
    }
    return { counts, stats };
  }
}

/**
 * The sums a reader knows between quality cells: nation = Σ regions (whole period and each month),
 * region = Σ its districts, whole period = Σ months.
 */
export function qualityGroups(refs: OpenDataReferences, months: readonly string[]): Group[] {
  const groups: Group[] = [];
  for (const measure of QUALITY_COUNTS) {
    for (const period of [ALL_TIME, ...months]) {
      groups.push({
        total: cellId(scopeId(NATIONAL, period), measure),
        parts: refs.regions.map((r) => cellId(scopeId(regionUnit(r.code), period), measure)),
      });
    }
    for (const region of refs.regions) {
      groups.push({
        total: cellId(scopeId(regionUnit(region.code), ALL_TIME), measure),
        parts: refs.districts
          .filter((d) => d.regionId === region.id)
          .map((d) => cellId(scopeId(districtUnit(d.code), ALL_TIME), measure)),
      });
    }
    for (const unit of [NATIONAL, ...refs.regions.map((r) => regionUnit(r.code))]) {
      groups.push({
        total: cellId(scopeId(unit, ALL_TIME), measure),
        parts: months.map((m) => cellId(scopeId(unit, m), measure)),
      });
    }
  }
  return groups;
}

/**
 * The product's rules between quality cells of one scope, given where they hold: a follow-up is
 * opened by a rating and closed after it was opened (both in the subject's scope); a score sum lies
 * between one and five times its number of ratings.
 */
export function qualityRules(scopes: readonly string[], counts: ReadonlyMap<string, RawCount>): Relation[] {
  const rules: Relation[] = [];
  const value = (id: string) => counts.get(id)?.value ?? 0;
  const rule = (r: Relation) => {
    if (r.terms.reduce((sum, t) => sum + t.coefficient * value(t.cell), 0) <= 0) rules.push(r);
  };
  for (const scope of scopes) {
    const id = (m: string) => cellId(scope, m);
    rule(atMost([id("followUps.closed")], id("followUps.opened")));
    rule({
      kind: "le",
      terms: [
        { cell: id("followUps.opened"), coefficient: 1 },
        { cell: id(RATINGS.visit), coefficient: -1 },
        { cell: id(RATINGS.decision), coefficient: -1 },
      ],
    });
    for (const kind of ["visit", "decision"] as const) {
      rule(atMost([id(RATINGS[kind])], id(SCORE_SUM[kind])));
      rule({
        kind: "le",
        terms: [
          { cell: id(SCORE_SUM[kind]), coefficient: 1 },
          { cell: id(RATINGS[kind]), coefficient: -5 },
        ],
      });
    }
  }
  return rules;
}

export type QualityFigures = Record<string, Cell>;

const hidden: Cell = { value: null, suppressed: true };
const shown = (value: number): Cell => ({ value, suppressed: false });

/**
 * The published figures of one scope: counts unless suppressed; each statistic only over at least
 * MIN_PEOPLE people and where every count it is computed from is published (a share times its
 * population is a count; an average times its ratings is a score sum).
 */
export function qualityFigures(scope: string, raw: QualityAggregates, suppressed: ReadonlySet<string>): QualityFigures {
  const s = raw.stats.get(scope) as QualityStats;
  const count = (m: string) => (raw.counts.get(cellId(scope, m)) as RawCount).value;
  const sourced = (stat: string) => (STAT_SOURCES[stat] ?? []).every((m) => !suppressed.has(cellId(scope, m)));
  const enough = (people: PeopleUpTo) => people.size >= MIN_PEOPLE;
  const share = (stat: string, people: PeopleUpTo, within: string, late: string) => {
    const total = count(within) + count(late);
    return enough(people) && total > 0 && sourced(stat) ? shown(round(count(within) / total, 3)) : hidden;
  };
  const lateMedian = (stat: string, people: PeopleUpTo, days: ReadonlyMap<number, number>) => {
    const m = histogramMedian(days);
    return enough(people) && m !== undefined && sourced(stat) ? shown(round(m, 1)) : hidden;
  };
  const average = (stat: string, kind: "visit" | "decision") => {
    const n = count(RATINGS[kind]);
    return enough(s.ratingPeople[kind]) && n > 0 && sourced(stat)
      ? shown(round(count(SCORE_SUM[kind]) / n, 2))
      : hidden;
  };
  const figures: QualityFigures = {};
  for (const { key } of QUALITY_MEASURES) {
    if (PUBLISHED_COUNTS.has(key)) {
      figures[key] = suppressed.has(cellId(scope, key)) ? hidden : shown(count(key));
      continue;
    }
    switch (key) {
      case "decisions.shareWithinDeadline":
        figures[key] = share(key, s.decisionPeople, DECISIONS_ON_TIME, DECISIONS_LATE);
        break;
      case "decisions.medianWorkingDaysLate":
        figures[key] = lateMedian(key, s.decisionLatePeople, s.decisionLateDays);
        break;
      case "visits.shareAcceptedWithinDeadline":
        figures[key] = share(key, s.visitPeople, VISITS_ON_TIME, VISITS_LATE);
        break;
      case "visits.medianWorkingDaysLate":
        figures[key] = lateMedian(key, s.visitLatePeople, s.visitLateDays);
        break;
      case "ratings.visits.average":
        figures[key] = average(key, "visit");
        break;
      case "ratings.decisions.average":
        figures[key] = average(key, "decision");
        break;
    }
  }
  return figures;
}

/** The median (the mean of the two middle values for an even count) of a value → count histogram. */
export function histogramMedian(histogram: ReadonlyMap<number, number>): number | undefined {
  const values = [...histogram.keys()].sort((a, b) => a - b);
  const n = values.reduce((sum, v) => sum + (histogram.get(v) as number), 0);
  if (n === 0) return undefined;
  /** The k-th smallest value (0-based). */
  const nth = (k: number) => {
    let seen = 0;
    for (const v of values) {
      seen += histogram.get(v) as number;
      if (k < seen) return v;
    }
    return values[values.length - 1] as number;
  };
  return n % 2 === 1 ? nth((n - 1) / 2) : (nth(n / 2 - 1) + nth(n / 2)) / 2;
}
