import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedBinDir, startEmbeddedServer } from "../../core/db/embedded-server.js";
import { createTemplateDatabase, TEMPLATE_ENV } from "./database.js";
import { postgresBinDir } from "./servers.js";

/**
 * `npm test` needs no system PostgreSQL: without DATABASE_URL one embedded server (the product's
 * own, core/db/embedded-server.ts) is started for the whole run in a temporary directory, and every
 * test file creates its databases on it as it would on DATABASE_URL (test/support/database.ts).
 * With DATABASE_URL (CI's second pass) that server is used and nothing is started here.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // Tests that start clusters of their own (scripts/pg-cluster.sh) use the shipped binaries when
  // the machine has no PostgreSQL installed.
  if (!postgresBinDir()) process.env.PG_BIN = await embeddedBinDir();
  if (process.env.DATABASE_URL) return withTemplate(process.env.DATABASE_URL);
  const dir = await mkdtemp(join(tmpdir(), "mc-test-pg-"));
  const server = await startEmbeddedServer({
    dataDir: dir,
    // Test-only speed: nothing here must survive a power cut, and the product never sets these.
    initNoSync: true,
    settings: { fsync: false, synchronous_commit: false, full_page_writes: false, max_connections: 300 },
  });
  // The forked test workers inherit this environment.
  process.env.DATABASE_URL = server.adminUrl;
  process.env.MC_TEST_EMBEDDED_SERVER = "1";
  const dropTemplate = await withTemplate(server.adminUrl);
  return async () => {
    await dropTemplate();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

/** The migrated template every test file's database is copied from (test/support/database.ts). */
async function withTemplate(serverUrl: string): Promise<() => Promise<void>> {
  const template = await createTemplateDatabase(serverUrl);
  process.env[TEMPLATE_ENV] = template.name;
  return () => template.drop();
}
