import type { SqlExecutor } from "../adapters.js";
import type { PrismaClient, Tx } from "../database.js";

/**
 * Why plain SQL lives in typed, named statements here rather than in Prisma TypedSQL
 * (`prisma/sql/*.sql` with `$queryRawTyped`): TypedSQL's generator types each file by preparing it
 * on a live database through the CLI's schema engine, which these machines and CI cannot download
 * (shared/notes/prisma-offline.md), so `prisma generate --sql` cannot run here. Instead each
 * table's statements sit in one module of this folder with the row type they return, and
 * test/sql-schema.test.ts checks every registered statement against schema.prisma (the generated
 * client's models and fields) and prepares it on both databases, comparing the columns it returns
 * with the row type's keys: a renamed column fails the suite, not production.
 */

/** Every key of the row type, each exactly once: what a statement declares it returns. */
export type Columns<Row> = { readonly [K in keyof Row]-?: true };

/** A statement that returns no rows (a write without RETURNING). */
export type NoRow = Record<never, never>;

/**
 * One SQL statement with its parameters' and rows' types. `text` is a constant (on PostgreSQL
 * each distinct text becomes a named prepared statement on every connection, see adapters.ts).
 */
export interface Statement<Row extends object, Params extends readonly unknown[]> {
  /** `<Table>.<purpose>`: the table whose module owns it, and what it is for. */
  readonly name: string;
  readonly text: string;
  /** The columns each returned row has: the keys of `Row`. */
  readonly columns: readonly string[];
  /** Type carriers only; never set at run time. */
  readonly row?: Row;
  readonly params?: Params;
}

const registry = new Map<string, Statement<object, readonly unknown[]>>();

/**
 * Declares a statement. The columns object must name every key of `Row` and nothing else (the
 * compiler checks that much; the test checks them against what the database returns).
 */
export function statement<Row extends object, Params extends readonly unknown[]>(
  name: string,
  text: string,
  columns: Columns<Row>,
): Statement<Row, Params> {
  if (registry.has(name)) throw new Error(`statement ${name} is declared twice`);
  const declared: Statement<Row, Params> = { name, text, columns: Object.keys(columns) };
  registry.set(name, declared);
  return declared;
}

/** Every statement declared so far (test/sql-schema.test.ts imports core/db/sql/index.ts first). */
export const registeredStatements = (): Statement<object, readonly unknown[]>[] => [...registry.values()];

/** Runs a statement on the plain-SQL path (`Database.sql`, or `prismaSql` over a client). */
export const run = <Row extends object, Params extends readonly unknown[]>(
  sql: SqlExecutor,
  s: Statement<Row, Params>,
  params: Params,
): Promise<Row[]> => sql.query<Row>(s.text, [...params]);

/** Runs a statement through Prisma, inside an interactive transaction or on the client. */
export const runIn = <Row extends object, Params extends readonly unknown[]>(
  db: Tx | PrismaClient,
  s: Statement<Row, Params>,
  params: Params,
): Promise<Row[]> => db.$queryRawUnsafe<Row[]>(s.text, ...params);

/** Runs a statement through Prisma for its effect (a write, a lock); returns how many rows it touched. */
export const executeIn = <Row extends object, Params extends readonly unknown[]>(
  db: Tx | PrismaClient,
  s: Statement<Row, Params>,
  params: Params,
): Promise<number> => db.$executeRawUnsafe(s.text, ...params);

/** What a lock statement returns (`select pg_advisory_xact_lock(…)`): one void column, never read. */
export type LockRow = { pg_advisory_xact_lock: string };
export const LOCK_COLUMNS: Columns<LockRow> = { pg_advisory_xact_lock: true };
