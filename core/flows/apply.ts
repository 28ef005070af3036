import { type Question, questionsFor } from "../domain/benefit-questions.js";
import type { FlowData, JsonValue, Param, Text } from "../domain/vocabulary.js";
import type { Outcome, StepContext, StepInput } from "../engine/flow.js";
import { defineFlow, option, text } from "../engine/flow.js";
import { tashkentDay } from "../i18n/format.js";
import { chosen, type Parsed, parseDay, parseFreeText, parseInteger } from "./inputs.js";
import { pinflKnown, pinflStep } from "./pinfl.js";
import { receiptStep } from "./receipt.js";

type ApplyData = {
  benefitCode: string | null;
  benefitId: number | null;
  question: number;
  answers: { [id: string]: JsonValue };
  reference: string | null;
};

const fresh = (): ApplyData => ({ benefitCode: null, benefitId: null, question: 0, answers: {}, reference: null });

/** Where an unfinished application stands, kept in the Draft table after every answer. */
type Draft = { step: string; data: ApplyData };

async function keepDraft(ctx: StepContext, step: string, data: ApplyData): Promise<Outcome<ApplyData>> {
  await ctx.services.drafts.save(ctx.citizen.id, "apply", { step, data } as unknown as FlowData);
  return { to: step, data };
}

/** After the benefit and the PINFL: the next unanswered question, or the summary. */
function nextAfter(ctx: StepContext, data: ApplyData, question: number) {
  const questions = questionsFor(data.benefitCode ?? "");
  const step = question < questions.length ? "question" : "confirm";
  return keepDraft(ctx, step, { ...data, question: Math.min(question, questions.length) });
}

function answerQuestion(q: Question, input: StepInput, now: Date): Parsed<JsonValue> {
  switch (q.kind) {
    case "integer":
      return parseInteger(input, q.min, q.max);
    case "money": {
      const sum = parseInteger(input, 0, 1_000_000_000);
      return sum.ok ? { ok: true, value: sum.value * 100 } : sum;
    }
    case "choice": {
      const key = chosen(input);
      return key && q.options.includes(key)
        ? { ok: true, value: key }
        : { ok: false, error: text("errors.choose_option") };
    }
    case "future_date": {
      const day = parseDay(input);
      if (!day.ok) return day;
      const today = tashkentDay(now);
      const last = tashkentDay(new Date(now.getTime() + q.maxDays * 86_400_000));
      if (day.value < today || day.value > last) {
        return { ok: false, error: text("errors.date_range", { from: { date: today }, to: { date: last } }) };
      }
      return day;
    }
    case "text":
      return parseFreeText(input, q.min, q.max);
  }
}

function answerParam(q: Question, value: JsonValue): Param {
  if (q.kind === "money") return { money: Number(value) };
  if (q.kind === "choice") return { t: `apply.q.${q.id}.option.${String(value)}` };
  if (q.kind === "future_date") return { date: String(value) };
  return typeof value === "number" ? value : String(value);
}

