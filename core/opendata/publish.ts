import { UnsafeReleaseError } from "../domain/errors.js";
import type { Names } from "../domain/vocabulary.js";
import {
  Aggregation,
  ALL_TIME,
  aggregate,
  cellId,
  districtUnit,
  NATIONAL,
  type OpenDataReferences,
  type RawAggregates,
  type RawStats,
  regionUnit,
  scopeId,
} from "./aggregate.js";
import { atMost, auditRelease, type Interval, type Relation, sumRelation } from "./audit.js";
import { type DemandIndexEntry, demandIndex, type NationalMedian } from "./demand-index.js";
import {
  DONE_LATE,
  DONE_ON_TIME,
  type MeasureCatalogue,
  MIN_PEOPLE,
  measureCatalogue,
  median,
  releaseCut,
  round,
} from "./measures.js";
import {
  type QualityAggregates,
  QualityAggregation,
  type QualityFigures,
  qualityFigures,
  qualityGroups,
  qualityRules,
} from "./quality.js";
import { type Group, type RawCount, suppressCells } from "./suppress.js";
import type { CategoryRef, Cell, OpenDataInput, OpenDataStream } from "./types.js";

/** Published figures of one unit and period, keyed by measure (see measureCatalogue). */
export type Figures = Record<string, Cell>;

export interface MonthFigures {
  month: string;
  /** Always false: a release holds only whole months before its cut (kept for schema version 1). */
  partial: boolean;
  figures: Figures;
}

export interface DistrictFigures {
  code: string;
  regionCode: string;
  names: Names;
  figures: Figures;
  households: number | null;
  mahallas: number;
  mahallasWithHouseholds: number;
  demand: Record<string, DemandIndexEntry>;
}

export interface RegionFigures {
  code: string;
  iso: string | null;
  names: Names;
  figures: Figures;
  months: MonthFigures[];
  districts: DistrictFigures[];
}

export interface OpenDataSnapshot {
  generatedAt: Date;
  /** Events before this instant (the start of the Tashkent month of generatedAt) are in the release. */
  cut: Date;
  months: string[];
  catalogue: MeasureCatalogue;
  benefitTypes: CategoryRef[];
  visitReasons: CategoryRef[];
  /** Count measures the demand index is given for, in order. */
  demandCategories: string[];
  demandMedians: Record<string, NationalMedian>;
  national: { figures: Figures; months: MonthFigures[] };
  regions: RegionFigures[];
  /** What the release audit found: every suppressed cell's feasible interval for a reader. */
  audit: ReleaseAudit;
  /** Service-quality figures (quality.ts) of every scope of the release, by scope id (scopeId()). */
  quality: ReadonlyMap<string, QualityFigures>;
  /** The audit of the service-quality cells, a table of their own with its own relations. */
  qualityAudit: ReleaseAudit;
}

export interface ReleaseAudit {
  /** Cells suppressed (internal counts included), and how many of them rounds of the audit added. */
  suppressed: number;
  addedByAudit: number;
  rounds: number;
  solves: number;
  /** Smallest protection interval (max − min) over the suppressed cells; Infinity when none. */
  narrowestInterval: number;
  /** Cells published as zero because their district has no mahalla in the register. */
  structuralZeros: number;
}

/**
 * Every additive relation a reader knows between the cells of a release: each breakdown of a scope
 * sums to its total; nation = Σ regions (whole period and each month); region = Σ its districts;
 * whole period = Σ months (nation and each region).
 */
function additiveGroups(input: OpenDataReferences, months: string[], catalogue: MeasureCatalogue, scopes: string[]) {
  const groups: Group[] = [];
  for (const scope of scopes) {
    for (const p of catalogue.partitions) {
      groups.push({ total: cellId(scope, p.total), parts: p.parts.map((m) => cellId(scope, m)) });
    }
  }
  const regionScopes = (period: string) => input.regions.map((r) => scopeId(regionUnit(r.code), period));
  for (const measure of catalogue.allCounts) {
    for (const period of [ALL_TIME, ...months]) {
      groups.push({
        total: cellId(scopeId(NATIONAL, period), measure),
        parts: regionScopes(period).map((s) => cellId(s, measure)),
      });
    }
    for (const region of input.regions) {
      const districts = input.districts.filter((d) => d.regionId === region.id);
      groups.push({
        total: cellId(scopeId(regionUnit(region.code), ALL_TIME), measure),
        parts: districts.map((d) => cellId(scopeId(districtUnit(d.code), ALL_TIME), measure)),
      });
    }
    for (const unit of [NATIONAL, ...input.regions.map((r) => regionUnit(r.code))]) {
      groups.push({
        total: cellId(scopeId(unit, ALL_TIME), measure),
        parts: months.map((m) => cellId(scopeId(unit, m), measure)),
      });
    }
  }
  return groups;
}

