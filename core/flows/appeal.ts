import { defineFlow, option, text } from "../engine/flow.js";
import { chosen, parseFreeText } from "./inputs.js";
import { pinflKnown, pinflStep } from "./pinfl.js";
import { receiptStep } from "./receipt.js";

type AppealData = { application: string | null; reason: string | null; reference: string | null };

/** Menu item 6: appeal a rejection within 30 days of the decision. */
export const appealFlow = defineFlow<AppealData>({
  id: "appeal",
  begin: () => ({ step: "choose", data: { application: null, reason: null, reference: null } }),
  steps: {
    choose: {
      async screen(ctx) {
        const apps = await ctx.services.applications.appealable(ctx.citizen.id, ctx.now);
        if (apps.length === 0) return { body: [text("appeal.none")], end: true };
        return {
          body: [text("appeal.choose")],
          options: apps.map((a) => ({
            key: a.reference,
            label: text("appeal.item", { reference: a.reference, benefit: { names: a.benefit } }),
          })),
        };
      },
      async on(ctx, data, input) {
        const key = chosen(input);
        if (!key) return { invalid: text("errors.choose_option") };
        const next = (await pinflKnown(ctx)) ? "reason" : "pinfl";
        return { to: next, data: { ...data, application: key } };
      },
    },
    pinfl: pinflStep((_ctx, data) => ({ to: "reason", data })),
    reason: {
      screen: () => ({ body: [text("appeal.enter_reason")], input: { kind: "text", format: "free", maxLength: 500 } }),
      on(_ctx, data, input) {
        const reason = parseFreeText(input, 10, 500);
        if (!reason.ok) return { invalid: reason.error };
        return { to: "confirm", data: { ...data, reason: reason.value } };
      },
    },
    confirm: {
      screen: (_ctx, data) => ({
        body: [
          text("appeal.summary", { application: data.application ?? "", reason: (data.reason ?? "").slice(0, 60) }),
        ],
        options: [option("confirm", "appeal.confirm"), option("cancel", "appeal.cancel")],
      }),
      async on(ctx, data, input) {
        const key = chosen(input);
        if (key === "cancel") return { flow: "menu" };
        if (key !== "confirm" || !data.application || !data.reason) return { invalid: text("errors.choose_option") };
        const reference = await ctx.services.appeals.file({
          citizenId: ctx.citizen.id,
          applicationReference: data.application,
          reason: data.reason,
          channel: ctx.channel,
          now: ctx.now,
        });
        return { to: "done", data: { ...data, reference } };
      },
    },
    done: receiptStep("appeal.filed"),
  },
});
