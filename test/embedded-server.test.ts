import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPostmasterPid, socketDir, startEmbeddedServer } from "../core/db/embedded-server.js";
import { onEmbeddedTestServer } from "./support/database.js";
import { freePort, projectRoot, type RunningProcess, spawnEntry, waitForHttp } from "./support/spawn.js";

/**
 * The embedded default: `npm start` on a DATA_DIR runs its own PostgreSQL server there, keeps what
 * it confirmed across a clean restart and across a SIGKILL of the Node process, and leaves no
 * server behind after a clean shutdown.
 */
const TOKEN = "embedded-test-token-0123456789";

/** Live processes whose command line (argv) `matches`. */
function processesWhere(matches: (argv: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (matches(readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0"))) pids.push(Number(entry));
    } catch {
      // Gone between listing and reading.
    }
  }
  return pids;
}

/** Live postgres processes whose command line names this PGDATA (the postmaster and its children by pid). */
const postgresProcessesOf = (pgdata: string) =>
  processesWhere((argv) => argv.some((a) => a.endsWith("/postgres")) && argv.includes(pgdata));

async function count(url: string, sql: string, values: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(`select (${sql})::int as n`, values);
    return rows[0]?.n ?? Number.NaN;
  } finally {
    await client.end();
  }
}

// The embedded default is this file's subject; the system PostgreSQL pass would only run it twice.
describe.skipIf(!onEmbeddedTestServer())("npm start on the embedded default", () => {
  let dataDir: string;
  let port: number;
  let base: string;
  const processes: RunningProcess[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mc-embedded-start-"));
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    for (const proc of processes) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    // Whatever a failed run left: the test's own server only.
    const left = await startEmbeddedServer({ dataDir }).catch(() => undefined);
    await left?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = () => {
    const proc = spawnEntry("app/main.ts", {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      API_TOKENS: `backoffice:${TOKEN}`,
      SEED_DEMO: "mahallas",
    });
    processes.push(proc);
    return proc;
  };
  const importBeneficiary = (externalId: string, phone: string) =>
    fetch(`${base}/api/v1/beneficiaries/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify([{ externalId, phone }]),
    });
  const ussd = (sessionId: string, phoneNumber: string, text: string) =>
    fetch(`${base}/ussd`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ sessionId, serviceCode: "*1146#", phoneNumber, networkCode: "99801", text }),
    });

  it("serves on a fresh DATA_DIR and keeps what it confirmed across a clean restart", {
    timeout: 300_000,
  }, async () => {
    const first = start();
    expect((await waitForHttp(`${base}/healthz`, 150_000, first)).status).toBe(200);
    const step = await ussd("ATUid_embedded_1", "+998901110001", "");
    expect(step.status).toBe(200);
    expect(await step.text()).toMatch(/^CON /);
    expect((await importBeneficiary("EMB-1", "+998901110002")).status).toBe(200);
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
    expect(postgresProcessesOf(join(dataDir, "postgres"))).toEqual([]);

    const second = start();
    expect((await waitForHttp(`${base}/healthz`, 150_000, second)).status).toBe(200);
    const kept = await fetch(`${base}/api/v1/beneficiaries/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify([{ externalId: "EMB-1", phone: "+998901110002" }]),
    });
    // The same row again: recognised, so the first start's import survived.
    expect(await kept.json()).toMatchObject({ citizens: { created: 0, unchanged: 1 } });
    second.child.kill("SIGTERM");
    expect(await second.exited, second.output()).toBe(0);
  });

  it("after a SIGKILL adopts the server left running, keeps the confirmed record, and stops it on SIGTERM", {
    timeout: 300_000,
  }, async () => {
    const pgdata = join(dataDir, "postgres");
    const first = start();
    await waitForHttp(`${base}/healthz`, 150_000, first);
    const imported = await importBeneficiary("EMB-2", "+998901110003");
    expect(imported.status).toBe(200);
    expect(await imported.json()).toMatchObject({ citizens: { created: 1 } });
    first.child.kill("SIGKILL");
    await first.exited;
    // The server it started outlives it (its own session, started by pg_ctl).
    const orphan = await readPostmasterPid(pgdata);
    expect(orphan).toBeDefined();
    expect(postgresProcessesOf(pgdata)).toContain(orphan?.pid);

    const second = start();
    expect((await waitForHttp(`${base}/healthz`, 150_000, second)).status).toBe(200);
    expect((await readPostmasterPid(pgdata))?.pid).toBe(orphan?.pid);
    const again = await importBeneficiary("EMB-2", "+998901110003");
    expect(await again.json()).toMatchObject({ citizens: { created: 0, unchanged: 1 } });
    second.child.kill("SIGTERM");
    expect(await second.exited, second.output()).toBe(0);
    expect(postgresProcessesOf(pgdata)).toEqual([]);
  });
});

