import { defineFlow, text } from "../engine/flow.js";
import type { Text } from "../engine/types.js";

/** Menu item 7: the district "Inson" centre (when the mahalla is known) and the national hotline. */
export const helpFlow = defineFlow<Record<string, never>>({
  id: "help",
  begin: () => ({ step: "contacts", data: {} }),
  steps: {
    contacts: {
      async screen(ctx) {
        const body: Text[] = [text("help.title")];
        const mahalla = ctx.citizen.mahallaId ? await ctx.services.reference.mahalla(ctx.citizen.mahallaId) : null;
        if (mahalla?.district.insonPhone) {
          body.push(
            text("help.inson_centre", {
              district: { names: mahalla.district.names },
              phone: mahalla.district.insonPhone,
            }),
          );
          if (mahalla.district.insonAddress) {
            body.push(text("help.inson_address", { address: { names: mahalla.district.insonAddress } }));
          }
        } else {
          body.push(text("help.inson_any"));
        }
        body.push(text("help.hotline_line", { hotline: ctx.services.hotline }));
        return { body, end: true };
      },
    },
  },
});
