import { migrate, openDatabase } from "../core/db/database.js";
import { seedReferenceData } from "../core/reference/seed.js";
import type { AppConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { runProgram } from "./process.js";

/**
 * `node dist/app/migrate.js` (`npm run db:migrate` without tsx): applies pending migrations and
 * seeds the reference data, then exits. compose.yaml runs it once as its own service, so that the
 * app instances, which depend on it finishing, never race each other to migrate; an upgrade runs it
 * before the new instances start (docs/operations.md).
 */
async function main(config: AppConfig) {
  const logger = createLogger(config.logLevel);
  if (config.database.kind === "pglite" && config.database.dataDir === "memory") {
    throw new Error("an in-memory database has nothing to migrate");
  }
  const applied = await migrate(config.database);
  logger.info({ applied }, applied.length ? "migrations applied" : "database is up to date");
  const db = await openDatabase(config.database, { migrate: false });
  try {
    logger.info(await seedReferenceData(db.prisma, { demo: config.seedDemo }), "reference data seeded");
  } finally {
    await db.close();
  }
  process.exit(0);
}

runProgram("mahalla-connect migrate", main);
