import { median, round } from "./measures.js";
import type { Cell } from "./types.js";

/** Why a district has no index for a category. */
export type NoIndexReason = "no_household_data" | "suppressed" | "no_national_median";

export interface DemandIndexEntry {
  /** The district's published request count for the category (null when suppressed). */
  count: number | null;
  /** Requests per 1,000 households, rounded to 2 decimals. */
  ratePer1000Households: number | null;
  /** District rate / national median rate, rounded to 2 decimals; 1.00 is the median district. */
  index: number | null;
  reason: NoIndexReason | null;
}

export interface DemandIndexDistrict {
  households: number | null;
  counts: Record<string, Cell>;
}

export interface NationalMedian {
  /** Median of the published district rates, rounded to 4 decimals (the index uses the exact value). */
  ratePer1000Households: number | null;
  /** How many districts the median is taken over. */
  districts: number;
}

export interface DemandIndexResult {
  medians: Record<string, NationalMedian>;
  districts: Record<string, DemandIndexEntry>[];
}

/**
 * Demand index per district and category: rate = requests / households × 1000, index = rate /
 * national median of the rates. The median is taken over districts that have household data and a
 * published count for the category, so every input is itself published: anyone can recompute the
 * index from the open data, and it reveals nothing that suppression hides.
 */
export function demandIndex(districts: DemandIndexDistrict[], categories: string[]): DemandIndexResult {
  const usable = (d: DemandIndexDistrict) => d.households !== null && d.households > 0;
  const rate = (d: DemandIndexDistrict, category: string) =>
    ((d.counts[category]?.value as number) / (d.households as number)) * 1000;

  const medians: Record<string, NationalMedian> = {};
  const exact: Record<string, number | undefined> = {};
  for (const category of categories) {
    const rates = districts.filter((d) => usable(d) && d.counts[category]?.value != null).map((d) => rate(d, category));
    const m = median(rates);
    exact[category] = m;
    medians[category] = { ratePer1000Households: m === undefined ? null : round(m, 4), districts: rates.length };
  }

  const result = districts.map((d) => {
    const entries: Record<string, DemandIndexEntry> = {};
    for (const category of categories) {
      const count = d.counts[category]?.value ?? null;
      const m = exact[category];
      if (!usable(d))
        entries[category] = { count, ratePer1000Households: null, index: null, reason: "no_household_data" };
      else if (count === null)
        entries[category] = { count, ratePer1000Households: null, index: null, reason: "suppressed" };
      else if (m === undefined || m === 0) {
        entries[category] = {
          count,
          ratePer1000Households: round(rate(d, category), 2),
          index: null,
          reason: "no_national_median",
        };
      } else {
        const r = rate(d, category);
        entries[category] = { count, ratePer1000Households: round(r, 2), index: round(r / m, 2), reason: null };
      }
    }
    return entries;
  });
  return { medians, districts: result };
}
