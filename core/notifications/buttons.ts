/*
 * Buttons a notification carries on Telegram. A notification is text from a template; a few are
 * also questions the citizen answers with a tap (issue 15's rating). The buttons are derived from
 * the row (template and parameters), so the outbox stores nothing channel-specific.
 */

export interface InlineButton {
  text: string;
  /** Callback data, at most 64 bytes. */
  data: string;
}

/** The rating question (core/services/feedback.ts asks it). */
export const FEEDBACK_ASK_TEMPLATE = "notify.feedback_ask";

/** Callback data of the rating buttons: `fb:<feedback id>:<1–5 | skip>`. */
export const FEEDBACK_CALLBACK = /^fb:(\d{1,10}):([1-5]|skip)$/;
export const feedbackCallback = (feedbackId: number, answer: number | "skip") => `fb:${feedbackId}:${answer}`;

/** One row of five buttons, 1 to 5: digits read the same in every language. */
export function buttonsOf(row: { templateKey: string; params: unknown }): InlineButton[][] | undefined {
  if (row.templateKey !== FEEDBACK_ASK_TEMPLATE) return undefined;
  const id = (row.params as { feedbackId?: unknown } | null)?.feedbackId;
  if (typeof id !== "number" || !Number.isInteger(id)) return undefined;
  return [[1, 2, 3, 4, 5].map((score) => ({ text: String(score), data: feedbackCallback(id, score) }))];
}
