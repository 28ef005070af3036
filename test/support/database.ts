import { randomBytes } from "node:crypto";
import pg from "pg";
import type { DatabaseTarget } from "../../core/db/adapters.js";
import { type Database, openDatabase } from "../../core/db/database.js";

export interface TestDatabase extends Database {
  readonly target: DatabaseTarget;
}

/** The run's migrated template (test/support/global-setup.ts), when there is one. */
export const TEMPLATE_ENV = "MC_TEST_TEMPLATE_DATABASE";

/**
 * A fresh, migrated database for one test file, dropped again on close: on the run's embedded
 * server (test/support/global-setup.ts sets DATABASE_URL to it), or on the PostgreSQL server
 * DATABASE_URL names (CI's second pass). It is a copy of the run's template, migrated once in the
 * global setup (a copy takes a fraction of replaying every migration, per file); `fromEmpty` replays
 * the migrations on an empty database instead, for the tests whose subject is the migrations.
 */
export async function createTestDatabase(options: { fromEmpty?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error("DATABASE_URL is unset: run the tests through vitest (its globalSetup sets it)");
  const name = `mc_test_${randomBytes(6).toString("hex")}`;
  const template = options.fromEmpty ? undefined : process.env[TEMPLATE_ENV];
  await adminQuery(serverUrl, `CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // Generous waits: a test pins down behaviour, and on a machine busy with the other test files a
  // statement or a connection can take seconds (a full run once hit the 10 s query timeout). The
  // fault tests that are about timeouts open their own connections with the product's defaults.
  const target: DatabaseTarget = {
    kind: "postgres",
    url: url.toString(),
    poolSize: 5,
    connectTimeoutMs: 30_000,
    queryTimeoutMs: 60_000,
  };
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

/** Whether this run is on its own embedded server (the first CI pass, and `npm test` on a bare machine). */
export const onEmbeddedTestServer = () => process.env.MC_TEST_EMBEDDED_SERVER === "1";

/** Creates the run's migrated template on the server `serverUrl`; returns its name and how to drop it. */
export async function createTemplateDatabase(serverUrl: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `mc_template_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // Migrated, then closed: PostgreSQL copies a template only while nobody is connected to it.
  const db = await openDatabase({ kind: "postgres", url: url.toString(), poolSize: 1 });
  await db.close();
  return { name, drop: () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
