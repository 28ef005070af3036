import { PrismaPg } from "@prisma/adapter-pg";
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQueryable,
} from "@prisma/driver-adapter-utils";
import pg from "pg";

/**
 * Where the data lives: always a PostgreSQL server, reached by its URL (the embedded default is a
 * server the product starts itself, core/db/embedded-server.ts, and hands over as a URL too).
 */
export interface DatabaseTarget {
  kind: "postgres";
  url: string;
  poolSize?: number;
  /**
   * Longest wait for a connection, a new one's handshake included (default 2 s, inside the USSD
   * step deadline). Work no caller waits for may wait longer on a busy machine.
   */
  connectTimeoutMs?: number;
  /** Longest wait for a statement's answer before its caller gets an error (default 10 s). */
  queryTimeoutMs?: number;
}

/** Statements sent to the database by this process: for the /metrics endpoint and benchmarks. */
export interface QueryCounter {
  queries: number;
}

/**
 * Plain parameterised SQL on the same connection(s) Prisma uses, without Prisma's per-query
 * planning: for the statements every conversation step runs (see SqlSessionStore). `text` must be
 * a constant: on PostgreSQL each distinct text becomes a prepared statement on every connection.
 */
export interface SqlExecutor {
  query<Row>(text: string, values: unknown[]): Promise<Row[]>;
}

/**
 * Plain SQL with transactions: what a flow's writes need (a booking's lock, count and insert on
 * one connection), without Prisma's interactive transaction and its per-statement cost.
 */
export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` on one connection between `begin` and `commit`; rolls back and rethrows if it
   * throws. `begin` and `commit` are round trips and count as statements.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/** A json/jsonb column as read by plain SQL: both drivers parse it; text is accepted in case one does not. */
export const jsonColumn = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);

export interface DriverHandle {
  readonly target: DatabaseTarget;
  readonly factory: SqlMigrationAwareDriverAdapterFactory;
  readonly counter: QueryCounter;
  readonly sql: SqlDatabase;
  /** A cheap round trip, used by /healthz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function countingQueries<T extends SqlQueryable>(queryable: T, counter: QueryCounter): T {
  const queryRaw = queryable.queryRaw.bind(queryable);
  const executeRaw = queryable.executeRaw.bind(queryable);
  return Object.assign(queryable, {
    queryRaw: (query: Parameters<T["queryRaw"]>[0]) => {
      counter.queries++;
      return queryRaw(query);
    },
    executeRaw: (query: Parameters<T["executeRaw"]>[0]) => {
      counter.queries++;
      return executeRaw(query);
    },
  });
}

function counting(factory: SqlMigrationAwareDriverAdapterFactory, counter: QueryCounter) {
  const wrap = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const startTransaction = adapter.startTransaction.bind(adapter);
    return Object.assign(countingQueries(adapter, counter), {
      startTransaction: async (...args: Parameters<SqlDriverAdapter["startTransaction"]>) =>
        countingQueries(await startTransaction(...args), counter),
    });
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wrap(await factory.connect()),
    connectToShadowDb: () => factory.connectToShadowDb(),
  };
}

const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `mc_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

async function namedQuery<Row>(
  on: pg.Pool | pg.PoolClient,
  counter: QueryCounter,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  counter.queries++;
  // Named, so each connection parses and analyses it once rather than on every step.
  return (await on.query({ name: statementName(text), text, values })).rows as Row[];
}

export async function openDriver(target: DatabaseTarget): Promise<DriverHandle> {
  const counter: QueryCounter = { queries: 0 };
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    connectionTimeoutMillis: target.connectTimeoutMs ?? 2_000,
    // A stopped server must not leave requests waiting on sockets for long.
    query_timeout: target.queryTimeoutMs ?? 10_000,
  });
  // An idle client losing its server emits 'error' on the pool; without a listener Node would crash.
  pool.on("error", () => {});
  return {
    target,
    factory: counting(new PrismaPg(pool), counter),
    counter,
    sql: {
      query: (text, values) => namedQuery(pool, counter, text, values),
      transaction: async (work) => {
        const client = await pool.connect();
        // A connection whose rollback failed is in an unknown state: the pool must not reuse it.
        let broken: Error | undefined;
        try {
          counter.queries++;
          await client.query("begin");
          const result = await work({ query: (text, values) => namedQuery(client, counter, text, values) });
          counter.queries++;
          await client.query("commit");
          return result;
        } catch (err) {
          try {
            await client.query("rollback");
          } catch (failed) {
            broken = failed instanceof Error ? failed : new Error(String(failed));
          }
          throw err;
        } finally {
          client.release(broken);
        }
      },
    },
    ping: async () => {
      await pool.query("select 1");
    },
    close: async () => {
      await pool.end();
    },
  };
}