/**
 * The product's own rules a reader can know, as inequalities. Over the whole period of a unit,
 * appeals still pending or dismissed each belong to a different application that is rejected now
 * (a rejected application is appealed; only an upheld appeal moves it on, and appellant and
 * application share the citizen's district). Months are left out: an appeal's month is not its
 * application's. Visits done on time and late (the on-time share's counts) are among the done
 * visits, in every scope. A rule is only given to the solver where it holds, as a reader's belief that
 * does not hold would tell them nothing true.
 */
function productRules(scopes: string[], counts: ReadonlyMap<string, RawCount>): Relation[] {
  const rules: Relation[] = [];
  for (const scope of scopes) {
    // The on-time share's counts are of done visits (those with a recorded time of completion).
    rules.push(atMost([cellId(scope, DONE_ON_TIME), cellId(scope, DONE_LATE)], cellId(scope, "visits.byOutcome.done")));
    if (!scope.endsWith(`@${ALL_TIME}`)) continue;
    const appeals = [cellId(scope, "appeals.byOutcome.pending"), cellId(scope, "appeals.byOutcome.dismissed")];
    const rejected = cellId(scope, "applications.byOutcome.rejected");
    const sum = appeals.reduce((n, id) => n + (counts.get(id)?.value ?? 0), 0);
    if (sum <= (counts.get(rejected)?.value ?? 0)) rules.push(atMost(appeals, rejected));
  }
  return rules;
}

/**
 * Scopes a reader knows to be empty: a district whose register has no active mahalla (`mahallas`
 * is published) and, when all of a region's districts are such, the region in every period. Their
 * cells are published as 0 when they are 0 (nobody can be behind them, so nothing is disclosed) and
 * are constants, not protection, for the audit. A district without active mahallas that still
 * counts someone (a citizen of a deactivated mahalla) is treated like any other.
 */
function structurallyEmpty(
  refs: OpenDataReferences,
  months: string[],
  catalogue: MeasureCatalogue,
  counts: ReadonlyMap<string, RawCount>,
): Set<string> {
  const zero = (scope: string) => catalogue.allCounts.every((m) => counts.get(cellId(scope, m))?.value === 0);
  const scopes = new Set<string>();
  for (const region of refs.regions) {
    const districts = refs.districts.filter((d) => d.regionId === region.id);
    const empty = districts.filter((d) => d.mahallas === 0 && zero(scopeId(districtUnit(d.code), ALL_TIME)));
    for (const d of empty) scopes.add(scopeId(districtUnit(d.code), ALL_TIME));
    if (empty.length === districts.length) {
      for (const period of [ALL_TIME, ...months]) scopes.add(scopeId(regionUnit(region.code), period));
    }
  }
  return scopes;
}

/** Rounds of audit and further suppression before a release is declared unsafe. */
const MAX_ROUNDS = 60;
/**
 * Narrow cells one round acts on before auditing again: suppressing around a few of them usually
 * protects their neighbours too, which are then proven by witnesses instead of a program each.
 */
const NARROW_PER_ROUND = 40;

/**
 * Suppression proven by the solver. Starts from primary suppression (fewer than MIN_PEOPLE people)
 * and the complementary rule, then audits the whole release: every suppressed cell's feasible
 * interval over all relations must be at least MIN_PEOPLE wide. For each cell that is not, the
 * nearest published cell in its relations (smallest value first) is suppressed too, and the audit
 * runs again. Only adds suppressions, so it ends; a release still unsafe after MAX_ROUNDS, or with a
 * narrow cell and nothing left to suppress around it, throws UnsafeReleaseError.
 */
