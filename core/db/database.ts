import { PrismaClient } from "../../generated/prisma/client.js";
import { type DatabaseTarget, type DriverHandle, openDriver, type SqlDatabase, type SqlExecutor } from "./adapters.js";
import { applyPendingMigrations } from "./migrations.js";

export type { Prisma, PrismaClient } from "../../generated/prisma/client.js";
/** A Prisma client inside an interactive transaction. */
export type Tx = import("../../generated/prisma/client.js").Prisma.TransactionClient;

export interface Database {
  readonly prisma: PrismaClient;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** Statements sent since the database was opened. */
  queryCount(): number;
  /** Plain SQL beside Prisma, for the hottest statements and the flows' writes. */
  readonly sql: SqlDatabase;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
}

function databaseOver(driver: DriverHandle): Database {
  const prisma = new PrismaClient({ adapter: driver.factory });
  return {
    prisma,
    ping: () => driver.ping(),
    queryCount: () => driver.counter.queries,
    sql: driver.sql,
    close: async () => {
      await prisma.$disconnect();
      await driver.close();
    },
  };
}

/**
 * The plain-SQL executor over a Prisma client, for code that holds only the client (it pays
 * Prisma's raw-query cost; `Database.sql` is the fast path).
 */
export function prismaSql(prisma: PrismaClient): SqlDatabase {
  return {
    ...txSql(prisma),
    transaction: (work) => prisma.$transaction((tx) => work(txSql(tx))),
  };
}

/** The plain-SQL executor inside a Prisma interactive transaction (or over a client). */
export function txSql(tx: Tx | PrismaClient): SqlExecutor {
  return { query: <Row>(text: string, values: unknown[]) => tx.$queryRawUnsafe<Row[]>(text, ...values) };
}

/**
 * The one place that opens the database, on its URL alone: a PostgreSQL server given by
 * DATABASE_URL, or the embedded one the process (or its primary) started (app/database.ts).
 */
export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<Database> {
  if (options.migrate ?? true) await migrate(target);
  return databaseOver(await openDriver(target));
}

/**
 * The schema engine keeps its connection (and advisory lock) until its handle is closed, so it gets
 * a handle of its own, closed before the application opens the database.
 */
export async function migrate(target: DatabaseTarget): Promise<string[]> {
  const driver = await openDriver({ ...target, poolSize: 1 });
  try {
    return await applyPendingMigrations(driver.factory);
  } finally {
    await driver.close();
  }
}
