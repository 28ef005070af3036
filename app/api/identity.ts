import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { CONFLICT_KINDS, identityConflicts } from "../../core/services/identity.js";
import type { ApiContext } from "./context.js";
import { listRoute } from "./lists.js";
import { NullableString, NullableTimestamp, wire } from "./schemas.js";

const Conflict = Type.Object({
  kind: Type.Enum(CONFLICT_KINDS, {
    description:
      "held_by_other: the register gives the claimed PINFL to another citizen; differs_from_register: the register gives this citizen another PINFL; claimed_by_several: citizens unknown to the register typed the same PINFL",
  }),
  claimedPinfl: Type.String({ description: "The PINFL the citizen typed (a claim, never used for matching)" }),
  claimedAt: NullableTimestamp,
  citizen: Type.Object({
    id: Type.Integer(),
    phone: Type.String(),
    externalId: NullableString,
    registerPinfl: NullableString,
  }),
  registerHolder: Type.Union([Type.Object({ id: Type.Integer(), externalId: NullableString }), Type.Null()]),
});

/** PINFLs typed by citizens that disagree with the register, for a person to review. */
export const identityRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  listRoute(
    app,
    "/identity-conflicts",
    {
      tags: ["beneficiaries"],
      summary: "List PINFL claims that disagree with the register",
      description:
        "A PINFL a citizen types is a claim: kept apart from the register's PINFL, never used to match payments or cards and never a reason to refuse an import. Claims that disagree with the register (beneficiary import) are listed here, newest first.",
      filters: {},
      item: Conflict,
    },
    async (q) => wire(await identityConflicts(ctx.prisma, q)),
  );
};