async function provenSuppression(
  counts: ReadonlyMap<string, RawCount>,
  groups: Group[],
  rules: Relation[],
  known: ReadonlySet<string>,
  pause: () => Promise<void>,
): Promise<{
  suppressed: Set<string>;
  intervals: Map<string, Interval>;
  added: number;
  rounds: number;
  solves: number;
}> {
  const open = new Map([...counts].filter(([id]) => !known.has(id)));
  // Known cells are constants: no protection for anyone, so they leave the heuristic's groups.
  const openGroups = groups
    .filter((g) => !known.has(g.total))
    .map((g) => ({ total: g.total, parts: g.parts.filter((p) => !known.has(p)) }));
  const suppressed = suppressCells(open, openGroups, MIN_PEOPLE);
  const relations = [...groups.map((g) => sumRelation(g.total, g.parts)), ...rules];
  const values = new Map([...counts].map(([id, c]) => [id, c.value]));
  const relationsOf = new Map<string, number[]>();
  relations.forEach((r, i) => {
    for (const { cell } of r.terms) {
      const list = relationsOf.get(cell);
      if (list) list.push(i);
      else relationsOf.set(cell, [i]);
    }
  });
  let added = 0;
  let solves = 0;
  const intervals = new Map<string, Interval>();
  let check: Set<string> = new Set(suppressed);
  for (let round = 1; ; round++) {
    const audit = await auditRelease(values, suppressed, relations, MIN_PEOPLE, pause, check, NARROW_PER_ROUND);
    solves += audit.solves;
    for (const [cell, iv] of audit.intervals) intervals.set(cell, iv);
    if (audit.narrow.length === 0 && audit.unexamined.length === 0) {
      return { suppressed, intervals, added, rounds: round, solves };
    }
    if (round >= MAX_ROUNDS) {
      throw new UnsafeReleaseError(
        `still ${audit.narrow.length} narrow cells after ${round} audit rounds`,
        audit.narrow,
      );
    }
    const picks = new Set<string>();
    for (const cell of audit.narrow) {
      const pick = nearestPublished(cell, relations, relationsOf, suppressed, known, values);
      if (pick === undefined) {
        throw new UnsafeReleaseError(`${cell} cannot be protected: nothing published is left around it`, [cell]);
      }
      picks.add(pick);
    }
    // The heuristic again, from the suppression so far: it closes at once the groups a pick leaves
    // with a single hidden cell, which would otherwise take an audit round each.
    const before = new Set(suppressed);
    for (const cell of suppressCells(open, openGroups, MIN_PEOPLE, [...suppressed, ...picks])) suppressed.add(cell);
    const fresh = [...suppressed].filter((cell) => !before.has(cell));
    added += fresh.length;
    // Only these can still be narrow: more suppression never narrows a cell already protected.
    check = new Set([...audit.narrow, ...fresh, ...audit.unexamined]);
  }
}

/** Breadth-first over shared relations: the smallest published, not known, cell at the least distance. */
function nearestPublished(
  start: string,
  relations: Relation[],
  relationsOf: ReadonlyMap<string, number[]>,
  suppressed: ReadonlySet<string>,
  known: ReadonlySet<string>,
  values: ReadonlyMap<string, number>,
): string | undefined {
  const seen = new Set([start]);
  let frontier = [start];
  while (frontier.length > 0) {
    const next: string[] = [];
    let best: string | undefined;
    for (const cell of frontier) {
      for (const r of relationsOf.get(cell) ?? []) {
        for (const { cell: other } of (relations[r] as Relation).terms) {
          if (seen.has(other)) continue;
          seen.add(other);
          next.push(other);
          if (suppressed.has(other) || known.has(other)) continue;
          const v = values.get(other) as number;
          const b = best === undefined ? undefined : (values.get(best) as number);
          if (b === undefined || v < b || (v === b && other < (best as string))) best = other;
        }
      }
    }
    if (best !== undefined) return best;
    frontier = next;
  }
  return undefined;
}

const hidden: Cell = { value: null, suppressed: true };
const shown = (value: number): Cell => ({ value, suppressed: false });

/**
 * The whole open data set at `now`: aggregation, suppression across every linked table, statistics
 * and the demand index. Computed as one piece because a cell hidden in one table must stay hidden in
 * every table it can be derived from.
 */
export function buildSnapshot(input: OpenDataInput, now: Date, options: BuildOptions = {}): Promise<OpenDataSnapshot> {
  const { refs, catalogue } = prepare(input);
  const raw = aggregate({ ...input, ...refs }, catalogue, releaseCut(now), MIN_PEOPLE);
  const quality = new QualityAggregation(refs, releaseCut(now), MIN_PEOPLE);
  for (const a of input.applications) quality.application(a);
  for (const v of input.visits) quality.visit(v);
  for (const e of input.escalations ?? []) quality.escalation(e);
  for (const f of input.feedback ?? []) quality.feedback(f);
  return publish(refs, catalogue, raw, quality.result(raw.scopes), now, options);
}

export interface BuildOptions {
  /** Awaited between solver runs (a server passes a yield to its event loop). */
  pause?: () => Promise<void>;
}

