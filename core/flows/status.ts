import { parseReference } from "../domain/reference.js";
import type { Text } from "../domain/vocabulary.js";
import { defineFlow, text } from "../engine/flow.js";
import { chosen, textOf } from "./inputs.js";

type StatusData = { reference: string | null };

const LOOKUP = "lookup";

/** Menu item 2: the citizen's applications, newest first; details with history; lookup by reference. */
export const statusFlow = defineFlow<StatusData>({
  id: "status",
  begin: () => ({ step: "list", data: { reference: null } }),
  steps: {
    list: {
      async screen(ctx) {
        const apps = await ctx.services.applications.listForCitizen(ctx.citizen.id, 9);
        if (apps.length === 0) return { body: [text("status.none")], end: true };
        return {
          body: [text("status.list_title", { count: apps.length })],
          options: [
            ...apps.map((a) => ({
              key: a.reference,
              label: text("status.list_item", {
                benefit: { names: a.benefit },
                status: { t: `status.application.${a.status}` },
              }),
            })),
            { key: LOOKUP, label: text("status.lookup_option") },
          ],
        };
      },
      on(_ctx, data, input) {
        const key = chosen(input);
        if (key === LOOKUP) return { to: "lookup", data };
        if (key) return { to: "details", data: { reference: key } };
        return { invalid: text("errors.choose_option") };
      },
    },
    lookup: {
      screen: () => ({
        body: [text("status.enter_reference")],
        input: { kind: "text", format: "reference", maxLength: 20 },
      }),
      async on(ctx, _data, input) {
        const reference = parseReference(textOf(input) ?? "", "A");
        if (!reference) return { invalid: text("errors.reference_format") };
        const found = await ctx.services.applications.findForCitizen(ctx.citizen.id, reference);
        if (!found) return { invalid: text("status.not_found", { reference }) };
        return { to: "details", data: { reference } };
      },
    },
    details: {
      async screen(ctx, data) {
        const app = data.reference
          ? await ctx.services.applications.findForCitizen(ctx.citizen.id, data.reference)
          : null;
        if (!app) return { body: [text("status.not_found", { reference: data.reference ?? "" })] };
        const body: Text[] = [
          text("status.details", {
            reference: app.reference,
            benefit: { names: app.benefit },
            status: { t: `status.application.${app.status}` },
            date: { date: app.submittedAt.toISOString() },
          }),
        ];
        if (app.status === "rejected" && app.statusReason) {
          body.push(text("status.rejection_reason", { reason: app.statusReason }));
        }
        for (const h of app.history.slice(-3).reverse()) {
          body.push(
            text("status.history_line", {
              date: { date: h.at.toISOString() },
              status: { t: `status.application.${h.status}` },
            }),
          );
        }
        return { body };
      },
    },
  },
});
