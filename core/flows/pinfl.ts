import type { StepContext } from "../engine/flow.js";

/**
 * Whether a form can skip asking for the PINFL: the register gave one, or the citizen typed one
 * before (their claim). The session only carries the register's, so a claim costs one lookup.
 */
export async function pinflKnown(ctx: StepContext): Promise<boolean> {
  return ctx.citizen.pinfl !== null || (await ctx.services.citizens.hasPinfl(ctx.citizen.id));
}
