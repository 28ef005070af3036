import type { FlowData } from "../domain/vocabulary.js";
import type { Outcome, StepContext } from "../engine/flow.js";
import { defineFlow, text } from "../engine/flow.js";
import { COMMENT_MAX_LENGTH, type FeedbackSubjectKind, parseScore } from "../services/feedback.js";

/*
 * The rating question on USSD (issue 15, part 3): a call from a citizen with a question waiting
 * opens on it instead of the main menu, once. A digit 1–5 answers, "0" skips to the menu (one
 * key), and an optional short comment follows. The answer goes through the same conditional
 * update as Telegram's and SMS's, so a question already answered elsewhere is refused here.
 */

type RatingData = { feedbackId: number; reference: string; subject: FeedbackSubjectKind };

const SKIP = "0";
const subjectOf = (value: unknown): FeedbackSubjectKind => (value === "decision" ? "decision" : "visit");
const toMenu = (notice?: string): Outcome<RatingData> => ({ flow: "menu", ...(notice ? { args: { notice } } : {}) });

export const ratingFlow = defineFlow<RatingData>({
  id: "rating",
  begin: (_ctx, args) => ({
    step: "score",
    data: {
      feedbackId: typeof args?.feedbackId === "number" ? args.feedbackId : 0,
      reference: typeof args?.reference === "string" ? args.reference : "",
      subject: subjectOf(args?.subject),
    },
  }),
  steps: {
    score: {
      screen: (_ctx, data) => ({
        body: [
          text("rating.ussd_ask", { reference: data.reference, subject: { t: `rating.subject.${data.subject}` } }),
        ],
        input: { kind: "text", format: "digits", maxLength: 1 },
        noBack: true,
      }),
      async on(ctx, data, input) {
        if (input.type !== "text") return { invalid: text("rating.choose_score") };
        if (input.value.trim() === SKIP) return toMenu();
        const score = parseScore(input.value);
        if (score === null) return { invalid: text("rating.choose_score") };
        const outcome = await ctx.services.feedback.answer({
          feedbackId: data.feedbackId,
          by: { citizenId: ctx.citizen.id },
          score,
          channel: "ussd",
          now: ctx.now,
        });
        if (outcome.kind !== "answered") return toMenu(`rating.refused.${outcome.kind}`);
        // Not a step Back can return to: the score is stored ("0" here is Back, and leads to the menu).
        return { replace: "comment", data };
      },
    },
    comment: {
      screen: () => ({
        body: [text("rating.ussd_comment")],
        input: { kind: "text", format: "free", maxLength: COMMENT_MAX_LENGTH },
        noBack: true,
      }),
      async on(ctx, data, input) {
        if (input.type === "text" && input.value.trim() !== SKIP) {
          await ctx.services.feedback.addComment(data.feedbackId, ctx.citizen.id, input.value);
        }
        return toMenu("rating.thanks");
      },
    },
  },
});

/**
 * The engine's opening on a plain start: on USSD, the waiting question (claimed for this call, so
 * it is offered once); elsewhere nothing (Telegram asks with buttons, SMS by its own message).
 */
export async function ratingOpening(ctx: StepContext): Promise<Outcome<FlowData> | undefined> {
  if (ctx.channel !== "ussd") return undefined;
  const question = await ctx.services.feedback.claimUssdOffer(ctx.citizen.id, ctx.now);
  if (!question) return undefined;
  return {
    flow: "rating",
    args: { feedbackId: question.feedbackId, reference: question.reference, subject: question.subjectKind },
  };
}
