import { PrismaClient } from "../../generated/prisma/client.js";
import { type DatabaseTarget, type DriverHandle, openDriver, type SqlExecutor } from "./adapters.js";
import { applyPendingMigrations } from "./migrations.js";

export type { Prisma, PrismaClient } from "../../generated/prisma/client.js";
/** A Prisma client inside an interactive transaction. */
export type Tx = import("../../generated/prisma/client.js").Prisma.TransactionClient;

export interface Database {
  readonly prisma: PrismaClient;
  readonly kind: DatabaseTarget["kind"];
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** Statements sent since the database was opened. */
  queryCount(): number;
  /** Plain SQL beside Prisma, for the hottest statements only. */
  readonly sql: SqlExecutor;
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
    kind: driver.target.kind,
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
export function prismaSql(prisma: PrismaClient): SqlExecutor {
  return { query: <Row>(text: string, values: unknown[]) => prisma.$queryRawUnsafe<Row[]>(text, ...values) };
}

const isMemory = (target: DatabaseTarget) => target.kind === "pglite" && target.dataDir === "memory";

/**
 * The one place that opens the database: embedded PGlite when no DATABASE_URL is given,
 * PostgreSQL otherwise. Both run the same migrations from prisma/migrations.
 */
export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<Database> {
  const runMigrations = options.migrate ?? true;
  if (isMemory(target)) {
    // Nothing outlives an in-memory database, so the engine may share its only handle.
    const driver = await openDriver(target);
    if (runMigrations) await applyPendingMigrations(driver.factory);
    return databaseOver(driver);
  }
  if (runMigrations) await migrate(target);
  return databaseOver(await openDriver(target));
}

/**
 * The schema engine keeps its connection (and advisory lock) until its handle is closed, so it gets
 * a handle of its own, closed before the application opens the database.
 */
export async function migrate(target: DatabaseTarget): Promise<string[]> {
  if (isMemory(target)) throw new Error("an in-memory database is migrated by openDatabase()");
  const driver = await openDriver(target.kind === "postgres" ? { ...target, poolSize: 1 } : target);
  try {
    return await applyPendingMigrations(driver.factory);
  } finally {
    await driver.close();
  }
}

export const openMemoryDatabase = () => openDatabase({ kind: "pglite", dataDir: "memory" });
