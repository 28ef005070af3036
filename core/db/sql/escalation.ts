import { LOCK_COLUMNS, type LockRow, statement } from "./statement.js";

/** The deadline tick's kinds, as the first part of its lock key is the issue (15). */
export const TICK_KIND = { reminder: 1, escalation: 2, late_notice: 3 } as const;

/**
 * Serialises the deadline tick of one kind across instances until the transaction ends. The claims
 * alone already give each item to one instance; the lock keeps the items due at one moment
 * together, so an admin gets one grouped message rather than one per instance that raced.
 */
export const LOCK_TICK = statement<LockRow, [kind: number]>(
  "Escalation.lockTick",
  `select pg_advisory_xact_lock(15, $1)`,
  LOCK_COLUMNS,
);

export interface ClaimedRow {
  id: number;
  subjectKind: "visit" | "application";
  subjectId: number;
  deadlineAt: Date;
}

/**
 * Claim-once: inserts every candidate of one kind, skipping those another caller already inserted
 * (the unique key on subject and kind), and returns only the rows this statement created.
 */
export const CLAIM = statement<
  ClaimedRow,
  [kind: string, subjectKinds: string[], subjectIds: number[], deadlines: string[]]
>(
  "Escalation.claim",
  `insert into "Escalation" (kind, "subjectKind", "subjectId", "visitRequestId", "applicationId", "deadlineAt")
       select $1, s.kind, s.id,
              case when s.kind = 'visit' then s.id end, case when s.kind = 'application' then s.id end, s.deadline
         from unnest($2::text[], $3::int[], $4::timestamp(3)[]) as s(kind, id, deadline)
       on conflict ("subjectKind", "subjectId", kind) do nothing
       returning id, "subjectKind", "subjectId", "deadlineAt"`,
  { id: true, subjectKind: true, subjectId: true, deadlineAt: true },
);