/** buildSnapshot over rows read page by page: memory does not grow with the register. */
export async function buildSnapshotFrom(
  stream: OpenDataStream,
  now: Date,
  options: BuildOptions = {},
): Promise<OpenDataSnapshot> {
  const { refs, catalogue } = prepare(stream);
  const aggregation = new Aggregation(refs, catalogue, releaseCut(now), MIN_PEOPLE);
  const quality = new QualityAggregation(refs, releaseCut(now), MIN_PEOPLE);
  for await (const page of stream.applications)
    for (const a of page) {
      aggregation.application(a);
      quality.application(a);
    }
  for await (const page of stream.appeals) for (const p of page) aggregation.appeal(p);
  for await (const page of stream.visits)
    for (const v of page) {
      aggregation.visit(v);
      quality.visit(v);
    }
  for await (const page of stream.escalations ?? []) for (const e of page) quality.escalation(e);
  for await (const page of stream.feedback ?? []) for (const f of page) quality.feedback(f);
  const raw = aggregation.result();
  return publish(refs, catalogue, raw, quality.result(raw.scopes), now, options);
}

/** Reference data in the published order (regions and districts by code, categories by sortOrder). */
function prepare(input: OpenDataReferences): { refs: OpenDataReferences; catalogue: MeasureCatalogue } {
  const benefitTypes = [...input.benefitTypes].sort((a, b) => a.sortOrder - b.sortOrder || a.id - b.id);
  const visitReasons = [...input.visitReasons].sort((a, b) => a.sortOrder - b.sortOrder || a.id - b.id);
  const regions = [...input.regions].sort((a, b) => (a.code < b.code ? -1 : 1));
  const districts = [...input.districts].sort((a, b) => (a.code < b.code ? -1 : 1));
  return {
    refs: { benefitTypes, visitReasons, regions, districts, holidays: input.holidays ?? [] },
    catalogue: measureCatalogue(benefitTypes, visitReasons),
  };
}

