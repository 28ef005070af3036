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

/** A json/jsonb column as read by plain SQL: both drivers parse it; text is accepted in case one does not. */
export const jsonColumn = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);

export interface DriverHandle {
  readonly target: DatabaseTarget;
  readonly factory: SqlMigrationAwareDriverAdapterFactory;
  readonly counter: QueryCounter;
  readonly sql: SqlExecutor;
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

export async function openDriver(target: DatabaseTarget): Promise<DriverHandle> {
  const counter: QueryCounter = { queries: 0 };
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    connectionTimeoutMillis: target.connectTimeoutMs ?? 2_000,
    // A stopped server must not leave requests waiting on sockets for long.
    query_timeout: 10_000,
  });
  // An idle client losing its server emits 'error' on the pool; without a listener Node would crash.
  pool.on("error", () => {});
  return {
    target,
    factory: counting(new PrismaPg(pool), counter),
    counter,
    sql: {
      query: async <Row>(text: string, values: unknown[]) => {
        counter.queries++;
        // Named, so each connection parses and analyses it once rather than on every step.
        return (await pool.query({ name: statementName(text), text, values })).rows as Row[];
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
