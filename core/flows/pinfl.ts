import type { FlowData } from "../domain/vocabulary.js";
import type { Outcome, Step, StepContext } from "../engine/flow.js";
import { text } from "../engine/flow.js";
import { parsePinflInput } from "./inputs.js";

/**
 * Whether a form can skip asking for the PINFL: the register gave one, or the citizen typed one
 * before (their claim). The session only carries the register's, so a claim costs one lookup.
 */
export async function pinflKnown(ctx: StepContext): Promise<boolean> {
  return ctx.citizen.pinfl !== null || (await ctx.services.citizens.hasPinfl(ctx.citizen.id));
}

/**
 * The PINFL, asked where a form needs it and the citizen has none on record: checked (format,
 * birth date, check digit), kept as the citizen's claim, then `next`.
 */
export function pinflStep<D extends FlowData>(
  next: (ctx: StepContext, data: D) => Outcome<D> | Promise<Outcome<D>>,
): Step<D> {
  return {
    screen: () => ({ body: [text("pinfl.prompt")], input: { kind: "text", format: "pinfl", maxLength: 14 } }),
    async on(ctx, data, input) {
      const parsed = parsePinflInput(input);
      if (!parsed.ok) return { invalid: parsed.error };
      // Stored as a claim whatever it is: the same answer for a PINFL the register knows or not.
      await ctx.services.citizens.claimPinfl(ctx.citizen.id, parsed.value, ctx.now);
      return next(ctx, data);
    },
  };
}
