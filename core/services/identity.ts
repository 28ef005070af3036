import type { PrismaClient } from "../db/database.js";
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

interface Row {
  kind: ConflictKind;
  claimedPinfl: string;
  claimedAt: Date | null;
  id: number;
  phone: string;
  externalId: string | null;
  registerPinfl: string | null;
  holderId: number | null;
  holderExternalId: string | null;
  total: number;
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
  const rows = await prisma.$queryRaw<Row[]>`
    select k.*, count(*) over ()::int as total from (
      select c.id, c.phone, c."externalId", c.pinfl as "registerPinfl", c."claimedPinfl",
             c."pinflClaimedAt" as "claimedAt", h.id as "holderId", h."externalId" as "holderExternalId",
             case
               when h.id is not null then 'held_by_other'
               when c.pinfl is not null and c.pinfl <> c."claimedPinfl" then 'differs_from_register'
               when c.pinfl is null and exists (
                 select 1 from "Citizen" o
                  where o."claimedPinfl" = c."claimedPinfl" and o.id <> c.id and o.pinfl is null
               ) then 'claimed_by_several'
             end as kind
        from "Citizen" c
        left join "Citizen" h on h.pinfl = c."claimedPinfl" and h.id <> c.id
       where c."claimedPinfl" is not null
    ) k
    where k.kind is not null
    order by k."claimedAt" desc nulls last, k.id desc
    limit ${limit} offset ${offset}`;
  const total = rows[0]?.total ?? (offset > 0 ? (await identityConflicts(prisma, { limit: 1, offset: 0 })).total : 0);
  return {
    items: rows.map((r) => ({
      kind: r.kind,
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
