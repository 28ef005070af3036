// Database workflow without Prisma's native engine: `npm run db:migration -- <name>`,
// `npm run db:migrate`, `npm run db:reset`, `npm run db:seed [-- --demo]`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../app/config.js";
import { type StartedDatabase, startDatabase } from "../app/database.js";
import { createLogger } from "../app/logger.js";
import { openDriver } from "../core/db/adapters.js";
import { migrate, openDatabase } from "../core/db/database.js";
import { applyPendingMigrations, createMigration, resetDatabase } from "../core/db/migrations.js";
import { seedDemoActivity } from "../core/reference/demo-activity.js";
import { seedReferenceData } from "../core/reference/seed.js";

const logger = createLogger("warn");

/** The configured database, reachable (the embedded server started or joined) for the length of `work`. */
async function withDatabase<T>(work: (target: StartedDatabase["target"]) => Promise<T>): Promise<T> {
  const database = await startDatabase(loadConfig().database, logger);
  try {
    return await work(database.target);
  } finally {
    await database.stop();
  }
}

/**
 * An empty database the migrations are replayed on to find what schema.prisma adds: a throw-away
 * embedded server in a temporary directory, so no server or configuration is needed.
 */
async function withScratchDatabase<T>(work: (url: string) => Promise<T>) {
  const dir = await mkdtemp(join(tmpdir(), "mc-migration-"));
  const database = await startDatabase({ kind: "embedded", dataDir: dir, poolSize: 1 }, logger);
  try {
    return await work(database.target.url);
  } finally {
    await database.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const [command, ...args] = process.argv.slice(2);

async function run(): Promise<string> {
  switch (command) {
    case "migration": {
      const name = args.find((a) => !a.startsWith("-"));
      if (!name) return fail("usage: npm run db:migration -- <name>");
      const created = await withScratchDatabase((scratch) => createMigration(name, scratch));
      return created ? `created ${created.folder}` : "schema.prisma matches the migrations: nothing to create";
    }
    case "migrate": {
      const applied = await withDatabase((target) => migrate(target));
      return applied.length ? `applied ${applied.join(", ")}` : "database is up to date";
    }
    case "reset": {
      const config = loadConfig();
      if (config.env === "production") return fail("refusing to reset a production database");
      return withDatabase(async (target) => {
        const driver = await openDriver({ ...target, poolSize: 1 });
        try {
          await resetDatabase(driver.factory);
          const applied = await applyPendingMigrations(driver.factory);
          return `database reset; applied ${applied.length} migration(s)`;
        } finally {
          await driver.close();
        }
      });
    }
    case "seed": {
      return withDatabase(async (target) => {
        const db = await openDatabase(target);
        try {
          const demo = args.includes("--demo");
          const report = await seedReferenceData(db.prisma, { demo });
          const activity = demo ? await seedDemoActivity(db.prisma) : undefined;
          return `seeded ${JSON.stringify({ ...report, ...(activity ? { demoCitizens: activity.citizens } : {}) })}`;
        } finally {
          await db.close();
        }
      });
    }
    default:
      return fail("usage: tsx scripts/db.ts migration <name> | migrate | reset | seed [--demo]");
  }
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

run().then(
  (message) => {
    process.stdout.write(`${message}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`db ${command}: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
