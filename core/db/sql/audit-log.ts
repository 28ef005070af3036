import { type NoRow, statement } from "./statement.js";

// AuditLog's plain-SQL statements. Owner: core/notifications/outbox.ts (auditMany's plain-SQL twin).

/**
 * Audit entries in one set-based statement; before and after are JSON text (null for none), the
 * time is the database's, in UTC as Prisma stores it.
 */
export const INSERT_BATCH = statement<
  NoRow,
  [
    actors: string[],
    actions: string[],
    entities: string[],
    entityIds: (string | null)[],
    befores: (string | null)[],
    afters: (string | null)[],
  ]
>(
  "AuditLog.insertBatch",
  `
  insert into "AuditLog" (actor, action, entity, "entityId", before, after, "createdAt")
  select a, b, e, i, bf, af, now() at time zone 'UTC'
    from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[]) as u(a, b, e, i, bf, af)`,
  {},
);
