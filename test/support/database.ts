import { randomBytes } from "node:crypto";
import pg from "pg";
import type { DatabaseTarget } from "../../core/db/adapters.js";
import { type Database, openDatabase } from "../../core/db/database.js";

export interface TestDatabase extends Database {
  readonly target: DatabaseTarget;
}

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or, when the suite
 * runs with DATABASE_URL (as CI's second pass does), a new database on that PostgreSQL server,
 * dropped again on close.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const target: DatabaseTarget = { kind: "pglite", dataDir: "memory" };
    return Object.assign(await openDatabase(target), { target });
  }
  const name = `mc_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const target: DatabaseTarget = { kind: "postgres", url: url.toString(), poolSize: 5 };
  const db = await openDatabase(target);
  return {
    ...db,
    target,
    close: async () => {
      await db.close();
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** One statement on the server's maintenance connection (CREATE/DROP DATABASE). */
export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export const postgresUrl = () => process.env.DATABASE_URL;
