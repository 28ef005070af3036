import { migrate, openDatabase } from "../core/db/database.js";
import { seedReferenceData } from "../core/reference/seed.js";
import type { AppConfig } from "./config.js";
import { startDatabase } from "./database.js";
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
  const database = await startDatabase(config.database, logger);
  try {
    const applied = await migrate(database.target);
    logger.info({ applied }, applied.length ? "migrations applied" : "database is up to date");
    const db = await openDatabase(database.target, { migrate: false });
    try {
      logger.info(await seedReferenceData(db.prisma, { demo: config.seedDemo }), "reference data seeded");
    } finally {
      await db.close();
    }
  } finally {
    await database.stop();
  }
  process.exit(0);
}

runProgram("mahalla-connect migrate", main);
