import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registeredStatements, type Statement } from "../core/db/sql/index.js";
import { Prisma } from "../generated/prisma/client.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { projectRoot } from "./support/spawn.js";

type AnyStatement = Statement<object, readonly unknown[]>;

/** The schema as the generated client knows it: model → its scalar columns. */
function schemaColumns(): Map<string, Set<string>> {
  const namespace = Prisma as unknown as Record<string, unknown>;
  return new Map(
    Object.values(Prisma.ModelName).map((model) => {
      const fields = namespace[`${model}ScalarFieldEnum`] as Record<string, string> | undefined;
      if (!fields) throw new Error(`the generated client has no field list for ${model}`);
      return [model, new Set(Object.values(fields))];
    }),
  );
}

// Words that may follow a table name without being its alias.
const NOT_ALIAS = new Set(
  "on where set join left right inner full cross group order values limit for using returning union do select as offset having window"
    .split(" ")
    .map((w) => w.toLowerCase()),
);

/**
 * Every table and column a statement names, checked against the schema: tables after
 * from/join/into/update, columns of an insert's column list, `alias.column` for aliases of known
 * tables, and every other double-quoted name (a column of a table the statement reads or writes,
 * or a name the statement itself gives with AS). Unquoted unqualified names are left to the
 * database check below, which prepares every statement.
 */
