/** Application life cycle. The back office moves it; the citizen can only submit and appeal. */
export const APPLICATION_STATUSES = ["submitted", "under_review", "approved", "rejected", "paid", "withdrawn"] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];

const APPLICATION_TRANSITIONS: Record<ApplicationStatus, readonly ApplicationStatus[]> = {
  submitted: ["under_review", "approved", "rejected", "withdrawn"],
  under_review: ["approved", "rejected", "withdrawn"],
  approved: ["paid", "rejected"],
  // An upheld appeal sends a rejected application back for review.
  rejected: ["under_review"],
  paid: [],
  withdrawn: [],
};

export const canMoveApplication = (from: ApplicationStatus, to: ApplicationStatus) =>
  APPLICATION_TRANSITIONS[from].includes(to);

/** Statuses in which a second application for the same benefit would be a duplicate. */
export const OPEN_APPLICATION_STATUSES: readonly ApplicationStatus[] = ["submitted", "under_review", "approved"];
export const DECIDED_STATUSES: readonly ApplicationStatus[] = ["approved", "rejected"];

export const VISIT_STATUSES = ["requested", "accepted", "rescheduled", "done", "not_home", "cancelled"] as const;
export type VisitStatus = (typeof VISIT_STATUSES)[number];
export const UPCOMING_VISIT_STATUSES: readonly VisitStatus[] = ["requested", "accepted", "rescheduled"];

export const APPEAL_STATUSES = ["received", "under_review", "upheld", "dismissed"] as const;
export type AppealStatus = (typeof APPEAL_STATUSES)[number];

/** Days after a rejection during which it can be appealed. */
export const APPEAL_WINDOW_DAYS = 30;
