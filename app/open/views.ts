import type { Static, TSchema } from "typebox";
import type { Names } from "../../core/domain/vocabulary.js";
import { ALL_TIME, districtUnit, NATIONAL, regionUnit as regionScope, scopeId } from "../../core/opendata/aggregate.js";
import { MIN_PEOPLE } from "../../core/opendata/measures.js";
import type { Figures, MonthFigures, OpenDataSnapshot, RegionFigures } from "../../core/opendata/publish.js";
import { QUALITY_MEASURES, type QualityFigures } from "../../core/opendata/quality.js";
import {
  type DemandIndexResponse,
  type DistrictsResponse,
  type FiguresSchema,
  type MonthsResponse,
  type QualityFiguresSchema,
  type RegionsResponse,
  SCHEMA_VERSION,
  type ServiceQualityResponse,
} from "./schemas.js";

/** The JSON and CSV shapes of /open/v1, cut from one snapshot. Pure. */

type Json<T extends TSchema> = Static<T>;
type Row = (string | number | boolean | null)[];
export interface Table {
  header: string[];
  rows: Row[];
}

/** "applications.byOutcome.approved" → { applications: { byOutcome: { approved: … } } }. */
export function nest(figures: Figures): Json<typeof FiguresSchema> {
  const out: Record<string, unknown> = {};
  for (const [key, cell] of Object.entries(figures)) {
    const path = key.split(".");
    let node = out;
    for (const part of path.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = cell;
  }
  return out as Json<typeof FiguresSchema>;
}

function header(snapshot: OpenDataSnapshot, method: Names) {
  return {
    schemaVersion: SCHEMA_VERSION as typeof SCHEMA_VERSION,
    generatedAt: snapshot.generatedAt.toISOString(),
    period: { from: snapshot.months[0] ?? null, to: snapshot.months[snapshot.months.length - 1] ?? null },
    minPeople: MIN_PEOPLE,
    method,
  };
}

const regionUnit = (r: RegionFigures) => ({ code: r.code, iso: r.iso, names: r.names, figures: nest(r.figures) });

export function regionsJson(snapshot: OpenDataSnapshot, method: Names): Json<typeof RegionsResponse> {
  const category = (c: { code: string; names: Names }) => ({ code: c.code, names: c.names });
  return {
    ...header(snapshot, method),
    benefitTypes: snapshot.benefitTypes.map(category),
    visitReasons: snapshot.visitReasons.map(category),
    national: { code: "UZ", figures: nest(snapshot.national.figures) },
    regions: snapshot.regions.map(regionUnit),
  };
}

export function districtsJson(
  snapshot: OpenDataSnapshot,
  region: RegionFigures,
  method: Names,
): Json<typeof DistrictsResponse> {
  return {
    ...header(snapshot, method),
    region: regionUnit(region),
    districts: region.districts.map((d) => ({
      code: d.code,
      names: d.names,
      figures: nest(d.figures),
      households: d.households,
      mahallas: d.mahallas,
      mahallasWithHouseholds: d.mahallasWithHouseholds,
    })),
  };
}

export function monthsJson(
  snapshot: OpenDataSnapshot,
  region: RegionFigures | undefined,
  method: Names,
): Json<typeof MonthsResponse> {
  const months = region ? region.months : snapshot.national.months;
  return {
    ...header(snapshot, method),
    region: region ? { code: region.code, iso: region.iso, names: region.names } : null,
    months: months.map((m) => ({ month: m.month, partial: m.partial, figures: nest(m.figures) })),
  };
}

export function demandIndexJson(
  snapshot: OpenDataSnapshot,
  region: RegionFigures | undefined,
  method: Names,
): Json<typeof DemandIndexResponse> {
  const regions = region ? [region] : snapshot.regions;
  return {
    ...header(snapshot, method),
    categories: snapshot.demandCategories.map((key) => ({
      key,
      medianRatePer1000Households: snapshot.demandMedians[key]?.ratePer1000Households ?? null,
      districtsInMedian: snapshot.demandMedians[key]?.districts ?? 0,
    })),
    districts: regions.flatMap((r) =>
      r.districts.map((d) => ({
        regionCode: d.regionCode,
        code: d.code,
        names: d.names,
        households: d.households,
        mahallas: d.mahallas,
        mahallasWithHouseholds: d.mahallasWithHouseholds,
        index: d.demand,
      })),
    ),
  };
}

/** The quality figures of one scope of the release. */
export const qualityOf = (snapshot: OpenDataSnapshot, scope: string): QualityFigures =>
  snapshot.quality.get(scope) as QualityFigures;
const nestQuality = (figures: QualityFigures) => nest(figures) as unknown as Json<typeof QualityFiguresSchema>;

/** Whole period and months of the nation (no region asked) or of the one region asked for. */
export function serviceQualityJson(
  snapshot: OpenDataSnapshot,
  region: RegionFigures | undefined,
  method: Names,
): Json<typeof ServiceQualityResponse> {
  const months = (unit: string) =>
    snapshot.months.map((month) => ({ month, figures: nestQuality(qualityOf(snapshot, scopeId(unit, month))) }));
  const regions = region ? [region] : snapshot.regions;
  return {
    ...header(snapshot, method),
    region: region ? { code: region.code, iso: region.iso, names: region.names } : null,
    national: region
      ? null
      : {
          code: "UZ",
          figures: nestQuality(qualityOf(snapshot, scopeId(NATIONAL, ALL_TIME))),
          months: months(NATIONAL),
        },
    regions: regions.map((r) => ({
      code: r.code,
      iso: r.iso,
      names: r.names,
      figures: nestQuality(qualityOf(snapshot, scopeId(regionScope(r.code), ALL_TIME))),
      months: months(regionScope(r.code)),
      districts: r.districts.map((d) => ({
        code: d.code,
        names: d.names,
        figures: nestQuality(qualityOf(snapshot, scopeId(districtUnit(d.code), ALL_TIME))),
      })),
    })),
  };
}

export const QUALITY_CSV_HEADER = [
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
];

/** Rows in the order of the JSON: each unit's whole period, then its months; a region's districts after it. */
export function serviceQualityCsv(snapshot: OpenDataSnapshot, region: RegionFigures | undefined): Table {
  const rows = (prefix: Row, month: string, figures: QualityFigures): Row[] =>
    QUALITY_MEASURES.map((m) => {
      const cell = figures[m.key] as { value: number | null; suppressed: boolean };
      return [...prefix, month, m.key, m.unit, cell.value, cell.suppressed];
    });
  const unitRows = (prefix: Row, unit: string): Row[] => [
    ...rows(prefix, "", qualityOf(snapshot, scopeId(unit, ALL_TIME))),
    ...snapshot.months.flatMap((month) => rows(prefix, month, qualityOf(snapshot, scopeId(unit, month)))),
  ];
  const regions = region ? [region] : snapshot.regions;
  return {
    header: QUALITY_CSV_HEADER,
    rows: [
      ...(region ? [] : unitRows(["national", "", "UZ", "", "", ""], NATIONAL)),
      ...regions.flatMap((r) => [
        ...unitRows(["region", r.code, r.code, ...nameColumns(r.names)], regionScope(r.code)),
        ...r.districts.flatMap((d) =>
          rows(
            ["district", r.code, d.code, ...nameColumns(d.names)],
            "",
            qualityOf(snapshot, scopeId(districtUnit(d.code), ALL_TIME)),
          ),
        ),
      ]),
    ],
  };
}

/* CSV: one row per unit and measure ("long" format), so new benefit types never move a column. */

export const FIGURES_CSV_HEADER = [
  "level",
  "region_code",
  "code",
  "name_uz",
  "name_uz_cyrl",
  "name_ru",
  "measure",
  "unit",
  "value",
  "suppressed",
];

function figureRows(snapshot: OpenDataSnapshot, prefix: Row, figures: Figures): Row[] {
  return snapshot.catalogue.measures.map((m) => {
    const cell = figures[m.key] as { value: number | null; suppressed: boolean };
    return [...prefix, m.key, m.unit, cell.value, cell.suppressed];
  });
}

const nameColumns = (n: Names): Row => [n.uz, n["uz-Cyrl"], n.ru];

export function regionsCsv(snapshot: OpenDataSnapshot): Table {
  return {
    header: FIGURES_CSV_HEADER,
    rows: [
      ...figureRows(snapshot, ["national", "", "UZ", "", "", ""], snapshot.national.figures),
      ...snapshot.regions.flatMap((r) =>
        figureRows(snapshot, ["region", r.code, r.code, ...nameColumns(r.names)], r.figures),
      ),
    ],
  };
}

export function districtsCsv(snapshot: OpenDataSnapshot, region: RegionFigures): Table {
  return {
    header: FIGURES_CSV_HEADER,
    rows: [
      ...figureRows(snapshot, ["region", region.code, region.code, ...nameColumns(region.names)], region.figures),
      ...region.districts.flatMap((d) =>
        figureRows(snapshot, ["district", region.code, d.code, ...nameColumns(d.names)], d.figures),
      ),
    ],
  };
}

export const MONTHS_CSV_HEADER = ["region_code", "month", "partial", "measure", "unit", "value", "suppressed"];

export function monthsCsv(snapshot: OpenDataSnapshot, region: RegionFigures | undefined): Table {
  const months: MonthFigures[] = region ? region.months : snapshot.national.months;
  return {
    header: MONTHS_CSV_HEADER,
    rows: months.flatMap((m) => figureRows(snapshot, [region?.code ?? "", m.month, m.partial], m.figures)),
  };
}

export const DEMAND_CSV_HEADER = [
  "region_code",
  "district_code",
  "name_uz",
  "name_uz_cyrl",
  "name_ru",
  "households",
  "category",
  "count",
  "rate_per_1000_households",
  "national_median_rate",
  "index",
  "reason",
];

export function demandIndexCsv(snapshot: OpenDataSnapshot, region: RegionFigures | undefined): Table {
  const regions = region ? [region] : snapshot.regions;
  return {
    header: DEMAND_CSV_HEADER,
    rows: regions.flatMap((r) =>
      r.districts.flatMap((d) =>
        snapshot.demandCategories.map((key) => {
          const e = d.demand[key];
          return [
            d.regionCode,
            d.code,
            ...nameColumns(d.names),
            d.households,
            key,
            e?.count ?? null,
            e?.ratePer1000Households ?? null,
            snapshot.demandMedians[key]?.ratePer1000Households ?? null,
            e?.index ?? null,
            e?.reason ?? "",
          ];
        }),
      ),
    ),
  };
}

/** RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or line break quoted. Null is empty. */
export function toCsv(table: Table): string {
  const field = (v: string | number | boolean | null) => {
    if (v === null) return "";
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[table.header, ...table.rows].map((row) => row.map(field).join(",")).join("\r\n")}\r\n`;
}
