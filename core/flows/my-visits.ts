import { defineFlow, option, text } from "../engine/flow.js";
import { chosen } from "./inputs.js";

type MyVisitsData = { reference: string | null };

/** Menu item 5: upcoming and past visits; an upcoming one can be cancelled (the worker is told). */
export const myVisitsFlow = defineFlow<MyVisitsData>({
  id: "myVisits",
  begin: () => ({ step: "list", data: { reference: null } }),
  steps: {
    list: {
      async screen(ctx) {
        const visits = await ctx.services.visits.listForCitizen(ctx.citizen.id, ctx.now, 8);
        if (visits.length === 0) return { body: [text("my_visits.none")], end: true };
        return {
          body: [text("my_visits.title", { count: visits.length })],
          options: visits.map((v) => ({
            key: v.reference,
            label: text("my_visits.item", {
              date: { date: v.date },
              part: { t: `visit.part.${v.part}` },
              status: { t: `status.visit.${v.status}` },
            }),
          })),
        };
      },
      on(_ctx, _data, input) {
        const key = chosen(input);
        return key ? { to: "details", data: { reference: key } } : { invalid: text("errors.choose_option") };
      },
    },
    details: {
      async screen(ctx, data) {
        const visit = (await ctx.services.visits.listForCitizen(ctx.citizen.id, ctx.now, 50)).find(
          (v) => v.reference === data.reference,
        );
        if (!visit) return { body: [text("my_visits.none")] };
        return {
          body: [
            text("my_visits.details", {
              reference: visit.reference,
              reason: { names: visit.reason },
              date: { date: visit.date },
              part: { t: `visit.part.${visit.part}` },
              status: { t: `status.visit.${visit.status}` },
            }),
          ],
          options: visit.upcoming ? [option("cancel", "my_visits.cancel_option")] : [],
        };
      },
      on(_ctx, data, input) {
        return chosen(input) === "cancel" ? { to: "cancel", data } : { invalid: text("errors.choose_option") };
      },
    },
    cancel: {
      screen: (_ctx, data) => ({
        body: [text("my_visits.cancel_confirm", { reference: data.reference ?? "" })],
        options: [option("yes", "common.yes"), option("no", "common.no")],
      }),
      async on(ctx, data, input) {
        const key = chosen(input);
        if (key === "no") return { replace: "details", data };
        if (key !== "yes" || !data.reference) return { invalid: text("errors.choose_option") };
        await ctx.services.visits.cancelByCitizen(ctx.citizen.id, data.reference);
        return { to: "cancelled", data };
      },
    },
    cancelled: {
      screen: (_ctx, data) => ({
        body: [text("my_visits.cancelled", { reference: data.reference ?? "" })],
        end: true,
        noBack: true,
      }),
    },
  },
});
