import { parseSlotKey, weekday } from "../domain/slots.js";
import type { JsonValue, Params } from "../domain/vocabulary.js";
import { defineFlow, option, text } from "../engine/flow.js";
import { chosen, parseFreeText } from "./inputs.js";
import { emptyPick, type MahallaPick, mahallaSteps } from "./mahalla-picker.js";
import { receiptStep } from "./receipt.js";

type VisitData = MahallaPick & {
  reasonId: number | null;
  slot: string | null;
  address: string | null;
  location: { [k: string]: JsonValue } | null;
  reference: string | null;
};

/** "Tue 01.12.2026, morning" — the parameters of the `visit.slot` text. */
function slotParams(key: string): Params | null {
  const slot = parseSlotKey(key);
  if (!slot) return null;
  return {
    weekday: { t: `weekday.${weekday(slot.date)}` },
    date: { date: slot.date },
    part: { t: `visit.part.${slot.part}` },
  };
}

/** Menu item 4: reason → slot → address (or shared location) → confirm. */
export const visitFlow = defineFlow<VisitData>({
  id: "visit",
  begin: (ctx) => ({
    step: ctx.citizen.mahallaId ? "reason" : "mahalla_region",
    data: { ...emptyPick(), reasonId: null, slot: null, address: null, location: null, reference: null },
  }),
  steps: {
    ...mahallaSteps<VisitData>((_ctx, data) => ({ to: "reason", data })),
    reason: {
      async screen(ctx) {
        const reasons = await ctx.services.reference.visitReasons();
        return {
          body: [text("visit.choose_reason")],
          options: reasons.map((r) => ({ key: String(r.id), label: { names: r.shortNames } })),
        };
      },
      async on(ctx, data, input) {
        const key = chosen(input);
        const reason = (await ctx.services.reference.visitReasons()).find((r) => String(r.id) === key);
        if (!reason) return { invalid: text("errors.choose_option") };
        return { to: "slot", data: { ...data, reasonId: reason.id } };
      },
    },
    slot: {
      async screen(ctx) {
        const mahallaId = ctx.citizen.mahallaId;
        const slots = mahallaId ? await ctx.services.visits.freeSlots(mahallaId, ctx.now) : [];
        if (slots.length === 0) return { body: [text("visit.no_slots")], end: true };
        return {
          body: [text("visit.choose_slot")],
          options: slots.map((s) => {
            const key = `${s.date}:${s.part}`;
            return { key, label: text("visit.slot", slotParams(key) ?? {}) };
          }),
        };
      },
      on(_ctx, data, input) {
        const key = chosen(input);
        if (!key || !parseSlotKey(key)) return { invalid: text("errors.choose_option") };
        return { to: "address", data: { ...data, slot: key } };
      },
    },
    address: {
      screen: () => ({
        body: [text("visit.enter_address")],
        input: { kind: "text", format: "address", maxLength: 120 },
        acceptsLocation: true,
      }),
      on(_ctx, data, input) {
        if (input.type === "location") {
          const { latitude, longitude } = input;
          if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return { invalid: text("visit.bad_location") };
          return { to: "confirm", data: { ...data, address: null, location: { latitude, longitude } } };
        }
        const address = parseFreeText(input, 3, 120);
        if (!address.ok) return { invalid: address.error };
        return { to: "confirm", data: { ...data, address: address.value, location: null } };
      },
    },
    confirm: {
      async screen(ctx, data) {
        const reason = (await ctx.services.reference.visitReasons()).find((r) => r.id === data.reasonId);
        return {
          body: [
            text("visit.summary", {
              reason: reason ? { names: reason.shortNames } : "",
              slot: { t: "visit.slot", params: slotParams(data.slot ?? "") ?? {} },
              address: data.address ?? { t: "visit.location_shared" },
            }),
          ],
          options: [option("confirm", "visit.confirm"), option("cancel", "visit.cancel")],
        };
      },
      async on(ctx, data, input) {
        const key = chosen(input);
        if (key === "cancel") return { flow: "menu", args: { notice: "visit.cancelled" } };
        const slot = data.slot ? parseSlotKey(data.slot) : null;
        if (key !== "confirm" || !slot || data.reasonId === null || !ctx.citizen.mahallaId) {
          return { invalid: text("errors.choose_option") };
        }
        const location =
          data.location && typeof data.location.latitude === "number" && typeof data.location.longitude === "number"
            ? { latitude: data.location.latitude, longitude: data.location.longitude }
            : null;
        const reference = await ctx.services.visits.book({
          citizenId: ctx.citizen.id,
          mahallaId: ctx.citizen.mahallaId,
          reasonId: data.reasonId,
          slot,
          address: data.address,
          location,
          channel: ctx.channel,
        });
        return { to: "done", data: { ...data, reference } };
      },
    },
    done: receiptStep("visit.booked"),
  },
});
