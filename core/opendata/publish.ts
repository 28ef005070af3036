import type { Names } from "../engine/types.js";
import {
  ALL_TIME,
  Aggregation,
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
import { type DemandIndexEntry, demandIndex, type NationalMedian } from "./demand-index.js";
import { type MeasureCatalogue, MIN_PEOPLE, measureCatalogue, median, monthOf, round } from "./measures.js";
import { type Group, suppressCells } from "./suppress.js";
import type { CategoryRef, Cell, OpenDataInput, OpenDataStream } from "./types.js";

/** Published figures of one unit and period, keyed by measure (see measureCatalogue). */
export type Figures = Record<string, Cell>;

export interface MonthFigures {
  month: string;
  /** The current month, still being filled. */
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
  months: string[];
  catalogue: MeasureCatalogue;
  benefitTypes: CategoryRef[];
  visitReasons: CategoryRef[];
  /** Count measures the demand index is given for, in order. */
  demandCategories: string[];
  demandMedians: Record<string, NationalMedian>;
  national: { figures: Figures; months: MonthFigures[] };
  regions: RegionFigures[];
}

/** Additive relations between published cells: categories within a scope, geography, and time. */
function suppressionGroups(input: OpenDataReferences, months: string[], catalogue: MeasureCatalogue, scopes: string[]) {
  const groups: Group[] = [];
  for (const scope of scopes) {
    for (const p of catalogue.partitions) {
      groups.push({ total: cellId(scope, p.total), parts: p.parts.map((m) => cellId(scope, m)) });
    }
  }
  const regionScopes = (period: string) => input.regions.map((r) => scopeId(regionUnit(r.code), period));
  for (const measure of catalogue.counts) {
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

const hidden: Cell = { value: null, suppressed: true };
const shown = (value: number): Cell => ({ value, suppressed: false });

/**
 * The whole open data set at `now`: aggregation, suppression across every linked table, statistics
 * and the demand index. Computed as one piece because a cell hidden in one table must stay hidden in
 * every table it can be derived from.
 */
export function buildSnapshot(input: OpenDataInput, now: Date): OpenDataSnapshot {
  const { refs, catalogue } = prepare(input);
  return publish(refs, catalogue, aggregate({ ...input, ...refs }, catalogue, now, MIN_PEOPLE), now);
}

/** buildSnapshot over rows read page by page: memory does not grow with the register. */
export async function buildSnapshotFrom(stream: OpenDataStream, now: Date): Promise<OpenDataSnapshot> {
  const { refs, catalogue } = prepare(stream);
  const aggregation = new Aggregation(refs, catalogue, now, MIN_PEOPLE);
  for await (const page of stream.applications) for (const a of page) aggregation.application(a);
  for await (const page of stream.appeals) for (const p of page) aggregation.appeal(p);
  for await (const page of stream.visits) for (const v of page) aggregation.visit(v);
  return publish(refs, catalogue, aggregation.result(), now);
}

/** Reference data in the published order (regions and districts by code, categories by sortOrder). */
function prepare(input: OpenDataReferences): { refs: OpenDataReferences; catalogue: MeasureCatalogue } {
  const benefitTypes = [...input.benefitTypes].sort((a, b) => a.sortOrder - b.sortOrder || a.id - b.id);
  const visitReasons = [...input.visitReasons].sort((a, b) => a.sortOrder - b.sortOrder || a.id - b.id);
  const regions = [...input.regions].sort((a, b) => (a.code < b.code ? -1 : 1));
  const districts = [...input.districts].sort((a, b) => (a.code < b.code ? -1 : 1));
  return {
    refs: { benefitTypes, visitReasons, regions, districts },
    catalogue: measureCatalogue(benefitTypes, visitReasons),
  };
}

function publish(
  ordered: OpenDataReferences,
  catalogue: MeasureCatalogue,
  raw: RawAggregates,
  now: Date,
): OpenDataSnapshot {
  const { benefitTypes, visitReasons, regions, districts } = ordered;
  const suppressed = suppressCells(
    raw.counts,
    suppressionGroups(ordered, raw.months, catalogue, raw.scopes),
    MIN_PEOPLE,
  );

  const figuresOf = (scope: string): Figures => {
    const figures: Figures = {};
    for (const measure of catalogue.counts) {
      const id = cellId(scope, measure);
      figures[measure] = suppressed.has(id) ? hidden : shown((raw.counts.get(id) as { value: number }).value);
    }
    Object.assign(figures, statFigures(raw.stats.get(scope) as RawStats, figures));
    return figures;
  };
  const current = monthOf(now);
  const monthsOf = (unit: string): MonthFigures[] =>
    raw.months.map((month) => ({ month, partial: month === current, figures: figuresOf(scopeId(unit, month)) }));

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
  };
}

/**
 * Medians and shares, published only over at least MIN_PEOPLE people. The approval share also needs
 * both of its counts published: with one of them hidden, share and the other count would reveal it.
 */
function statFigures(s: RawStats, counts: Figures): Figures {
  const enough = (people: { size: number }) => people.size >= MIN_PEOPLE;
  const days = median(s.decisionDays);
  const hours = median(s.doneHours);
  const approvalVisible =
    enough(s.decidedPeople) &&
    !counts["applications.byOutcome.approved"]?.suppressed &&
    !counts["applications.byOutcome.rejected"]?.suppressed;
  return {
    "applications.approvalShare": approvalVisible ? shown(round(s.approved / s.decided, 3)) : hidden,
    "applications.medianDaysToDecision":
      enough(s.decisionPeople) && days !== undefined ? shown(round(days, 1)) : hidden,
    "visits.medianHoursToDone": enough(s.donePeople) && hours !== undefined ? shown(round(hours, 1)) : hidden,
    "visits.shareDoneWithin3WorkingDays": enough(s.donePeople)
      ? shown(round(s.doneWithin / s.doneHours.length, 3))
      : hidden,
  };
}