function schemaProblems(s: Pick<AnyStatement, "name" | "text">, schema: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  // String literals ('social_worker', json keys, '…'::jsonb) are values, not names.
  const text = s.text.replace(/'(?:[^']|'')*'/g, "''");
  const tables = new Set<string>();
  for (const m of text.matchAll(/\b(?:from|join|into|update)\s+"(\w+)"/gi)) {
    const table = m[1] as string;
    if (schema.has(table)) tables.add(table);
    else problems.push(`${s.name}: no model ${table}`);
  }
  // Columns of a table the schema lacks cannot be checked: that table is the problem to report.
  if (problems.length > 0) return problems;
  const aliases = new Map<string, Set<string>>();
  const alias = (name: string, table: string) => aliases.set(name, (aliases.get(name) ?? new Set()).add(table));
  for (const table of tables) alias(table, table);
  for (const m of text.matchAll(/"(\w+)"\s+(?:as\s+)?([A-Za-z_]\w*)/gi)) {
    const [table, name] = [m[1] as string, m[2] as string];
    if (tables.has(table) && !NOT_ALIAS.has(name.toLowerCase())) alias(name, table);
  }
  const given = new Set([...text.matchAll(/\bas\s+"(\w+)"/gi)].map((m) => m[1] as string));
  const isColumnOf = (column: string, among: Iterable<string>) =>
    [...among].some((table) => schema.get(table)?.has(column));

  for (const m of text.matchAll(/\binto\s+"(\w+)"\s*\(([^)]*)\)/gi)) {
    const table = m[1] as string;
    for (const raw of (m[2] as string).split(",")) {
      const column = raw.trim().replace(/^"|"$/g, "");
      if (schema.has(table) && !schema.get(table)?.has(column))
        problems.push(`${s.name}: no column ${table}.${column}`);
    }
  }
  for (const m of text.matchAll(/(?:"(\w+)"|\b([A-Za-z_]\w*))\.(?:"(\w+)"|([A-Za-z_]\w*)\b)/g)) {
    const qualifier = (m[1] ?? m[2]) as string;
    const column = (m[3] ?? m[4]) as string;
    const among = aliases.get(qualifier);
    if (among && column !== "*" && !isColumnOf(column, among)) {
      problems.push(`${s.name}: no column ${[...among].join("/")}.${column} (as ${qualifier}.${column})`);
    }
  }
  for (const m of text.matchAll(/(?<![.\w"])"(\w+)"(?!\s*\.)/g)) {
    const name = m[1] as string;
    if (schema.has(name) || given.has(name) || isColumnOf(name, tables)) continue;
    problems.push(`${s.name}: "${name}" is no column of ${[...tables].join(", ") || "any table it names"}`);
  }
  return problems;
}

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : Promise.resolve(e.name.endsWith(".ts") ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

const PRODUCT_DIRS = ["app", "bot", "core", "ussd", "scripts"];
const productSources = async () =>
  (await Promise.all(PRODUCT_DIRS.map((d) => sources(join(projectRoot, d)))))
    .flat()
    .map((f) => relative(projectRoot, f));

/** Who may import each table's statements: the modules that own the table's plain SQL. */
const OWNERS: Record<string, string[]> = {
  "appeal.ts": ["core/opendata/source.ts"],
  "application.ts": ["core/opendata/source.ts", "core/services/applications.ts"],
  "audit-log.ts": ["core/notifications/outbox.ts"],
  "benefit-type.ts": ["core/services/contacts.ts"],
  "citizen.ts": [
    "core/engine/redis-session-store.ts",
    "core/reference/demo-activity.ts",
    "core/services/citizens.ts",
    "core/services/identity.ts",
    "core/services/imports/payments.ts",
  ],
  "conversation-session.ts": ["core/engine/session-store.ts"],
  "district.ts": ["core/services/contacts.ts"],
  "draft.ts": ["core/services/drafts.ts"],
  "escalation.ts": ["core/services/deadlines.ts", "core/services/escalations.ts"],
  "feedback.ts": ["core/services/feedback.ts"],
  "mahalla.ts": ["core/opendata/source.ts"],
  "outbox.ts": ["core/notifications/delivery.ts", "core/notifications/outbox.ts", "core/services/imports/payments.ts"],
  "payment.ts": ["core/services/imports/payments.ts", "core/services/payments.ts"],
  "service-contact.ts": ["core/services/contacts.ts"],
  "social-card.ts": ["core/services/imports/payments.ts"],
  "staff.ts": ["core/services/staff-visits.ts"],
  "telegram-update.ts": ["bot/update-ledger.ts"],
  "visit-request.ts": ["core/opendata/source.ts", "core/services/slot-capacity.ts", "core/services/visits.ts"],
};

const SQL_DIR = "core/db/sql";

describe("every plain SQL statement has an owner and is registered", () => {
  it("registers every statement declared in core/db/sql, each table module through index.ts", async () => {
    const files = (await readdir(join(projectRoot, SQL_DIR))).filter((f) => f !== "statement.ts" && f !== "index.ts");
    const index = await readFile(join(projectRoot, SQL_DIR, "index.ts"), "utf8");
    expect(files.filter((f) => !index.includes(`"./${f.replace(/\.ts$/, ".js")}"`))).toEqual([]);
    let declared = 0;
    for (const f of files) {
      declared += (await readFile(join(projectRoot, SQL_DIR, f), "utf8")).match(/\bstatement</g)?.length ?? 0;
    }
    expect(registeredStatements().length).toBe(declared);
    expect(declared).toBeGreaterThanOrEqual(30);
    for (const s of registeredStatements()) {
      const module = s.name.split(".")[0] as string;
      expect(schemaColumns().has(module), `${s.name} is named after no model`).toBe(true);
    }
  });

  it("lets only each table's owners import its statements, and ConversationSession only the session store", async () => {
    const importers = new Map<string, string[]>();
    for (const file of await productSources()) {
      const source = await readFile(join(projectRoot, file), "utf8");
      for (const m of source.matchAll(/from\s+["']([^"']*\/db\/sql\/([\w-]+)\.js)["']/g)) {
        const module = `${m[2]}.ts`;
        if (module === "statement.ts" || module === "index.ts") continue;
        importers.set(module, [...(importers.get(module) ?? []), file].sort());
      }
    }
    expect(Object.fromEntries([...importers].sort(([a], [b]) => a.localeCompare(b)))).toEqual(OWNERS);
  });

  it("leaves no SQL text outside core/db/sql and no Prisma write to ConversationSession anywhere", async () => {
    const offences: string[] = [];
    for (const file of await productSources()) {
      if (file.startsWith("core/db/")) continue;
      const source = await readFile(join(projectRoot, file), "utf8");
      // The doctor reads Prisma's own _prisma_migrations table, which is no model of the schema.
      if (file !== "scripts/doctor.ts" && /\$(?:query|execute)Raw|\bsql\.query\s*[<(]/.test(source)) {
        offences.push(`${file}: plain SQL outside core/db/sql`);
      }
      if (/\b(?:from|into|join|update|FROM|INTO|JOIN|UPDATE)\s+\\?"[A-Z]\w+\\?"/.test(source)) {
        offences.push(`${file}: SQL text naming a table outside core/db/sql`);
      }
      if (
        /conversationSession\s*\.\s*(?:create|createMany|update|updateMany|upsert|delete|deleteMany)\b/.test(source)
      ) {
        offences.push(`${file}: writes ConversationSession through Prisma`);
      }
    }
    expect(offences).toEqual([]);
  });
});

describe("every statement names only tables and columns of schema.prisma", () => {
  const schema = schemaColumns();

  it.each(registeredStatements().map((s) => [s.name, s] as const))("%s", (_name, s) => {
    expect(schemaProblems(s, schema)).toEqual([]);
  });

  it("catches a renamed table, a renamed quoted column and a wrong qualified column", () => {
    const check = (text: string) => schemaProblems({ name: "Draft.probe", text }, schema);
    expect(check(`select data from "Draft" where "citizenId" = $1`)).toEqual([]);
    expect(check(`select data from "Drafts" where "citizenId" = $1`)).toEqual(["Draft.probe: no model Drafts"]);
    expect(check(`select data from "Draft" where "citizenID" = $1`)).toEqual([
      'Draft.probe: "citizenID" is no column of Draft',
    ]);
    expect(check(`select d.dta from "Draft" d`)).toEqual(["Draft.probe: no column Draft.dta (as d.dta)"]);
    expect(check(`insert into "Draft" ("citizenId", knd) values ($1, $2)`)).toEqual([
      "Draft.probe: no column Draft.knd",
    ]);
  });
});

/**
 * The columns a statement returns, as the server describes it (Parse + Describe, never executed):
 * a pg "submittable", the extension point pg-cursor uses.
 */
function describeColumns(client: pg.Client, text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let columns: string[] = [];
    const describe = {
      submit(connection: {
        parse(q: { text: string; types: unknown[] }): void;
        describe(m: { type: "S"; name: string }): void;
        sync(): void;
      }) {
        connection.parse({ text, types: [] });
        connection.describe({ type: "S", name: "" });
        connection.sync();
      },
      handleRowDescription(msg: { fields: { name: string }[] }) {
        columns = msg.fields.map((f) => f.name);
      },
      // pg hands an error to the query and forgets it: no readyForQuery follows for it.
      handleError(err: Error) {
        reject(err);
      },
      handleReadyForQuery() {
        resolve(columns);
      },
      handleDataRow() {},
      handleCommandComplete() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
      handleCopyInResponse() {},
      handleCopyData() {},
    };
    void client.query(describe as unknown as pg.QueryConfig);
  });
}

describe("every statement prepares on the migrated database", () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    // Migrated by the very migration files the app applies.
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.target.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.close();
  });

  it.each(registeredStatements().map((s) => [s.name, s] as const))(
    "%s: on the embedded database, and returns exactly its row type's columns",
    async (_name, s) => {
      const described = await describeColumns(client, s.text);
      expect(described.sort()).toEqual([...s.columns].sort());
    },
  );

  it("prepares every statement on the test database", async () => {
    const failures: string[] = [];
    // One connection of its own: PREPARE and DEALLOCATE must meet on the same session.
    const client = new pg.Client({ connectionString: db.target.url });
    await client.connect();
    try {
      for (const [i, s] of registeredStatements().entries()) {
        try {
          await client.query(`PREPARE sql_schema_${i} AS ${s.text}`);
          await client.query(`DEALLOCATE sql_schema_${i}`);
        } catch (err) {
          failures.push(`${s.name}: ${(err as Error).message}`);
        }
      }
    } finally {
      await client.end();
    }
    expect(failures).toEqual([]);
  });

  it("would catch a statement that names a column the database lacks", async () => {
    await expect(describeColumns(client, `select "stepCounts" from "ConversationSession"`)).rejects.toThrow(
      /stepCounts/,
    );
  });
});
