import type { DatabaseTarget } from "../core/db/adapters.js";
import { startEmbeddedServer } from "../core/db/embedded-server.js";
import type { DatabaseConfig } from "./config.js";
import type { Logger } from "./logger.js";

export interface StartedDatabase {
  /** Where every process of this machine connects (workers get it from the primary). */
  readonly target: DatabaseTarget;
  /** Stops what startDatabase started (the embedded server); nothing for DATABASE_URL. */
  stop(): Promise<void>;
}

/**
 * Makes the configured database reachable, once per machine (the primary process, or the single
 * one): DATABASE_URL is used as it is; the embedded default starts, or adopts, its PostgreSQL
 * server under DATA_DIR. Opening, migrating and seeding are the caller's (core/db/database.ts).
 */
export async function startDatabase(config: DatabaseConfig, logger: Logger): Promise<StartedDatabase> {
  if (config.kind === "postgres") return { target: config, stop: async () => {} };
  const server = await startEmbeddedServer({ dataDir: config.dataDir, log: logger });
  return {
    target: { kind: "postgres", url: server.url, poolSize: config.poolSize },
    stop: () => server.stop(),
  };
}
