// Database workflow without Prisma's native engine: `npm run db:migration -- <name>`,
// `npm run db:migrate`, `npm run db:reset`, `npm run db:seed [-- --demo]`.
import { loadConfig } from "../app/config.js";
import { openDriver } from "../core/db/adapters.js";
import { migrate, openDatabase } from "../core/db/database.js";
import { applyPendingMigrations, createMigration, resetDatabase } from "../core/db/migrations.js";
import { seedDemoActivity } from "../core/reference/demo-activity.js";
import { seedReferenceData } from "../core/reference/seed.js";

const [command, ...args] = process.argv.slice(2);

async function run(): Promise<string> {
  switch (command) {
    case "migration": {
      const name = args.find((a) => !a.startsWith("-"));
      if (!name) return fail("usage: npm run db:migration -- <name>");
      const created = await createMigration(name);
      return created ? `created ${created.folder}` : "schema.prisma matches the migrations: nothing to create";
    }
    case "migrate": {
      const applied = await migrate(loadConfig().database);
      return applied.length ? `applied ${applied.join(", ")}` : "database is up to date";
    }
    case "reset": {
      const config = loadConfig();
      if (config.env === "production") return fail("refusing to reset a production database");
      const driver = await openDriver(config.database);
      try {
        await resetDatabase(driver.factory);
        const applied = await applyPendingMigrations(driver.factory);
        return `database reset; applied ${applied.length} migration(s)`;
      } finally {
        await driver.close();
      }
    }
    case "seed": {
      const db = await openDatabase(loadConfig().database);
      try {
        const demo = args.includes("--demo");
        const report = await seedReferenceData(db.prisma, { demo });
        const activity = demo ? await seedDemoActivity(db.prisma) : undefined;
        return `seeded ${JSON.stringify({ ...report, ...(activity ? { demoCitizens: activity.citizens } : {}) })}`;
      } finally {
        await db.close();
      }
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
