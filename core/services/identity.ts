import type { PrismaClient } from "../db/database.js";
import { IDENTITY_CONFLICTS } from "../db/sql/citizen.js";
import { runIn } from "../db/sql/statement.js";
import type { Page, PageRequest } from "./backoffice/paging.js";

/**
 * Why a PINFL a citizen typed needs a person to look at it:
 * - `held_by_other`: the register gives that PINFL to another citizen (someone typed a PINFL that
 *   is not theirs, or the register is wrong);
 * - `differs_from_register`: the register gives this citizen another PINFL;
 * - `claimed_by_several`: citizens the register does not know typed the same PINFL.
 */
export const CONFLICT_KINDS = ["held_by_other", "differs_from_register", "claimed_by_several"] as const;
export type ConflictKind = (typeof CONFLICT_KINDS)[number];

export interface IdentityConflict {
  kind: ConflictKind;
  claimedPinfl: string;
  claimedAt: Date | null;
  citizen: { id: number; phone: string; externalId: string | null; registerPinfl: string | null };
  /** The citizen the register gives the claimed PINFL to (`held_by_other` only). */
  registerHolder: { id: number; externalId: string | null } | null;
}

/*
 * Conflicts are derived from the claims and the register each time they are read, not copied
 * into a table when a claim or an import is written: nothing can go stale or be missed when a
 * claim and an import race, and resolving one is fixing the data (the register, or the claim).
 * The (claimedPinfl) index and the unique pinfl index keep the joins to index look-ups.
 */
export async function identityConflicts(prisma: PrismaClient, page: PageRequest): Promise<Page<IdentityConflict>> {
  const limit = page.limit ?? 50;
  const offset = page.offset ?? 0;
  const rows = await runIn(prisma, IDENTITY_CONFLICTS, [limit, offset]);
  const total = rows[0]?.total ?? (offset > 0 ? (await identityConflicts(prisma, { limit: 1, offset: 0 })).total : 0);
  return {
    items: rows.map((r) => ({
      kind: r.kind as ConflictKind,
      claimedPinfl: r.claimedPinfl,
      claimedAt: r.claimedAt,
      citizen: { id: r.id, phone: r.phone, externalId: r.externalId, registerPinfl: r.registerPinfl },
      registerHolder: r.holderId === null ? null : { id: r.holderId, externalId: r.holderExternalId },
    })),
    total,
    limit,
    offset,
  };
}