/** Menu item 1: choose a benefit, answer its questions, confirm; the draft survives a dropped call. */
export const applyFlow = defineFlow<ApplyData>({
  id: "apply",
  async begin(ctx) {
    const draft = (await ctx.services.drafts.get(ctx.citizen.id, "apply")) as unknown as Draft | null;
    if (draft?.data?.benefitCode) return { step: "resume", data: draft.data };
    return { step: "benefit", data: fresh() };
  },
  steps: {
    resume: {
      async screen(ctx, data) {
        const benefit = (await ctx.services.reference.benefitTypes(ctx.now)).find((b) => b.code === data.benefitCode);
        return {
          body: [text("apply.resume", { benefit: benefit ? { names: benefit.shortNames } : "" })],
          options: [option("continue", "apply.resume_continue"), option("restart", "apply.resume_restart")],
        };
      },
      async on(ctx, data, input) {
        const key = chosen(input);
        if (key === "restart") {
          await ctx.services.drafts.clear(ctx.citizen.id, "apply");
          return { replace: "benefit", data: fresh() };
        }
        if (key !== "continue") return { invalid: text("errors.choose_option") };
        const draft = (await ctx.services.drafts.get(ctx.citizen.id, "apply")) as unknown as Draft | null;
        const step = draft && ["pinfl", "question", "confirm"].includes(draft.step) ? draft.step : "benefit";
        if (step === "pinfl" && (await pinflKnown(ctx))) return nextAfter(ctx, data, data.question);
        return { replace: step, data };
      },
    },
    benefit: {
      async screen(ctx) {
        const benefits = await ctx.services.reference.benefitTypes(ctx.now);
        return {
          body: [text("apply.choose_benefit")],
          options: benefits.map((b) => ({ key: b.code, label: { names: b.shortNames } })),
        };
      },
      async on(ctx, _data, input) {
        const code = chosen(input);
        const benefit = (await ctx.services.reference.benefitTypes(ctx.now)).find((b) => b.code === code);
        if (!benefit) return { invalid: text("errors.choose_option") };
        const open = await ctx.services.applications.openFor(ctx.citizen.id, benefit.id);
        if (open) return { invalid: text("apply.duplicate", { reference: open }) };
        const data = { ...fresh(), benefitCode: benefit.code, benefitId: benefit.id };
        if (!(await pinflKnown(ctx))) return keepDraft(ctx, "pinfl", data);
        return nextAfter(ctx, data, 0);
      },
    },
    pinfl: pinflStep((ctx, data) => nextAfter(ctx, data, 0)),
    question: {
      screen(_ctx, data) {
        const q = questionsFor(data.benefitCode ?? "")[data.question];
        if (!q) return { body: [text("apply.choose_benefit")] };
        if (q.kind === "choice") {
          return {
            body: [text(`apply.q.${q.id}.prompt`)],
            options: q.options.map((o) => option(o, `apply.q.${q.id}.option.${o}`)),
          };
        }
        const format = q.kind === "future_date" ? "date" : q.kind === "text" ? "free" : "digits";
        return { body: [text(`apply.q.${q.id}.prompt`)], input: { kind: "text", format, maxLength: 80 } };
      },
      on(ctx, data, input) {
        const q = questionsFor(data.benefitCode ?? "")[data.question];
        if (!q) return { flow: "apply" };
        const answer = answerQuestion(q, input, ctx.now);
        if (!answer.ok) return { invalid: answer.error };
        return nextAfter(ctx, { ...data, answers: { ...data.answers, [q.id]: answer.value } }, data.question + 1);
      },
    },
    confirm: {
      async screen(ctx, data) {
        const benefit = (await ctx.services.reference.benefitTypes(ctx.now)).find((b) => b.code === data.benefitCode);
        const lines: Text[] = questionsFor(data.benefitCode ?? "")
          .filter((q) => data.answers[q.id] !== undefined)
          .map((q) => text(`apply.q.${q.id}.summary`, { value: answerParam(q, data.answers[q.id] as JsonValue) }));
        return {
          body: [text("apply.summary_title", { benefit: benefit ? { names: benefit.shortNames } : "" }), ...lines],
          options: [option("confirm", "apply.confirm"), option("cancel", "apply.cancel")],
        };
      },
      async on(ctx, data, input) {
        const key = chosen(input);
        if (key === "cancel") {
          await ctx.services.drafts.clear(ctx.citizen.id, "apply");
          return { flow: "menu", args: { notice: "apply.cancelled" } };
        }
        if (key !== "confirm" || data.benefitId === null) return { invalid: text("errors.choose_option") };
        const reference = await ctx.services.applications.submit({
          citizenId: ctx.citizen.id,
          benefitTypeId: data.benefitId,
          answers: data.answers,
          channel: ctx.channel,
          locale: ctx.locale,
        });
        return { to: "done", data: { ...data, reference } };
      },
    },
    done: receiptStep("apply.submitted"),
  },
});
