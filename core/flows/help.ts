import type { Text } from "../domain/vocabulary.js";
import { defineFlow, text } from "../engine/flow.js";
import { displayPhone } from "../services/contacts.js";

/**
 * Menu item 7: where to get help. Only contact data the agency has set is shown; where the district
 * "Inson" centre's phone is not set, the citizen is told where to go (that centre by name, or the
 * mahalla office) rather than shown a number. The USSD code is offered as what to dial on any
 * phone, never as a phone line, and not on USSD itself (the caller has just dialled it).
 */
export const helpFlow = defineFlow<Record<string, never>>({
  id: "help",
  begin: () => ({ step: "contacts", data: {} }),
  steps: {
    contacts: {
      async screen(ctx) {
        const body: Text[] = [text("help.title")];
        const [mahalla, contacts] = await Promise.all([
          ctx.citizen.mahallaId ? ctx.services.reference.mahalla(ctx.citizen.mahallaId) : null,
          ctx.services.contacts.contacts(),
        ]);
        if (mahalla) {
          const district = { names: mahalla.district.names };
          const { insonPhone: phone, insonAddress: address } = mahalla.district;
          body.push(
            phone
              ? text("help.inson_centre", { district, phone: displayPhone(phone) })
              : text("help.inson_go", { district }),
          );
          if (address) body.push(text("help.inson_address", { address: { names: address } }));
        } else {
          body.push(text("help.inson_any"));
        }
        if (contacts.hotline) body.push(text("help.hotline_line", { hotline: displayPhone(contacts.hotline) }));
        if (contacts.ussdCode && ctx.channel !== "ussd") body.push(text("help.ussd_code", { code: contacts.ussdCode }));
        return { body, end: true };
      },
    },
  },
});
