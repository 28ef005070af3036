import type { FlowData } from "../domain/vocabulary.js";
import type { Outcome, Step, StepContext } from "../engine/flow.js";
import { text } from "../engine/flow.js";
import { chosen, textOf } from "./inputs.js";

/** The fields a flow keeps while the citizen picks their mahalla. */
export type MahallaPick = {
  regionId: number | null;
  districtId: number | null;
  mahallaFilter: string | null;
};

export const emptyPick = (): MahallaPick => ({ regionId: null, districtId: null, mahallaFilter: null });

const toId = (key: string | null) => (key !== null && /^\d+$/.test(key) ? Number(key) : null);

/**
 * Region → district → mahalla, asked once and remembered on the citizen. Only places with
 * registered mahallas are offered, so no choice leads to an empty list. Typing the first letters
 * of a mahalla narrows its list.
 */
export function mahallaSteps<D extends FlowData & MahallaPick>(
  next: (ctx: StepContext, data: D) => Outcome<D> | Promise<Outcome<D>>,
): Record<"mahalla_region" | "mahalla_district" | "mahalla_pick", Step<D>> {
  return {
    mahalla_region: {
      async screen(ctx) {
        const regions = await ctx.services.reference.regionsWithMahallas();
        return {
          body: [text("mahalla.choose_region")],
          options: regions.map((r) => ({ key: String(r.id), label: { names: r.names } })),
        };
      },
      on(_ctx, data, input) {
        const regionId = toId(chosen(input));
        if (regionId === null) return { invalid: text("errors.choose_option") };
        return { to: "mahalla_district", data: { ...data, regionId } };
      },
    },
    mahalla_district: {
      async screen(ctx, data) {
        const districts = data.regionId ? await ctx.services.reference.districts(data.regionId) : [];
        return {
          body: [text("mahalla.choose_district")],
          options: districts.map((d) => ({ key: String(d.id), label: { names: d.names } })),
        };
      },
      on(_ctx, data, input) {
        const districtId = toId(chosen(input));
        if (districtId === null) return { invalid: text("errors.choose_option") };
        return { to: "mahalla_pick", data: { ...data, districtId, mahallaFilter: null } };
      },
    },
    mahalla_pick: {
      async screen(ctx, data) {
        const list = data.districtId
          ? await ctx.services.reference.mahallas(data.districtId, data.mahallaFilter ?? undefined)
          : [];
        return {
          body: [
            text(data.mahallaFilter ? "mahalla.choose_filtered" : "mahalla.choose", {
              filter: data.mahallaFilter ?? "",
            }),
          ],
          options: list.map((m) => ({ key: String(m.id), label: { names: m.names } })),
          input: { kind: "choice-or-text", format: "filter" },
        };
      },
      async on(ctx, data, input) {
        const typed = textOf(input);
        if (typed !== null) {
          if (!data.districtId) return { invalid: text("errors.choose_option") };
          const matches = await ctx.services.reference.mahallas(data.districtId, typed);
          if (matches.length === 0) return { invalid: text("mahalla.no_match", { filter: typed }) };
          return { replace: "mahalla_pick", data: { ...data, mahallaFilter: typed.slice(0, 40) } };
        }
        const mahallaId = toId(chosen(input));
        if (mahallaId === null) return { invalid: text("errors.choose_option") };
        await ctx.services.citizens.setMahalla(ctx.citizen.id, mahallaId);
        ctx.citizen = { ...ctx.citizen, mahallaId };
        return next(ctx, { ...data, mahallaFilter: null });
      },
    },
  };
}
