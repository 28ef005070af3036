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
