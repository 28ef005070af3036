import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import pg from "pg";
import { migrationsDir as defaultMigrationsDir, schemaPath } from "./paths.js";
import { NO_FILTER, readMigrationList, startSchemaEngine } from "./schema-engine.js";

async function readDatamodel() {
  return { path: schemaPath, content: await readFile(schemaPath, "utf8") };
}

/**
 * Applies every migration folder not yet recorded in `_prisma_migrations`, exactly as
 * `prisma migrate deploy` would. Returns the names applied (empty when up to date).
 */
export async function applyPendingMigrations(
  factory: SqlMigrationAwareDriverAdapterFactory,
  migrationsDir = defaultMigrationsDir,
): Promise<string[]> {
  const engine = await startSchemaEngine(await readDatamodel(), factory);
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: await readMigrationList(migrationsDir),
      filters: NO_FILTER,
    });
    return appliedMigrationNames;
  } finally {
    engine.free();
  }
}

/** Drops everything in the database (development only); migrations are then applied afresh. */
export async function resetDatabase(factory: SqlMigrationAwareDriverAdapterFactory): Promise<void> {
  const engine = await startSchemaEngine(await readDatamodel(), factory);
  try {
    await engine.reset({ filter: NO_FILTER });
  } finally {
    engine.free();
  }
}

/** PostgreSQL's one-byte `"char"` type, and `text`. */
const CHAR_OID = 18;
const TEXT_OID = 25;
/** Appended to the name of a `"char"` column between the pool and the adapter, then removed. */
const CHAR_MARK = "\u0000char";

/**
 * The schema engine's introspection (diff) reads catalog columns of PostgreSQL's `"char"` type
 * (pg_constraint.contype, …) and expects them as Prisma's Character column type, which
 * @prisma/adapter-pg does not map (it refuses the query). So the pool reports such a column as
 * text with a marked name, and the adapter's result gets the Character type back for it.
 */
function introspectionFactory(url: string): { factory: SqlMigrationAwareDriverAdapterFactory; end(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on("error", () => {});
  const query = pool.query.bind(pool) as (config: pg.QueryConfig) => Promise<pg.QueryResult>;
  Object.assign(pool, {
    query: async (config: pg.QueryConfig) => {
      const result = await query(config);
      for (const field of result.fields ?? []) {
        if (field.dataTypeID === CHAR_OID) Object.assign(field, { dataTypeID: TEXT_OID, name: field.name + CHAR_MARK });
      }
      return result;
    },
  });
  const inner = new PrismaPg(pool);
  const unmark = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const queryRaw = adapter.queryRaw.bind(adapter);
    return Object.assign(adapter, {
      queryRaw: async (q: Parameters<SqlDriverAdapter["queryRaw"]>[0]) => {
        const result = await queryRaw(q);
        const columnTypes = [...result.columnTypes];
        const columnNames = result.columnNames.map((name, i) => {
          if (!name.endsWith(CHAR_MARK)) return name;
          columnTypes[i] = ColumnTypeEnum.Character;
          return name.slice(0, -CHAR_MARK.length);
        });
        return { ...result, columnNames, columnTypes };
      },
    });
  };
  return {
    factory: {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: async () => unmark(await inner.connect()),
      // The scratch database is empty: it serves as the shadow database itself (the factory's
      // own would be made from the pool's connection string, which names the scratch one again).
      connectToShadowDb: async () => unmark(await inner.connect()),
    },
    end: () => pool.end(),
  };
}

/**
 * The SQL that brings the existing migrations up to the current schema.prisma ("" when none).
 * `scratchUrl` names an empty database the migrations are replayed on (the schema engine's
 * shadow database); the caller creates it and drops it afterwards.
 */
export async function pendingSchemaChanges(scratchUrl: string, migrationsDir = defaultMigrationsDir): Promise<string> {
  const scratch = introspectionFactory(scratchUrl);
  try {
    return await diffAgainstMigrations(scratch.factory, migrationsDir);
  } finally {
    await scratch.end();
  }
}

async function diffAgainstMigrations(
  scratch: SqlMigrationAwareDriverAdapterFactory,
  migrationsDir: string,
): Promise<string> {
  const datamodel = await readDatamodel();
  const engine = await startSchemaEngine(datamodel, scratch);
  try {
    const existing = await readMigrationList(migrationsDir);
    const { stdout } = await engine.diff({
      from: existing.migrationDirectories.length === 0 ? { tag: "empty" } : { tag: "migrations", ...existing },
      to: { tag: "schemaDatamodel", files: [datamodel] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    });
    return isEmptyScript(stdout ?? "") ? "" : (stdout ?? "");
  } finally {
    engine.free();
  }
}

function isEmptyScript(sql: string): boolean {
  return sql
    .split("\n")
    .map((l) => l.trim())
    .every((l) => l === "" || l.startsWith("--"));
}

/** Writes `prisma/migrations/<timestamp>_<name>/migration.sql` for the pending schema changes. */
export async function createMigration(
  name: string,
  scratchUrl: string,
  migrationsDir = defaultMigrationsDir,
  now = new Date(),
): Promise<{ folder: string; sql: string } | null> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new Error(`migration name must be lower_snake_case letters and digits, got "${name}"`);
  }
  const sql = await pendingSchemaChanges(scratchUrl, migrationsDir);
  if (!sql) return null;
  const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
  const folder = join(migrationsDir, `${stamp}_${name}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, "migration.sql"), sql);
  await writeFile(
    join(migrationsDir, "migration_lock.toml"),
    '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
  );
  return { folder, sql };
}