async function publish(
  ordered: OpenDataReferences,
  catalogue: MeasureCatalogue,
  raw: RawAggregates,
  qualityRaw: QualityAggregates,
  now: Date,
  options: BuildOptions,
): Promise<OpenDataSnapshot> {
  const { benefitTypes, visitReasons, regions, districts } = ordered;
  const emptyScopes = structurallyEmpty(ordered, raw.months, catalogue, raw.counts);
  const known = new Set([...raw.counts.keys()].filter((id) => emptyScopes.has(id.slice(0, id.indexOf("#")))));
  const proven = await provenSuppression(
    raw.counts,
    additiveGroups(ordered, raw.months, catalogue, raw.scopes),
    productRules(raw.scopes, raw.counts),
    known,
    options.pause ?? (async () => {}),
  );
  const { suppressed } = proven;
  let narrowest = Number.POSITIVE_INFINITY;
  for (const iv of proven.intervals.values()) narrowest = Math.min(narrowest, iv.max - iv.min);

  // The quality cells of an empty scope are constants too, when they are all zero (nobody behind them).
  const qualityKnown = new Set(
    [...qualityRaw.counts]
      .filter(([id, c]) => c.value === 0 && emptyScopes.has(id.slice(0, id.indexOf("#"))))
      .map(([id]) => id),
  );
  const qualityProven = await provenSuppression(
    qualityRaw.counts,
    qualityGroups(ordered, raw.months),
    qualityRules(raw.scopes, qualityRaw.counts),
    qualityKnown,
    options.pause ?? (async () => {}),
  );
  let qualityNarrowest = Number.POSITIVE_INFINITY;
  for (const iv of qualityProven.intervals.values()) qualityNarrowest = Math.min(qualityNarrowest, iv.max - iv.min);
  const quality = new Map(
    raw.scopes.map((scope) => [scope, qualityFigures(scope, qualityRaw, qualityProven.suppressed)] as const),
  );

  const figuresOf = (scope: string): Figures => {
    const figures: Figures = {};
    for (const measure of catalogue.counts) {
      const id = cellId(scope, measure);
      figures[measure] = suppressed.has(id) ? hidden : shown((raw.counts.get(id) as { value: number }).value);
    }
    const internal = (measure: string): Cell => {
      const id = cellId(scope, measure);
      return suppressed.has(id) ? hidden : shown((raw.counts.get(id) as { value: number }).value);
    };
    Object.assign(
      figures,
      statFigures(
        raw.stats.get(scope) as RawStats,
        { ...figures, [DONE_ON_TIME]: internal(DONE_ON_TIME), [DONE_LATE]: internal(DONE_LATE) },
        catalogue,
      ),
    );
    return figures;
  };
  const monthsOf = (unit: string): MonthFigures[] =>
    raw.months.map((month) => ({ month, partial: false, figures: figuresOf(scopeId(unit, month)) }));

  const demandCategories = [
    "requests.total",
    "applications.total",
    "visits.total",
    ...benefitTypes.map((b) => `applications.byBenefitType.${b.code}`),
    ...visitReasons.map((r) => `visits.byReason.${r.code}`),
  ];
  const districtFigures = districts.map((d) => ({
    district: d,
    figures: figuresOf(scopeId(districtUnit(d.code), ALL_TIME)),
  }));
  const demand = demandIndex(
    districtFigures.map(({ district, figures }) => ({ households: district.households, counts: figures })),
    demandCategories,
  );
  const regionCodes = new Map(regions.map((r) => [r.id, r.code]));
  const published: DistrictFigures[] = districtFigures.map(({ district, figures }, i) => ({
    code: district.code,
    regionCode: regionCodes.get(district.regionId) ?? "",
    names: district.names,
    figures,
    households: district.households,
    mahallas: district.mahallas,
    mahallasWithHouseholds: district.mahallasWithHouseholds,
    demand: demand.districts[i] as Record<string, DemandIndexEntry>,
  }));

  return {
    generatedAt: now,
    cut: releaseCut(now),
    months: raw.months,
    catalogue,
    benefitTypes,
    visitReasons,
    demandCategories,
    demandMedians: demand.medians,
    national: { figures: figuresOf(scopeId(NATIONAL, ALL_TIME)), months: monthsOf(NATIONAL) },
    regions: regions.map((r) => ({
      code: r.code,
      iso: r.iso,
      names: r.names,
      figures: figuresOf(scopeId(regionUnit(r.code), ALL_TIME)),
      months: monthsOf(regionUnit(r.code)),
      districts: published.filter((d) => d.regionCode === r.code),
    })),
    audit: {
      suppressed: suppressed.size,
      addedByAudit: proven.added,
      rounds: proven.rounds,
      solves: proven.solves,
      narrowestInterval: narrowest,
      structuralZeros: known.size,
    },
    quality,
    qualityAudit: {
      suppressed: qualityProven.suppressed.size,
      addedByAudit: qualityProven.added,
      rounds: qualityProven.rounds,
      solves: qualityProven.solves,
      narrowestInterval: qualityNarrowest,
      structuralZeros: qualityKnown.size,
    },
  };
}

/**
 * Medians and shares: each is published only over at least MIN_PEOPLE people and where every count
 * it is computed from (catalogue.statSources) is published, so that it reveals no suppressed count:
 * with approved or rejected hidden, the approval share and the other count would give it away; the
 * on-time share × done visits is the number of visits done on time, which is therefore suppressed
 * and audited as a count of its own (DONE_ON_TIME, DONE_LATE) and the share shown only with it.
 */
function statFigures(s: RawStats, counts: Figures, catalogue: MeasureCatalogue): Figures {
  const enough = (people: { size: number }) => people.size >= MIN_PEOPLE;
  const sourced = (stat: string) =>
    (catalogue.statSources[stat] ?? []).every((m) => counts[m] !== undefined && !counts[m].suppressed);
  const days = median(s.decisionDays);
  const hours = median(s.doneHours);
  const onTime = counts[DONE_ON_TIME]?.value ?? null;
  const late = counts[DONE_LATE]?.value ?? null;
  return {
    "applications.approvalShare":
      enough(s.decidedPeople) && sourced("applications.approvalShare")
        ? shown(round(s.approved / s.decided, 3))
        : hidden,
    "applications.medianDaysToDecision":
      enough(s.decisionPeople) && days !== undefined && sourced("applications.medianDaysToDecision")
        ? shown(round(days, 1))
        : hidden,
    "visits.medianHoursToDone":
      enough(s.donePeople) && hours !== undefined && sourced("visits.medianHoursToDone")
        ? shown(round(hours, 1))
        : hidden,
    "visits.shareDoneWithin3WorkingDays":
      enough(s.donePeople) &&
      sourced("visits.shareDoneWithin3WorkingDays") &&
      onTime !== null &&
      late !== null &&
      onTime + late > 0
        ? shown(round(s.doneWithin / s.doneHours.length, 3))
        : hidden,
  };
}
