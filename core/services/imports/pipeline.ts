import type { SqlDatabase, SqlExecutor } from "../../db/adapters.js";
import type { PrismaClient, Tx } from "../../db/database.js";
import { type AuditEntry, auditMany, auditManySql } from "../../notifications/outbox.js";
import {
  IMPORT_TX,
  importPace,
  nextTurn,
  type PaceOptions,
  type RawRecord,
  READ_TURN,
  RowErrors,
  type RowProblem,
  type RowReader,
  readerFor,
} from "./rows.js";

export type Records = AsyncIterable<RawRecord> | Iterable<RawRecord>;

/**
 * What one entity adds to the import pipeline. Every import reads its records once, as they
 * arrive (a JSON body element by element, a CSV line by line), keeps only compact rows, refuses
 * the whole import if any row is bad (nothing is written then), and otherwise writes the plans
 * batch by batch, each batch with its audit entries in one transaction.
 */
interface PartBase<Row, Plan> {
  /**
   * Reads one record, checking it alone and against the file's earlier rows. Undefined when the
   * record leaves nothing to resolve: its problems are noted on the reader, or an earlier row
   * absorbed it (the same payment sent twice, a beneficiary's further card).
   */
  read(record: RawRecord, reader: RowReader): Row | undefined;
  /**
   * Checks rows against the database and turns them into plans, calling `reject` for a row
   * that cannot be imported.
   */
  resolve(
    rows: Row[],
    reject: (record: Pick<RawRecord, "row" | "line">, problems: RowProblem[]) => void,
  ): Promise<Plan[]>;
  /**
   * Rows resolved together as the records arrive, so a large import holds plans rather than
   * parsed rows; unset: the whole file at once (when a row's check needs the rows after it).
   */
  resolveEvery?: number;
  /** Plans per write transaction; unset: all in one. */
  writeEvery?: number;
}

/**
 * What one entity adds to the import pipeline (see PartBase), and how it writes a batch of plans,
 * returning the audit entries of what it changed: in a Prisma transaction (`write`), or in a
 * plain-SQL one (`writeSql`, for the payment register's large batches: a Prisma statement with
 * thousands of parameters is compiled and checked on the event loop, which holds every other
 * request of the process meanwhile).
 */
export type ImportPart<Row, Plan> = PartBase<Row, Plan> &
  (
    | { write(tx: Tx, plans: Plan[]): Promise<AuditEntry[]>; writeSql?: never }
    | {
        /** The database's plain-SQL path, whose transactions `writeSql` runs in. */
        sql: SqlDatabase;
        writeSql(tx: SqlExecutor, plans: Plan[]): Promise<AuditEntry[]>;
        write?: never;
      }
  );

/**
 * Runs an import through its part: read → resolve → (all rows good, else ImportRejectedError
 * with every row's problems) → write with audit, batch by batch, resting after each batch as
 * long as `importPace` says (`pace.busy`: whether people are being served meanwhile). Returns
 * how many records arrived and the plans it wrote.
 */
export async function runImport<Row, Plan>(
  prisma: PrismaClient,
  records: Records,
  part: ImportPart<Row, Plan>,
  pace: PaceOptions = {},
): Promise<{ received: number; plans: Plan[] }> {
  const errors = new RowErrors();
  const reject = errors.add.bind(errors);
  const plans: Plan[] = [];
  let pending: Row[] = [];
  let received = 0;
  const rest = importPace(pace);
  const resolvePending = async () => {
    const rows = pending;
    pending = [];
    if (rows.length > 0) plans.push(...(await part.resolve(rows, reject)));
    await rest();
  };
  for await (const record of records) {
    received++;
    // A CSV chunk's records arrive without a turn of the event loop between them, and reading
    // them is the import's longest stretch on the CPU: every READ_TURN records the process's other
    // requests (USSD steps on payment day) get the event loop, instead of waiting up to tens of
    // milliseconds for a whole chunk.
    if (received % READ_TURN === 0) await nextTurn();
    const reader = readerFor(record);
    const row = part.read(record, reader);
    if (row === undefined || reader.problems.length > 0) {
      errors.add(record, reader.problems);
      continue;
    }
    pending.push(row);
    if (part.resolveEvery !== undefined && pending.length >= part.resolveEvery) await resolvePending();
  }
  await resolvePending();
  errors.throwIfAny(received);

  // Written batch by batch, each in its own transaction, so a 100,000-row register does not hold
  // the embedded database's only connection for minutes. A crash midway leaves whole batches
  // written; sending the import again completes it (every import is idempotent by its key).
  const size = part.writeEvery ?? Math.max(plans.length, 1);
  for (let i = 0; i < plans.length; i += size) {
    if (i > 0) await rest();
    const batch = plans.slice(i, i + size);
    if (part.writeSql) {
      const { writeSql } = part;
      await part.sql.transaction(async (tx) => {
        await auditManySql(tx, await writeSql(tx, batch));
      });
    } else {
      const { write } = part;
      await prisma.$transaction(async (tx) => {
        await auditMany(tx, await write(tx, batch));
      }, IMPORT_TX);
    }
  }
  return { received, plans };
}

export interface UpsertCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export const noCounts = (): UpsertCounts => ({ created: 0, updated: 0, unchanged: 0 });

/** The fields of `after` whose values differ from `before`. */
export const changed = <W extends object>(before: object, after: W): Partial<W> => {
  const diff: Partial<W> = {};
  for (const key of Object.keys(after) as (keyof W & string)[]) {
    const a = after[key];
    const b = (before as Record<string, unknown>)[key];
    const same = a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
    if (!same) diff[key] = a;
  }
  return diff;
};

export const pick = <T extends object, K extends keyof T>(value: T, keys: K[]): Pick<T, K> =>
  Object.fromEntries(keys.map((k) => [k, value[k]])) as Pick<T, K>;

/**
 * Brings a stored row to what the import wants: nothing when no field differs (counted
 * unchanged), else `update` with the differing fields, counted and audited with their values
 * before and after.
 */
export async function updateChanged<S extends object, W extends object>(
  stored: S,
  wanted: W,
  update: (diff: Partial<W>) => Promise<unknown>,
  counts: UpsertCounts,
  entry: Omit<AuditEntry, "before" | "after">,
): Promise<AuditEntry | null> {
  const diff = changed(stored, wanted);
  if (Object.keys(diff).length === 0) {
    counts.unchanged++;
    return null;
  }
  await update(diff);
  counts.updated++;
  return { ...entry, before: pick(stored, Object.keys(diff) as (keyof S)[]), after: diff };
}

/** Ids at the agency (beneficiaries, cards, payments). */
export const EXTERNAL_ID = /^[0-9A-Za-z][0-9A-Za-z._:/-]{0,63}$/;
export const EXTERNAL_ID_HINT = "must be 1–64 letters, digits or . _ : / -";
export const MAHALLA_CODE = /^[0-9A-Za-z][0-9A-Za-z._-]{1,39}$/;
