import { WEEKDAYS_ONLY, type WorkingCalendar } from "../domain/calendar.js";
import type { CategoryRef } from "./types.js";

/** Cells counting fewer people than this are not published. */
export const MIN_PEOPLE = 10;

export const APPLICATION_OUTCOMES = ["pending", "approved", "rejected", "withdrawn"] as const;
export const APPEAL_OUTCOMES = ["pending", "upheld", "dismissed"] as const;
export const VISIT_OUTCOMES = ["open", "done", "not_home", "cancelled"] as const;
export const CHANNELS = ["telegram", "ussd", "other"] as const;
export const LANGUAGES = ["uz", "uz-Cyrl", "ru"] as const;

export type ApplicationOutcome = (typeof APPLICATION_OUTCOMES)[number];
export type AppealOutcome = (typeof APPEAL_OUTCOMES)[number];
export type VisitOutcome = (typeof VISIT_OUTCOMES)[number];

/** Current status → published outcome. Paid applications were approved; anything unknown is still pending. */
export function applicationOutcome(status: string): ApplicationOutcome {
  if (status === "approved" || status === "paid") return "approved";
  if (status === "rejected" || status === "withdrawn") return status;
  return "pending";
}

export function appealOutcome(status: string): AppealOutcome {
  return status === "upheld" || status === "dismissed" ? status : "pending";
}

export function visitOutcome(status: string): VisitOutcome {
  return status === "done" || status === "not_home" || status === "cancelled" ? status : "open";
}

/** Back-office (API) entries and anything unexpected are "other": the mix is about citizen channels. */
export const channelOf = (channel: string) => (channel === "telegram" || channel === "ussd" ? channel : "other");

/** A citizen who never chose a language saw the product's default, Uzbek Latin. */
export const languageOf = (locale: string | null) => (locale === "uz-Cyrl" || locale === "ru" ? locale : "uz");

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/*
 * Calendar arithmetic in Tashkent time by a fixed offset: Asia/Tashkent has been UTC+5 all year since
 * 1992. This runs for every row of every table, where Intl would dominate the computation; a test
 * pins it to core/i18n's Intl-based tashkentDay and to the booking rule in core/domain/slots.ts.
 */
const TASHKENT_OFFSET_MS = 5 * HOUR_MS;

/** Days since 1970-01-01 of the Tashkent calendar day of `at`. */
export const tashkentDayNumber = (at: Date) => Math.floor((at.getTime() + TASHKENT_OFFSET_MS) / DAY_MS);

/**
 * Where a release is cut: the start of the Tashkent calendar month of `now`. A release covers only
 * whole months before it, so the current, partial month is never published and two releases of
 * the same month are cut at the same instant.
 */
export function releaseCut(now: Date): Date {
  const local = new Date(now.getTime() + TASHKENT_OFFSET_MS);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) - TASHKENT_OFFSET_MS);
}

/** The cut of the next release: the start of the following Tashkent month. */
export function nextReleaseCut(now: Date): Date {
  const local = new Date(now.getTime() + TASHKENT_OFFSET_MS);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1) - TASHKENT_OFFSET_MS);
}

/** The calendar month in Tashkent, YYYY-MM. */
export function monthOf(at: Date): string {
  const local = new Date(at.getTime() + TASHKENT_OFFSET_MS);
  const month = local.getUTCMonth() + 1;
  return `${local.getUTCFullYear()}-${month < 10 ? "0" : ""}${month}`;
}

/**
 * Done within 3 working days: before the end of the third working day after the day of the request
 * (Tashkent calendar) — the booking rule of nextWorkingDays(), on the one working-day calendar, so
 * public holidays are counted out like weekends.
 */
export function doneWithinThreeWorkingDays(
  requestedAt: Date,
  doneAt: Date,
  calendar: WorkingCalendar = WEEKDAYS_ONLY,
): boolean {
  return doneAt.getTime() < calendar.addWorkingDays(requestedAt, 3).getTime();
}

export type MeasureUnit = "applications" | "appeals" | "visit_requests" | "requests" | "days" | "hours" | "share";

export interface Measure {
  /** Dotted path, also the JSON path and the CSV `measure` value. */
  key: string;
  kind: "count" | "stat";
  unit: MeasureUnit;
}

/** Additive relations between count measures of one unit and period: total = sum of parts. */
export interface Partition {
  total: string;
  parts: string[];
}

