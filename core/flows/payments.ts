import type { Text } from "../domain/vocabulary.js";
import { defineFlow, text } from "../engine/flow.js";

/** Menu item 3: the social card and its latest payments. The busiest screen on payment day. */
export const paymentsFlow = defineFlow<Record<string, never>>({
  id: "payments",
  begin: () => ({ step: "overview", data: {} }),
  steps: {
    overview: {
      async screen(ctx) {
        const { cards, payments } = await ctx.services.payments.overview(ctx.citizen.id, 3);
        if (cards.length === 0 && payments.length === 0) return { body: [text("payments.no_card")], end: true };
        const body: Text[] = cards.map((c) =>
          text("payments.card", { number: c.maskedNumber, status: { t: `status.card.${c.status}` } }),
        );
        if (payments.length === 0) body.push(text("payments.none_yet"));
        else {
          body.push(text("payments.latest"));
          for (const p of payments) {
            body.push(
              text("payments.line", {
                date: { date: p.creditedAt.toISOString() },
                amount: { money: p.amountTiyin },
                benefit: { names: p.benefit },
              }),
            );
          }
        }
        return { body, end: true };
      },
    },
  },
});