describe.skipIf(!onEmbeddedTestServer())("the embedded server's start", () => {
  let dataDir: string;
  let pgdata: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mc-embedded-server-"));
    pgdata = join(dataDir, "postgres");
    // Initialised once, with a committed row the later starts must find.
    const server = await startEmbeddedServer({ dataDir });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query("create table marker (id int primary key)");
    await client.query("insert into marker values (1)");
    await client.end();
    await server.stop();
  });
  afterAll(async () => {
    const left = await startEmbeddedServer({ dataDir }).catch(() => undefined);
    await left?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A postmaster.pid as a server killed with its machine leaves it, naming `pid`. */
  const stalePidFile = async (pid: number) => {
    await writeFile(
      join(pgdata, "postmaster.pid"),
      `${pid}\n${pgdata}\n1796130000\n54399\n\n127.0.0.1\n  1234567     98347\nready   \n`,
    );
  };

  it("is not blocked by a stale postmaster.pid whose process is dead", async () => {
    const gone = spawn(process.execPath, ["-e", ""]);
    await once(gone, "exit");
    await stalePidFile(gone.pid ?? 0);
    const server = await startEmbeddedServer({ dataDir });
    try {
      expect(server.how).toBe("started");
      expect(await count(server.url, "select count(*) from marker")).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it("is not blocked by a stale postmaster.pid naming another live program (a pid reused after a reboot)", async () => {
    await stalePidFile(process.pid);
    const server = await startEmbeddedServer({ dataDir });
    try {
      expect(server.how).toBe("started");
      expect(server.pid).not.toBe(process.pid);
      expect(await count(server.url, "select count(*) from marker")).toBe(1);
    } finally {
      await server.stop();
    }
    expect(postgresProcessesOf(pgdata)).toEqual([]);
  });

  it("finds the server already running rather than starting a second, and keeps the password in a 0600 file", async () => {
    const owner = await startEmbeddedServer({ dataDir });
    try {
      const joined = await startEmbeddedServer({ dataDir });
      expect(owner.how).toBe("started");
      expect(joined.pid).toBe(owner.pid);
      expect(joined.port).toBe(owner.port);
      expect(await count(joined.url, "select count(*) from marker")).toBe(1);
      const mode = statSync(join(dataDir, "postgres.password")).mode & 0o777;
      expect(mode).toBe(0o600);
      expect(await readFile(join(dataDir, "postgres.password"), "utf8")).toMatch(/^[0-9a-f]{48}\n$/);
    } finally {
      await owner.stop();
    }
    expect(postgresProcessesOf(pgdata)).toEqual([]);
  });

  it("is reached through a socket in its data directory, listens on 127.0.0.1 only, durable as PostgreSQL ships it", async () => {
    const server = await startEmbeddedServer({ dataDir });
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const show = async (name: string) => (await client.query<Record<string, string>>(`show ${name}`)).rows[0]?.[name];
      try {
        expect(await show("listen_addresses")).toBe("127.0.0.1");
        expect(await show("fsync")).toBe("on");
        expect(await show("synchronous_commit")).toBe("on");
        expect(await show("full_page_writes")).toBe("on");
        expect(await show("unix_socket_directories")).toBe(pgdata);
        // The product's own connection is the Unix socket's: no TCP peer address.
        const peer = await client.query<{ addr: string | null }>("select inet_client_addr()::text as addr");
        expect(peer.rows[0]?.addr).toBeNull();
      } finally {
        await client.end();
      }
      // TCP on 127.0.0.1 still answers (tools, a server adopted from before sockets were used).
      const tcp = new pg.Client({ connectionString: server.url.replace(/@[^/]+\//, `@127.0.0.1:${server.port}/`) });
      await tcp.connect();
      try {
        const peer = await tcp.query<{ addr: string | null }>("select inet_client_addr()::text as addr");
        expect(peer.rows[0]?.addr).toBe("127.0.0.1/32");
      } finally {
        await tcp.end();
      }
      // A wrong password is refused on the socket too: the server is not open to every local user.
      const intruder = new pg.Client({ connectionString: server.url.replace(/:[0-9a-f]{48}@/, ":wrong@") });
      await expect(intruder.connect()).rejects.toThrow(/password authentication failed/);
    } finally {
      await server.stop();
    }
  });

  it("keeps to TCP when the data directory is too deep for a socket's path or cannot be listed as one", () => {
    expect(socketDir("/srv/mahalla/postgres")).toBe("/srv/mahalla/postgres");
    expect(socketDir(`/srv/${"d".repeat(90)}/postgres`)).toBeUndefined();
    expect(socketDir("/srv/a,b/postgres")).toBeUndefined();
    expect(socketDir("/srv/it's/postgres")).toBeUndefined();
  });
});

/** A process started on `test/support/embedded-start-child.ts`, driven line by line. */
interface Starter {
  proc: ChildProcess;
  /** The next line it prints (its outcome as JSON after "go"). */
  line(): Promise<string>;
  send(line: string): void;
  exited: Promise<unknown>;
}

const starters: ChildProcess[] = [];

async function starter(dataDir: string): Promise<Starter> {
  const proc = spawn(process.execPath, ["--import", "tsx", "test/support/embedded-start-child.ts", dataDir], {
    cwd: projectRoot,
    stdio: ["pipe", "pipe", "inherit"],
  });
  starters.push(proc);
  const exited = once(proc, "exit");
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const started: Starter = {
    proc,
    line: async () => {
      const next = await lines.next();
      if (next.done) throw new Error("the starter exited without printing");
      return next.value;
    },
    send: (line) => proc.stdin?.write(`${line}\n`),
    exited,
  };
  expect(await started.line()).toBe("ready");
  return started;
}

type Outcome = { how: string; pid: number; port: number; url: string } | { error: string };

/** `postgres.init` and its per-process siblings: an initialisation in progress, or its remains. */
const initDirsOf = (dataDir: string) => readdirSync(dataDir).filter((name) => name.startsWith("postgres.init"));

/** Live initdb processes working under `dataDir` (an orphan keeps running after its Node parent's SIGKILL). */
const initdbProcessesOf = (dataDir: string) =>
  processesWhere((argv) => (argv[0]?.endsWith("initdb") ?? false) && argv.some((a) => a.includes(dataDir)));

const TEST_ONLY = {
  initNoSync: true,
  settings: { fsync: false, synchronous_commit: false, full_page_writes: false },
} as const;

describe.skipIf(!onEmbeddedTestServer())("two processes starting on one DATA_DIR", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const proc of starters) if (proc.exitCode === null) proc.kill("SIGKILL");
    for (const dir of dirs) {
      const left = await startEmbeddedServer({ dataDir: dir, ...TEST_ONLY }).catch(() => undefined);
      await left?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("at the same moment on a fresh DATA_DIR: one initialises and starts the server, the other shares it", {
    timeout: 180_000,
  }, async () => {
    // A few rounds, each on a fresh DATA_DIR, so that passing is not luck of the scheduling.
    for (let round = 1; round <= 3; round++) {
      const dataDir = await mkdtemp(join(tmpdir(), `mc-embedded-race-${round}-`));
      dirs.push(dataDir);
      const pair = await Promise.all([starter(dataDir), starter(dataDir)]);
      for (const one of pair) one.send("go");
      const outcomes = (await Promise.all(pair.map((one) => one.line()))).map((l) => JSON.parse(l) as Outcome);
      const servers = outcomes.map((outcome) => {
        if ("error" in outcome) throw new Error(`round ${round}: a start failed: ${outcome.error}`);
        return outcome;
      });
      expect(servers.map((s) => s.how).sort(), `round ${round}`).toEqual(["shared", "started"]);
      const [first, second] = servers as [(typeof servers)[0], (typeof servers)[0]];
      expect(second.pid).toBe(first.pid);
      expect(second.port).toBe(first.port);
      // One cluster, initialised once, nothing half-made left beside it.
      expect(readdirSync(join(dataDir, "postgres")).filter((n) => n === "PG_VERSION")).toEqual(["PG_VERSION"]);
      expect(initDirsOf(dataDir)).toEqual([]);
      expect(postgresProcessesOf(join(dataDir, "postgres"))).toContain(first.pid);
      expect(Number((await readFile(join(dataDir, "postgres.owner"), "utf8")).trim())).toBe(
        pair[servers.findIndex((s) => s.how === "started")]?.proc.pid,
      );
      // The same database: what one writes, the other reads.
      const writer = new pg.Client({ connectionString: first.url });
      await writer.connect();
      await writer.query("create table seen (id int primary key)");
      await writer.query("insert into seen values ($1)", [round]);
      await writer.end();
      expect(await count(second.url, "select count(*) from seen where id = $1", [round])).toBe(1);

      // The sharer's stop leaves the server to its owner; the owner's stops it.
      const sharer = pair[servers.findIndex((s) => s.how === "shared")] as Starter;
      const owner = pair[servers.findIndex((s) => s.how === "started")] as Starter;
      sharer.send("stop");
      expect(await sharer.line()).toBe('{"stopped":true}');
      expect(await count(first.url, "select count(*) from seen")).toBe(1);
      owner.send("stop");
      expect(await owner.line()).toBe('{"stopped":true}');
      await Promise.all(pair.map((one) => one.exited));
      expect(postgresProcessesOf(join(dataDir, "postgres"))).toEqual([]);
    }
  });

  it("stopping the owner while another process starts: the other shares it before the stop or starts its own after, and postgres.owner names whoever runs it", {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mc-embedded-stop-"));
    dirs.push(dataDir);
    const pgdata = join(dataDir, "postgres");
    for (let round = 1; round <= 2; round++) {
      const owner = await startEmbeddedServer({ dataDir, ...TEST_ONLY });
      expect(owner.how).toBe("started");
      const other = await starter(dataDir);
      other.send("go");
      const [outcome] = await Promise.all([other.line().then((l) => JSON.parse(l) as Outcome), owner.stop()]);
      if ("error" in outcome) throw new Error(`round ${round}: the start failed: ${outcome.error}`);
      expect(["shared", "started"], `round ${round}`).toContain(outcome.how);
      const running = postgresProcessesOf(pgdata).length > 0;
      const recorded = existsSync(join(dataDir, "postgres.owner"))
        ? Number((await readFile(join(dataDir, "postgres.owner"), "utf8")).trim())
        : undefined;
      if (outcome.how === "started") {
        // Started after the stop: its own server, and it is the owner on record.
        expect(running).toBe(true);
        expect(recorded).toBe(other.proc.pid);
        expect(await count(outcome.url, "select 1")).toBe(1);
      } else {
        // Shared before the stop: the owner's stop ended it, as any sharer's server ends.
        expect(running).toBe(false);
        expect(recorded).toBeUndefined();
      }
      other.send("stop");
      expect(await other.line()).toBe('{"stopped":true}');
      await other.exited;
      expect(postgresProcessesOf(pgdata)).toEqual([]);
    }
  });

  it("is not blocked for good by the lock of a process SIGKILLed while it held it (during initdb)", {
    // Well under a start-up's wait for a live holder (7 minutes): only the lock's staleness lets this pass.
    timeout: 90_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mc-embedded-killed-"));
    dirs.push(dataDir);
    const doomed = await starter(dataDir);
    doomed.send("go");
    // Its initdb has begun: it holds DATA_DIR's lock.
    while (initdbProcessesOf(dataDir).length === 0) {
      if (existsSync(join(dataDir, "postgres", "PG_VERSION"))) throw new Error("initdb came and went unseen");
      await new Promise((r) => setTimeout(r, 20));
    }
    doomed.proc.kill("SIGKILL");
    await doomed.exited;
    expect(readdirSync(dataDir)).toContain("postgres.lock");
    // Its orphaned initdb runs on (it ignores SIGPIPE); let it finish, so what follows is only the lock's doing.
    while (initdbProcessesOf(dataDir).length > 0) await new Promise((r) => setTimeout(r, 50));

    const server = await startEmbeddedServer({ dataDir, ...TEST_ONLY });
    try {
      expect(server.how).toBe("started");
      expect(await count(server.adminUrl, "select count(*) from pg_database where datname = 'mahalla'")).toBe(1);
      expect(initDirsOf(dataDir)).toEqual([]);
      // Released once the start-up is done.
      expect(readdirSync(dataDir)).not.toContain("postgres.lock");
    } finally {
      await server.stop();
    }
  });
});