export interface MeasureCatalogue {
  measures: Measure[];
  /** Published count measures. */
  counts: string[];
  /**
   * Counts that are never published as numbers but follow from a published statistic (the on-time
   * share is DONE_ON_TIME / (DONE_ON_TIME + DONE_LATE), over the done visits with a recorded time),
   * so they are suppressed and audited like published counts, as if a reader knew them exactly.
   */
  internal: string[];
  /** counts, then internal: the cells of one scope. */
  allCounts: string[];
  stats: string[];
  /** The counts each statistic is computed from: it is published only where they are. */
  statSources: Record<string, string[]>;
  partitions: Partition[];
}

export const DONE_ON_TIME = "visits.doneWithin3WorkingDays";
export const DONE_LATE = "visits.doneAfter3WorkingDays";

const count = (key: string, unit: MeasureUnit): Measure => ({ key, kind: "count", unit });
const stat = (key: string, unit: MeasureUnit): Measure => ({ key, kind: "stat", unit });

/** Every published measure, in the stable order of the CSV files. */
export function measureCatalogue(benefitTypes: CategoryRef[], visitReasons: CategoryRef[]): MeasureCatalogue {
  const byBenefit = benefitTypes.map((b) => `applications.byBenefitType.${b.code}`);
  const appOutcomes = APPLICATION_OUTCOMES.map((o) => `applications.byOutcome.${o}`);
  const appealOutcomes = APPEAL_OUTCOMES.map((o) => `appeals.byOutcome.${o}`);
  const byReason = visitReasons.map((r) => `visits.byReason.${r.code}`);
  const visitOutcomes = VISIT_OUTCOMES.map((o) => `visits.byOutcome.${o}`);
  const byChannel = CHANNELS.map((c) => `requests.byChannel.${c}`);
  const byLanguage = LANGUAGES.map((l) => `requests.byLanguage.${l}`);
  const measures: Measure[] = [
    count("applications.total", "applications"),
    ...byBenefit.map((k) => count(k, "applications")),
    ...appOutcomes.map((k) => count(k, "applications")),
    stat("applications.approvalShare", "share"),
    stat("applications.medianDaysToDecision", "days"),
    count("appeals.total", "appeals"),
    ...appealOutcomes.map((k) => count(k, "appeals")),
    count("visits.total", "visit_requests"),
    ...byReason.map((k) => count(k, "visit_requests")),
    ...visitOutcomes.map((k) => count(k, "visit_requests")),
    stat("visits.medianHoursToDone", "hours"),
    stat("visits.shareDoneWithin3WorkingDays", "share"),
    count("requests.total", "requests"),
    ...byChannel.map((k) => count(k, "requests")),
    ...byLanguage.map((k) => count(k, "requests")),
  ];
  const counts = measures.filter((m) => m.kind === "count").map((m) => m.key);
  const internal = [DONE_ON_TIME, DONE_LATE];
  const decided = ["applications.byOutcome.approved", "applications.byOutcome.rejected"];
  return {
    measures,
    counts,
    internal,
    allCounts: [...counts, ...internal],
    stats: measures.filter((m) => m.kind === "stat").map((m) => m.key),
    statSources: {
      "applications.approvalShare": decided,
      "applications.medianDaysToDecision": decided,
      "visits.medianHoursToDone": ["visits.byOutcome.done"],
      "visits.shareDoneWithin3WorkingDays": ["visits.byOutcome.done", DONE_ON_TIME, DONE_LATE],
    },
    partitions: [
      { total: "applications.total", parts: byBenefit },
      { total: "applications.total", parts: appOutcomes },
      { total: "appeals.total", parts: appealOutcomes },
      { total: "visits.total", parts: byReason },
      { total: "visits.total", parts: visitOutcomes },
      { total: "requests.total", parts: ["applications.total", "visits.total"] },
      { total: "requests.total", parts: byChannel },
      { total: "requests.total", parts: byLanguage },
    ],
  };
}

/** Rounding of published statistics: one decimal for durations, three for shares, two for rates and indices. */
export const round = (value: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};

/**
 * The middle value, or the mean of the two middle values; undefined for no values. Sorted as a
 * Float64Array: a numeric sort without a comparator call per step, several times faster on the
 * hundreds of thousands of durations of a national scope, with the same result.
 */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
