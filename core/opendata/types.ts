import type { CalendarEntry, DeadlineUnit } from "../domain/calendar.js";
import type { Names } from "../domain/vocabulary.js";

/**
 * What the open-data aggregation reads: narrow rows without names, phone numbers or references.
 * `citizenId` is only used to count distinct people behind a cell and never leaves this module.
 */
export interface ApplicationRow {
  citizenId: number;
  /** District of the citizen's mahalla; null when the citizen has no mahalla (excluded). */
  districtId: number | null;
  benefitTypeId: number;
  status: string;
  channel: string;
  locale: string | null;
  submittedAt: Date;
  decidedAt: Date | null;
}

export interface AppealRow {
  citizenId: number;
  /** District of the appealing citizen's mahalla; null when unknown (excluded). */
  districtId: number | null;
  status: string;
  createdAt: Date;
}

export interface VisitRow {
  citizenId: number;
  /** District of the mahalla the visit is for (VisitRequest.mahallaId). */
  districtId: number | null;
  reasonId: number;
  status: string;
  channel: string;
  /** The requesting citizen's language (a visit request has none of its own). */
  locale: string | null;
  createdAt: Date;
  /** The earliest change to status "done", if any. */
  doneAt: Date | null;
  /** The earliest change to accepted, done or not at home (staff took the request), if any. */
  acceptedAt?: Date | null;
}

/**
 * An escalation (Escalation.kind "escalation") with its subject's place and start: a visit's
 * mahalla and request time, an application's applicant mahalla and submission time.
 */
export interface EscalationRow {
  citizenId: number;
  districtId: number | null;
  /** When the subject (visit request or application) was made: the month it counts in. */
  startedAt: Date;
  sentAt: Date;
}

/** An answered rating, placed and dated by its subject like EscalationRow. */
export interface FeedbackRow {
  citizenId: number;
  districtId: number | null;
  startedAt: Date;
  subjectKind: "visit" | "decision";
  score: number;
  answeredAt: Date;
  /** "open" or "closed" when the score opened a follow-up; "none" otherwise. */
  followUpStatus: string;
  followUpClosedAt: Date | null;
}

export interface RegionRef {
  id: number;
  code: string;
  iso: string | null;
  names: Names;
}

export interface DistrictRef {
  id: number;
  code: string;
  regionId: number;
  names: Names;
  /** Sum of households over the district's active mahallas that have a value; null when none has one. */
  households: number | null;
  /** Active mahallas in the register, and how many of them carry a household count. */
  mahallas: number;
  mahallasWithHouseholds: number;
}

export interface CategoryRef {
  id: number;
  code: string;
  sortOrder: number;
  names: Names;
  /** Benefit types: the decision deadline in working days (the column default, 10, when absent). */
  decisionWorkingDays?: number;
  /** Visit reasons: the acceptance deadline (the column default, 1 working day, when absent). */
  acceptance?: { amount: number; unit: DeadlineUnit };
}

export interface OpenDataInput {
  regions: RegionRef[];
  districts: DistrictRef[];
  benefitTypes: CategoryRef[];
  visitReasons: CategoryRef[];
  /** The working-day calendar's exceptions (Holiday rows); none: Monday–Friday. */
  holidays?: CalendarEntry[];
  applications: ApplicationRow[];
  appeals: AppealRow[];
  visits: VisitRow[];
  escalations?: EscalationRow[];
  feedback?: FeedbackRow[];
}

/**
 * The same input with the rows delivered page by page, so the register never has to fit in memory:
 * each page is aggregated and dropped before the next is read.
 */
export interface OpenDataStream
  extends Omit<OpenDataInput, "applications" | "appeals" | "visits" | "escalations" | "feedback"> {
  applications: AsyncIterable<ApplicationRow[]>;
  appeals: AsyncIterable<AppealRow[]>;
  visits: AsyncIterable<VisitRow[]>;
  escalations?: AsyncIterable<EscalationRow[]>;
  feedback?: AsyncIterable<FeedbackRow[]>;
}

/** A published number: null and `suppressed: true` when it could identify fewer than 10 people. */
export interface Cell {
  value: number | null;
  suppressed: boolean;
}
