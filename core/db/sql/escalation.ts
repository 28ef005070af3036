import { statement } from "./statement.js";

// Escalation's statements. Owner: core/services/deadlines.ts (DeadlineService), whose claims are
// the only inserts: one row per reminder, escalation or late notice, so each is sent once.

export interface ClaimedRow {
  id: number;
  subjectKind: string;
  subjectId: number;
  deadlineAt: Date;
}

/**
 * Claim-once: one insert of every candidate, skipping those another caller has already inserted
 * (the unique key on subject and kind); it returns only the rows this statement created.
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
