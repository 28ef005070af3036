/**
 * `npm run bench`: seeds each back end, starts the server as a child process, drives it with the
 * load generator (a separate process), measures the bare-Fastify ceiling in the same run, and
 * writes BENCHMARKS.md. Every process it starts is stopped at the end, on error and on Ctrl-C.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { LOCALES } from "../core/domain/vocabulary.js";
import { toGsm7 } from "../core/i18n/gsm.js";
import { Translator } from "../core/i18n/index.js";
import { DEFAULT_TELEGRAM_PER_SECOND } from "../core/notifications/rate-limit.js";
import type { LoadResult, LoadSpec } from "./load.js";
import { type BackendId, type BenchOptions, parseOptions, USAGE, UsageError } from "./options.js";
import { BENCH_USSD_TOKEN, PAYDAY_TELEGRAM_SHARE, SESSION_KINDS, type SessionKind } from "./population.js";
import {
  BENCH_METRICS_TOKEN,
  cleanup,
  cleanupOnExit,
  cpuTicks,
  forkTs,
  freePort,
  onCleanup,
  readMetric,
  resetServerPeak,
  run,
  serverCpuSeconds,
  serverCpuSplit,
  serverMemory,
  start,
  stop,
  treeCpuSeconds,
  waitForHealth,
  waitForPort,
} from "./processes.js";
import { type CpuProfile, summarise } from "./profile.js";
import {
  type BackendReport,
  type BenchReport,
  type CeilingReport,
  type MachineInfo,
  type PaymentDayReport,
  type PointResult,
  type ProfileReport,
  renderReport,
  type ScalingReport,
  type TelegramPoint,
} from "./report.js";
import { cutTimeline } from "./stats.js";
import { BENCH_BOT, BenchBotApi } from "./tg-double.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TELEGRAM_TOKEN = "900000777:bench-token_0123456789";
const TELEGRAM_SECRET = "bench-webhook-secret";
const QUERIES = "mc_db_queries_total";
/** The server's own count of the apologies it answered (every reason), beside what the generator saw. */
const APOLOGIES = "mc_ussd_apologies_total";
const DELIVERIES = "mc_notification_deliveries_total";
const TELEGRAM_SENT = { channel: "telegram", outcome: "sent" };
const REQUEST_TIMEOUT_MS = 10_000;

const LABELS: Record<BackendId, string> = {
  embedded: "embedded PostgreSQL",
  postgres: "PostgreSQL",
  "postgres-redis": "PostgreSQL + Redis",
};

type Offsets = Record<SessionKind, number>;
const zeroOffsets = (): Offsets => Object.fromEntries(SESSION_KINDS.map((k) => [k, 0])) as Offsets;

const began = Date.now();
const say = (message: string) => {
  const s = Math.round((Date.now() - began) / 1000);
  process.stderr.write(
    `[bench ${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}] ${message}\n`,
  );
};

/** A database ready for a server: its environment and how long seeding took. */
interface Prepared {
  env: NodeJS.ProcessEnv;
  seedSeconds: number;
  redis?: boolean;
  /** PostgreSQL data directory, to find the postmaster and account its CPU. */
  pgDir?: string;
  /** The same database over TCP on 127.0.0.1, for the point that compares it with the Unix socket. */
  tcpUrl?: string;
}

interface Context {
  opts: BenchOptions;
  tmp: string;
  api: BenchBotApi;
  serverArgs: string[];
  notes: string[];
}

function machine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: `${cpus[0]?.model.trim() ?? "unknown CPU"}${cpus[0]?.speed ? ` @ ${cpus[0].speed} MHz` : ""}`,
    cores: cpus.length,
    memoryGb: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadStart: os.loadavg(),
    loadEnd: [],
  };
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, binary)));
}

async function postgresInstalled(): Promise<boolean> {
  const versions = await readdir("/usr/lib/postgresql").catch(() => [] as string[]);
  return versions.some((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "initdb")));
}

/** Newest modification time of the TypeScript the server is built from. */
async function newestSource(): Promise<number> {
  let newest = 0;
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(ts|json)$/.test(entry.name)) newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  };
  for (const dir of ["app", "core", "bot", "ussd", "generated"]) await walk(join(ROOT, dir));
  return newest;
}

/** The flags `npm run start:prod` gives node, read from package.json. */
async function productionNodeFlags(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const words = (pkg.scripts["start:prod"] ?? "").split(/\s+/);
  return words.filter((word, i) => i > 0 && word.startsWith("--") && words[0] === "node");
}

/** The server command: the compiled build when it can be (re)built, else TypeScript through tsx. */
async function serverCommand(opts: BenchOptions, notes: string[]): Promise<{ args: string[]; note?: string }> {
  const tsx = ["--import", "tsx", join(ROOT, "app/main.ts")];
  if (opts.server === "tsx") return { args: tsx, note: "TypeScript loaded through tsx" };
  const main = join(ROOT, "dist/app/main.js");
  // As operators run it: with the Node flags of `npm run start:prod` (the Dockerfile's too).
  const args = [...(await productionNodeFlags()), main];
  const built = await stat(main).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built > (await newestSource())) return { args, note: "compiled build, up to date" };
  say("building the server (npm run build)…");
  try {
    await run(process.execPath, [
      join(ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      join(ROOT, "tsconfig.build.json"),
    ]);
    return { args, note: "compiled by `npm run build` at the start of the run" };
  } catch (err) {
    notes.push(`The build failed, so the server ran through tsx: ${(err as Error).message.split("\n")[0]}`);
    return { args: tsx, note: "TypeScript through tsx: the build failed" };
  }
}

async function seed(citizens: number, target: string, paydaySms = 0): Promise<number> {
  const out = await run(process.execPath, [
    "--import",
    "tsx",
    join(ROOT, "bench/seed.ts"),
    String(citizens),
    target,
    String(paydaySms),
  ]);
  const summary = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { seconds?: number };
  return summary.seconds ?? Number.NaN;
}

/** The embedded default as `npm start` runs it: PostgreSQL under DATA_DIR, started by the product. */
async function prepareEmbedded(ctx: Context): Promise<Prepared> {
  const dataDir = join(ctx.tmp, "embedded");
  const seconds = await seed(ctx.opts.citizens, dataDir);
  return { env: { DATA_DIR: dataDir }, seedSeconds: seconds, pgDir: join(dataDir, "postgres") };
}

/** A throw-away cluster with a seeded `bench` database, and a copy of it for the Redis run. */
async function preparePostgres(
  ctx: Context,
  withCopy: boolean,
): Promise<{ url: (db: string) => string; tcpUrl: (db: string) => string; seedSeconds: number; dir: string }> {
  const dir = join(ctx.tmp, "pg");
  const port = await freePort();
  const script = join(ROOT, "scripts/pg-cluster.sh");
  onCleanup(() => run("bash", [script, "stop", dir]).then(() => undefined));
  // With PostgreSQL's shipped durable settings: every figure is judged on durable commits.
  const admin =
    (await run("bash", [script, "start", dir, String(port)], { ...process.env, PG_DURABLE: "1" }))
      .trim()
      .split("\n")
      .at(-1) ?? "";
  const tcpUrl = (db: string) => admin.replace(/\/[^/]*$/, `/${db}`);
  // The server reaches it through its Unix socket (pg-cluster.sh's -k /tmp), as a PostgreSQL on
  // the same machine is reached by default (Debian's clients use /var/run/postgresql); the
  // comparison point measures what TCP on 127.0.0.1 would cost.
  const url = (db: string) => `postgresql://postgres@${encodeURIComponent("/tmp")}:${port}/${db}`;
  const sql = async (statement: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await sql("create database bench");
  const seconds = await seed(ctx.opts.citizens, url("bench"), paydaySplit(ctx.opts).sms);
  if (withCopy) await sql("create database bench_redis template bench");
  return { url, tcpUrl, seedSeconds: seconds, dir };
}

function serverEnv(port: number, extra: NodeJS.ProcessEnv, api: BenchBotApi): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    RATE_LIMIT_STEPS_PER_MINUTE: "0",
    SEED_DEMO: "false",
    SIMULATOR_ENABLED: "false",
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_API_ROOT: api.url,
    API_TOKENS: "bench:bench-api-token-0123456789",
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
    USSD_CALLBACK_TOKEN: BENCH_USSD_TOKEN,
    // Payment day drains SMS at this provider rate (a throughput Africa's Talking grants on request).
    NOTIFY_SMS_PER_SECOND: String(PAYMENT_DAY_SMS_PER_SECOND),
    ...extra,
  };
}

/** Runs the load generator once and returns what it measured. */
function load(ctx: Context, spec: LoadSpec): Promise<LoadResult> {
  const child = forkTs("load generator", join(ROOT, "bench/load.ts"), process.env);
  const guardMs =
    spec.mode === "calibrate" ? 300_000 : spec.warmupMs + spec.durationMs + spec.requestTimeoutMs + 60_000;
  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      child.proc.kill("SIGKILL");
      reject(new Error(`the load generator did not finish within ${guardMs} ms`));
    }, guardMs);
    child.proc.on("message", (m: { type: string; result?: LoadResult; message?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (m.type === "result" && m.result) resolve(m.result);
      else reject(new Error(`load generator: ${m.message ?? "no result"}`));
    });
    child.proc.once("exit", (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`the load generator exited with ${code} before reporting`));
    });
    if (spec.mode === "telegram" && !spec.bare) {
      ctx.api.onScreen = (event) => {
        if (child.proc.connected) child.proc.send(event);
      };
    }
    child.proc.send({ type: "run", spec });
  }).finally(() => {
    ctx.api.onScreen = undefined;
  });
}

/**
 * Besides the closed-loop points (capacity): the same sessions as people use them, pausing about a
 * second after each answer. Closed-loop, 200 sessions in flight at 50 ms each would take 4,000
 * steps/s (Little's law), so latency at 200 sessions means something only with a pause.
 */
const PACED_POINT = { concurrency: 200, thinkMs: 1_000 };
const PAYMENT_DAY_SMS_PER_SECOND = 250;
/** Steps a person may take per minute on the two-instance point, to show the limit is shared. */
const SHARED_STEP_LIMIT = 30;

let updateIdBase = 100_000_000;
let runCounter = 0;

function spec(
  ctx: Context,
  base: string,
  mode: LoadSpec["mode"],
  concurrency: number,
  offsets: Offsets,
  overrides: Partial<LoadSpec> = {},
): LoadSpec {
  updateIdBase += 10_000_000;
  return {
    mode,
    target: base,
    concurrency,
    warmupMs: ctx.opts.warmup * 1000,
    durationMs: (mode === "telegram" ? ctx.opts.telegramDuration : ctx.opts.duration) * 1000,
    citizens: ctx.opts.citizens,
    offsets,
    sessionPrefix: `ATUid_bench${++runCounter}_${Date.now().toString(36)}`,
    bare: false,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    telegram: { secret: TELEGRAM_SECRET, botId: BENCH_BOT.id, updateIdBase, replyTimeoutMs: 15_000 },
    calibrateSessions: ctx.opts.calibrateSessions,
    ...overrides,
  };
}

/** Processes whose CPU time a point accounts: the server, and PostgreSQL's postmaster tree. */
interface Accounted {
  serverPid?: number | undefined;
  postmasterPid?: number | undefined;
}

async function postmasterPid(pgDir: string | undefined): Promise<number | undefined> {
  if (!pgDir) return undefined;
  const pid = Number((await readFile(join(pgDir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * CPU seconds per second the server spends with no request at all (the relay's and the update
 * queue's polling, timers, metrics): the least of a few short windows, so that work left over
 * from what came before (a notification still going out, a purge) is not taken for it.
 */
async function idleCpuRate(pid: number | undefined): Promise<number | undefined> {
  let least: number | undefined;
  for (let i = 0; i < IDLE_WINDOWS; i++) {
    const before = await serverCpuSeconds(pid);
    const startedAt = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const after = await serverCpuSeconds(pid);
    if (before === null || after === null) return undefined;
    const rate = (after - before) / ((performance.now() - startedAt) / 1000);
    least = least === undefined ? rate : Math.min(least, rate);
  }
  return least;
}

const IDLE_WINDOWS = 3;
const IDLE_WINDOW_MS = 2_000;

const delta = (before: number | null, after: number | null) =>
  before === null || after === null ? null : after - before;

/** One load run with the server's statement counter and CPU time read around it. */
async function point(ctx: Context, base: string, s: LoadSpec, accounted: Accounted = {}): Promise<PointResult> {
  const cpu = async () => ({
    server: await serverCpuSeconds(accounted.serverPid),
    db: accounted.postmasterPid ? await treeCpuSeconds(accounted.postmasterPid) : null,
  });
  const before = await readMetric(base, QUERIES);
  const apologiesBefore = await readMetric(base, APOLOGIES);
  const cpuBefore = await cpu();
  const startedAt = performance.now();
  const result = await load(ctx, s);
  const cpuAfter = await cpu();
  const after = await readMetric(base, QUERIES);
  const apologiesAfter = await readMetric(base, APOLOGIES);
  return {
    ...result,
    statements: delta(before, after),
    // A counter with no apology yet has no series: on a server that answers /metrics that is 0.
    serverApologies: after === null ? null : delta(apologiesBefore ?? 0, apologiesAfter ?? 0),
    statementSeconds: (performance.now() - startedAt) / 1000,
    serverCpuSeconds: delta(cpuBefore.server, cpuAfter.server),
    dbCpuSeconds: delta(cpuBefore.db, cpuAfter.db),
  };
}

/**
 * A figure to print; "n/a" for one that could not be measured (a NaN from the load generator
 * arrives as null, since IPC carries JSON).
 */
const fixed = (n: number | null, digits: number) => (n !== null && Number.isFinite(n) ? n.toFixed(digits) : "n/a");

const describePoint = (p: PointResult) =>
  `${fixed(p.stepsPerSecond, 0)}/s, p50 ${fixed(p.latency.p50, 1)} ms, p99 ${fixed(p.latency.p99, 1)} ms, ` +
  `max ${fixed(p.latency.max, 0)} ms, errors ${p.errors.network + p.errors.timeout + p.errors.badPrefix + p.errors.noReply + p.errors.apology + Object.values(p.errors.status).reduce((a, b) => a + b, 0)}, unexpected ${p.unexpected}, CPU/step server ${cpuPerStep(p.serverCpuSeconds, p)} ms` +
  `${p.dbCpuSeconds === null ? "" : `, PostgreSQL ${cpuPerStep(p.dbCpuSeconds, p)} ms`}, generator ${fixed(p.generatorCpuMsPerStep, 2)} ms` +
  `, generator loop delay p99 ${fixed(p.generatorLoopDelayMs.p99, 0)} ms, max ${fixed(p.generatorLoopDelayMs.max, 0)} ms` +
  `${p.serverApologies == null ? "" : `, server apologies ${p.serverApologies}`}`;

const cpuPerStep = (seconds: number | null, p: PointResult) =>
  seconds === null || p.totalSteps === 0 ? "n/a" : ((1000 * seconds) / p.totalSteps).toFixed(2);

/**
 * The Telegram load for --telegram-warmup seconds before the measured point (why: BenchOptions'
 * `telegramWarmup`), measured as a point of its own: its CPU per update is the first minute's.
 */
async function warmTelegram(
  ctx: Context,
  base: string,
  offsets: Offsets,
  accounted: Accounted,
): Promise<PointResult | undefined> {
  if (ctx.opts.telegramWarmup <= 0) return undefined;
  const durationMs = ctx.opts.telegramWarmup * 1000;
  return point(
    ctx,
    base,
    spec(ctx, base, "telegram", ctx.opts.telegramConcurrency, offsets, { durationMs }),
    accounted,
  );
}

/** The bare route is steady within seconds: shorter windows keep the run inside its budget. */
const ceilingSpec = (ctx: Context): Partial<LoadSpec> => ({
  bare: true,
  warmupMs: Math.min(ctx.opts.warmup, 2) * 1000,
  durationMs: Math.min(ctx.opts.duration, 6) * 1000,
});

async function measureCeiling(ctx: Context): Promise<CeilingReport> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = start(
    "bare server",
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench/bare-server.ts"), String(port), TELEGRAM_SECRET],
    { PATH: process.env.PATH, NODE_ENV: "production" },
    join(ctx.tmp, "bare-server.log"),
    ROOT,
  );
  try {
    await waitForHealth(`${base}/healthz`, server, 60_000);
    const ussd: PointResult[] = [];
    for (const c of ctx.opts.concurrency) {
      const p = await point(ctx, base, spec(ctx, base, "ussd", c, zeroOffsets(), ceilingSpec(ctx)), {
        serverPid: server.proc.pid,
      });
      say(`ceiling USSD ${c}: ${describePoint(p)}`);
      ussd.push(p);
    }
    const telegram = await point(
      ctx,
      base,
      spec(ctx, base, "telegram", ctx.opts.telegramConcurrency, zeroOffsets(), ceilingSpec(ctx)),
      { serverPid: server.proc.pid },
    );
    say(`ceiling Telegram ${ctx.opts.telegramConcurrency}: ${describePoint(telegram)}`);
    return { ussd, telegram };
  } catch (err) {
    return { ussd: [], failed: (err as Error).message };
  } finally {
    await stop(server);
  }
}

/** The telling part of a failed start-up's log: its error lines, else its last lines. */
function startupError(log: string): string {
  const lines = log.split("\n").filter((l) => l.trim());
  const errors = lines.filter((l) => /error|failed|cannot|invalid/i.test(l));
  return (errors.length ? errors.slice(0, 3) : lines.slice(-3)).join(" ⏎ ").replace(/`/g, "'").slice(0, 500);
}

/** Error lines (level ≥ 50) in the server's JSON log: how many, and the first few messages. */
async function serverErrors(logFile: string): Promise<{ count: number; samples: string[] }> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  let count = 0;
  const samples: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) {
      if (/error|fail/i.test(line)) {
        count++;
        const text = line.slice(0, 200);
        if (samples.length < 3 && !samples.includes(text)) samples.push(text);
      }
      continue;
    }
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((entry.level ?? 0) >= 50) {
        count++;
        const text = `${entry.msg ?? ""}${entry.err?.message ? `: ${entry.err.message}` : ""}`;
        if (samples.length < 3 && !samples.includes(text)) samples.push(text);
      }
    } catch {
      // A partial line at the end of the log.
    }
  }
  return { count, samples };
}

async function startServer(ctx: Context, id: string, prepared: Prepared, extraArgs: string[] = []) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = join(ctx.tmp, `${id}-server.log`);
  const startedAt = performance.now();
  const server = start(
    `${id} server`,
    process.execPath,
    [...extraArgs, ...ctx.serverArgs],
    serverEnv(port, prepared.env, ctx.api),
    logFile,
    ROOT,
  );
  try {
    await waitForHealth(`${base}/healthz`, server, 180_000);
  } catch (err) {
    await stop(server, 5_000);
    throw err;
  }
  return { server, base, logFile, startupSeconds: (performance.now() - startedAt) / 1000 };
}

async function withRedis<T>(ctx: Context, prepared: Prepared, body: (p: Prepared) => Promise<T>): Promise<T> {
  if (!prepared.redis) return body(prepared);
  const port = await freePort();
  const redis = start(
    "redis",
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { PATH: process.env.PATH },
    join(ctx.tmp, "redis.log"),
    ctx.tmp,
  );
  try {
    await waitForPort(port, 15_000);
    return await body({ ...prepared, env: { ...prepared.env, REDIS_URL: `redis://127.0.0.1:${port}` } });
  } finally {
    await stop(redis);
  }
}

async function measureBackend(
  ctx: Context,
  id: BackendId,
  prepared: Prepared,
  offsets: Offsets,
): Promise<{ report: BackendReport; offsets: Offsets }> {
  const report: BackendReport = {
    id,
    label: LABELS[id],
    seedSeconds: prepared.seedSeconds,
    ussd: [],
    serverErrorCount: 0,
    serverErrors: [],
  };
  return withRedis(ctx, prepared, async (ready) => {
    // First, on the database as freshly seeded as the back end's own points find it (after the
    // payment day it holds 50,000 more payments and notices, and autovacuum is at work).
    if (ctx.opts.scaling && ready.tcpUrl) {
      report.overTcp = await overTcp(ctx, ready, ready.tcpUrl, offsets).catch((err: unknown) => {
        say(`the point over TCP failed: ${(err as Error).message}`);
        return { failed: (err as Error).message };
      });
      if (!("failed" in report.overTcp)) offsets = report.overTcp.taken;
    }
    say(`${id}: starting the server…`);
    let started: Awaited<ReturnType<typeof startServer>>;
    try {
      started = await startServer(ctx, id, ready);
    } catch (err) {
      report.failed = `the server did not start: ${(err as Error).message}`;
      const log = await readFile(join(ctx.tmp, `${id}-server.log`), "utf8").catch(() => "");
      if (log) ctx.notes.push(`${LABELS[id]} start-up log: \`${startupError(log)}\``);
      say(`${id}: ${report.failed}`);
      return { report, offsets };
    }
    const { server, base, logFile, startupSeconds } = started;
    report.startupSeconds = startupSeconds;
    const pid = server.proc.pid;
    const accounted: Accounted = { serverPid: pid, postmasterPid: await postmasterPid(ready.pgDir) };
    try {
      const atStart = await serverMemory(pid);
      say(`${id}: up in ${startupSeconds.toFixed(1)} s; calibrating statements per step…`);
      const calibration = await load(ctx, spec(ctx, base, "calibrate", 1, offsets));
      offsets = calibration.taken;
      report.calibration = calibration.calibration;
      const reset = await resetServerPeak(pid);
      for (const c of ctx.opts.concurrency) {
        const p = await point(ctx, base, spec(ctx, base, "ussd", c, offsets), accounted);
        offsets = p.taken;
        say(`${id} USSD ${c}: ${describePoint(p)}`);
        report.ussd.push(p);
      }
      const { concurrency, thinkMs } = PACED_POINT;
      const paced = await point(ctx, base, spec(ctx, base, "ussd", concurrency, offsets, { thinkMs }), accounted);
      offsets = paced.taken;
      say(`${id} USSD ${concurrency} pausing ${thinkMs} ms: ${describePoint(paced)}`);
      report.ussd.push(paced);
      const warming = await warmTelegram(ctx, base, offsets, accounted);
      if (warming) {
        offsets = warming.taken;
        report.telegramWarmup = warming;
        say(`${id} Telegram ${ctx.opts.telegramConcurrency}, warming up: ${describePoint(warming)}`);
      }
      // Measured just before the Telegram point, whose per-update CPU it is taken out of.
      report.idleServerCpuPerSecond = await idleCpuRate(pid);
      const calls = new Map(ctx.api.calls);
      const removalsBefore = ctx.api.keyboardRemovals;
      const notificationsBefore = await readMetric(base, DELIVERIES, TELEGRAM_SENT);
      const tg = await point(ctx, base, spec(ctx, base, "telegram", ctx.opts.telegramConcurrency, offsets), accounted);
      const notificationsAfter = await readMetric(base, DELIVERIES, TELEGRAM_SENT);
      offsets = tg.taken;
      const botApiCalls: Record<string, number> = {};
      for (const [method, n] of ctx.api.calls) {
        const delta = n - (calls.get(method) ?? 0);
        if (delta > 0) botApiCalls[method] = delta;
      }
      const callTotal = Object.values(botApiCalls).reduce((s, n) => s + n, 0);
      const telegram: TelegramPoint = {
        ...tg,
        botApiCalls,
        botApiCallsPerSecond: callTotal / tg.statementSeconds,
        keyboardRemovals: ctx.api.keyboardRemovals - removalsBefore,
        // The relay's messages to the chats (an application's receipt): Bot API calls, not screens.
        notificationsSent: delta(notificationsBefore ?? 0, notificationsAfter),
      };
      report.telegram = telegram;
      say(
        `${id} Telegram ${ctx.opts.telegramConcurrency}: ${describePoint(tg)}, Bot API ${telegram.botApiCallsPerSecond.toFixed(1)} calls/s (` +
          Object.entries(botApiCalls)
            .map(([method, n]) => `${method} ${n}`)
            .join(", ") +
          ")",
      );
      if (ctx.opts.paymentDay > 0 && id === PAYMENT_DAY_BACKEND) {
        report.paymentDay = await paymentDay(ctx, base, ready, offsets, accounted).catch((err: unknown) => {
          say(`payment day failed: ${(err as Error).message}`);
          return { failed: (err as Error).message };
        });
        if (!("failed" in report.paymentDay)) offsets = report.paymentDay.ussd.taken;
      }
      const atEnd = await serverMemory(pid);
      report.memory = {
        processes: atStart?.processes ?? 1,
        afterStart: atStart?.rss ?? Number.NaN,
        startPeak: atStart?.peak ?? Number.NaN,
        loadPeak: reset ? (atEnd?.peak ?? null) : null,
        end: atEnd?.rss ?? Number.NaN,
      };
    } catch (err) {
      report.failed = (err as Error).message;
      say(`${id}: failed: ${report.failed}`);
    } finally {
      const code = await stop(server, 20_000);
      if (code !== 0 && code !== null)
        ctx.notes.push(`The ${LABELS[id]} server exited with code ${code} when stopped.`);
      const errors = await serverErrors(logFile);
      report.serverErrorCount = errors.count;
      report.serverErrors = errors.samples;
      if (errors.count > 0) {
        ctx.notes.push(
          `The ${LABELS[id]} server logged ${errors.count} error line(s), e.g. ${errors.samples.map((s) => `"${s}"`).join("; ")}.`,
        );
      }
    }
    if (ctx.opts.scaling && id === SCALING_BACKEND && !report.failed) {
      const scaled = await scaling(ctx, ready, offsets).catch((err: unknown) => {
        say(`scaling failed: ${(err as Error).message}`);
        return { failed: (err as Error).message };
      });
      if ("failed" in scaled) report.scaling = scaled;
      else {
        const { offsets: after, ...figures } = scaled;
        report.scaling = figures;
        offsets = after;
      }
    }
    return { report, offsets };
  });
}

/** Payment day runs on PostgreSQL with the in-process relay; the scaling points need Redis. */
const PAYMENT_DAY_BACKEND: BackendId = "postgres";
const SCALING_BACKEND: BackendId = "postgres-redis";

/**
 * The scaling table's other rows, on the same database and Redis as the back end's own points
 * (every core): one worker, then two instances of one worker each behind a round-robin of
 * connections, with a per-person step limit that must hold across both.
 */
async function scaling(ctx: Context, ready: Prepared, offsets: Offsets): Promise<ScalingReport & { offsets: Offsets }> {
  const { concurrency } = SCALING_POINT;
  const one = await startServer(ctx, "one-worker", { ...ready, env: { ...ready.env, WEB_CONCURRENCY: "1" } });
  let oneWorker: PointResult;
  try {
    const pg = await postmasterPid(ready.pgDir);
    oneWorker = await point(ctx, one.base, spec(ctx, one.base, "ussd", concurrency, offsets), {
      serverPid: one.server.proc.pid,
      postmasterPid: pg,
    });
    offsets = oneWorker.taken;
    say(`one worker USSD ${concurrency}: ${describePoint(oneWorker)}`);
  } finally {
    await stop(one.server, 20_000);
  }
  const limited = {
    ...ready,
    env: { ...ready.env, WEB_CONCURRENCY: "1", RATE_LIMIT_STEPS_PER_MINUTE: String(SHARED_STEP_LIMIT) },
  };
  const a = await startServer(ctx, "instance-a", limited);
  try {
    const b = await startServer(ctx, "instance-b", limited);
    try {
      const pg = await postmasterPid(ready.pgDir);
      const cpu = async () => ({
        server: ((await serverCpuSeconds(a.server.proc.pid)) ?? 0) + ((await serverCpuSeconds(b.server.proc.pid)) ?? 0),
        db: pg ? await treeCpuSeconds(pg) : null,
      });
      const before = await cpu();
      const statementsBefore = await sumMetric([a.base, b.base], QUERIES);
      const startedAt = performance.now();
      const result = await load(ctx, spec(ctx, a.base, "ussd", concurrency, offsets, { targets: [a.base, b.base] }));
      const after = await cpu();
      const statementsAfter = await sumMetric([a.base, b.base], QUERIES);
      const twoInstances: PointResult = {
        ...result,
        statements: delta(statementsBefore, statementsAfter),
        statementSeconds: (performance.now() - startedAt) / 1000,
        serverCpuSeconds: after.server - before.server,
        dbCpuSeconds: delta(before.db, after.db),
      };
      offsets = twoInstances.taken;
      say(`two instances USSD ${concurrency}: ${describePoint(twoInstances)}`);
      const limit = await sharedLimitProbe([a.base, b.base]);
      say(`shared step limit ${SHARED_STEP_LIMIT}/min across two instances: ${limit.allowed} of ${limit.sent} allowed`);
      return { concurrency, oneWorker, twoInstances, limit: { ...limit, limit: SHARED_STEP_LIMIT }, offsets };
    } finally {
      await stop(b.server, 20_000);
    }
  } finally {
    await stop(a.server, 20_000);
  }
}

const SCALING_POINT = { concurrency: 200 };

/** The back end's 200-session point once more, its server reaching PostgreSQL over TCP on 127.0.0.1. */
async function overTcp(ctx: Context, ready: Prepared, tcpUrl: string, offsets: Offsets): Promise<PointResult> {
  const { concurrency } = SCALING_POINT;
  const tcp = await startServer(ctx, "over-tcp", { ...ready, env: { ...ready.env, DATABASE_URL: tcpUrl } });
  try {
    const result = await point(ctx, tcp.base, spec(ctx, tcp.base, "ussd", concurrency, offsets), {
      serverPid: tcp.server.proc.pid,
      postmasterPid: await postmasterPid(ready.pgDir),
    });
    say(`over TCP USSD ${concurrency}: ${describePoint(result)}`);
    return result;
  } finally {
    await stop(tcp.server, 20_000);
  }
}

/** Payment day's payments: a share for citizens on Telegram, the rest for SMS-only citizens. */
function paydaySplit(opts: BenchOptions): { telegram: number; sms: number } {
  const telegram = Math.min(opts.citizens, Math.round(opts.paymentDay * PAYDAY_TELEGRAM_SHARE));
  return { telegram, sms: opts.paymentDay - telegram };
}

/** The bot's own pace for notifications (core/notifications/rate-limit.ts DEFAULT_TELEGRAM_PER_SECOND). */
const TELEGRAM_PER_SECOND = DEFAULT_TELEGRAM_PER_SECOND;

interface DrainRow {
  channel: string;
  total: string;
  done: string;
  first_sent: Date | null;
  last_sent: Date | null;
}

/**
 * Payment day: the agency imports the month's payments (one CSV, as its system sends them) while
 * 200 people keep using USSD at a person's pace; every payment queues one notice, which the relay
 * drains at the providers' limits. Measured: the import, each channel's drain, and the paced
 * sessions' latency over the whole drain.
 */
async function paymentDay(
  ctx: Context,
  base: string,
  ready: Prepared,
  offsets: Offsets,
  accounted: Accounted,
): Promise<PaymentDayReport> {
  const url = ready.env.DATABASE_URL;
  if (!url) throw new Error("payment day needs the PostgreSQL back end");
  const split = paydaySplit(ctx.opts);
  const runId = `payday-${Date.now().toString(36)}`;
  const rows: string[] = ["externalId,citizenExternalId,benefitCode,amountTiyin,period,creditedAt"];
  for (let i = 0; i < split.telegram; i++)
    rows.push(`${runId}-t${i},bench-citizen-${i},CHILD_ALLOWANCE,${30_000_000 + i},2025-06,2025-06-05`);
  for (let i = 0; i < split.sms; i++)
    rows.push(`${runId}-s${i},payday-citizen-${i},AGE_PENSION,${90_000_000 + i},2025-06,2025-06-05`);
  const csv = `${rows.join("\n")}\n`;
  // Long enough for the slower channel to drain, with a margin; the drain is timed from the database.
  const expectedSeconds = Math.max(split.telegram / TELEGRAM_PER_SECOND, split.sms / PAYMENT_DAY_SMS_PER_SECOND);
  const durationMs = Math.min(900, Math.ceil(expectedSeconds * 1.15 + 30)) * 1000;
  const { concurrency, thinkMs } = PACED_POINT;
  say(`payment day: ${split.telegram} Telegram + ${split.sms} SMS payments; paced USSD for ${durationMs / 1000} s…`);
  const paced = point(
    ctx,
    base,
    spec(ctx, base, "ussd", concurrency, offsets, { thinkMs, durationMs, warmupMs: 5_000, timeline: true }),
    accounted,
  );
  // The import starts once the paced sessions are under way, so they see it.
  await new Promise((r) => setTimeout(r, 5_000));
  const importStarted = Date.now();
  const res = await fetch(`${base}/api/v1/payments/import`, {
    method: "POST",
    headers: { authorization: "Bearer bench-api-token-0123456789", "content-type": "text/csv" },
    body: csv,
  });
  const importEnded = Date.now();
  const importSeconds = (importEnded - importStarted) / 1000;
  const imported = (await res.json().catch(() => ({}))) as { created?: number; notifications?: number };
  if (!res.ok) throw new Error(`the payment import answered ${res.status}`);
  say(
    `payment day: imported ${imported.created} payments (${imported.notifications} notices) in ${importSeconds.toFixed(1)} s`,
  );
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const drain = async () =>
    (
      await client.query<DrainRow>(
        `select channel, count(*) as total,
           count(*) filter (where status in ('sent', 'logged', 'delivered')) as done,
           min("sentAt") as first_sent, max("sentAt") as last_sent
         from "Outbox" where "dedupeKey" like $1 group by channel`,
        [`payment:${runId}-%`],
      )
    ).rows;
  let rowsNow: DrainRow[] = [];
  try {
    const deadline = importStarted + durationMs + 120_000;
    for (;;) {
      rowsNow = await drain();
      const pending = rowsNow.reduce((n, r) => n + Number(r.total) - Number(r.done), 0);
      if (pending === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } finally {
    await client.end();
  }
  const ussd = await paced;
  say(`payment day paced USSD: ${describePoint(ussd)}`);
  const channels = rowsNow.map((r) => {
    const last = r.last_sent ? new Date(r.last_sent).getTime() : Number.NaN;
    const first = r.first_sent ? new Date(r.first_sent).getTime() : Number.NaN;
    const total = Number(r.total);
    return {
      channel: r.channel,
      total,
      sent: Number(r.done),
      drainSeconds: (last - importStarted) / 1000,
      perSecond: total > 1 ? (Number(r.done) - 1) / ((last - first) / 1000) : Number.NaN,
      limitPerSecond: r.channel === "sms" ? PAYMENT_DAY_SMS_PER_SECOND : TELEGRAM_PER_SECOND,
    };
  });
  for (const c of channels) {
    say(
      `payment day ${c.channel}: ${c.sent}/${c.total} sent, drained ${c.drainSeconds.toFixed(0)} s after the import began, ${c.perSecond.toFixed(1)}/s`,
    );
  }
  // Where the p99 is lost: while the import writes, while the relay drains, or once all is quiet.
  const drained = Math.max(importEnded, ...rowsNow.map((r) => (r.last_sent ? new Date(r.last_sent).getTime() : 0)));
  const { timeline, ...steps } = ussd;
  const phases = timeline
    ? cutTimeline(timeline, [
        { name: "the import", from: importStarted, to: importEnded },
        { name: "the drain", from: importEnded, to: drained },
        // The measured window opened as the import began (both 5 s after the sessions started).
        { name: "after the drain", from: drained, to: importStarted + durationMs },
      ])
    : [];
  if (ctx.opts.keep && timeline) {
    const file = join(ctx.tmp, "payment-day-timeline.json");
    await writeFile(file, JSON.stringify({ importStarted, importEnded, drained, ...timeline }));
    say(`payment day: the paced steps' timeline is kept at ${file}`);
  }
  for (const p of phases) {
    say(
      `payment day paced USSD, ${p.name}: ${p.latency.count} steps, p50 ${p.latency.p50.toFixed(1)} ms, p99 ${p.latency.p99.toFixed(1)} ms, max ${p.latency.max.toFixed(0)} ms`,
    );
  }
  return {
    payments: split.telegram + split.sms,
    created: imported.created ?? 0,
    importSeconds,
    channels,
    ussd: steps,
    phases,
  };
}

async function sumMetric(bases: string[], name: string): Promise<number | null> {
  let total: number | null = null;
  for (const base of bases) {
    const v = await readMetric(base, name);
    if (v !== null) total = (total ?? 0) + v;
  }
  return total;
}

/**
 * One phone dials again and again, alternating between the two instances: with the limit shared
 * through Redis, exactly `limit` of the dials in one minute are served and the rest are told to wait.
 */
async function sharedLimitProbe(bases: string[]): Promise<{ sent: number; allowed: number; refused: number }> {
  const translator = new Translator();
  const refusals = LOCALES.map((l) => toGsm7(translator.t(l, "errors.rate_limited")).slice(0, 20));
  const sent = SHARED_STEP_LIMIT + 10;
  let refused = 0;
  for (let i = 0; i < sent; i++) {
    const base = bases[i % bases.length] as string;
    const res = await fetch(`${base}/ussd?token=${BENCH_USSD_TOKEN}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        sessionId: `ATUid_limit_${Date.now().toString(36)}_${i}`,
        serviceCode: "*1146#",
        phoneNumber: "+998901999999",
        networkCode: "99801",
        text: "",
      }).toString(),
    });
    const answer = toGsm7(await res.text());
    if (refusals.some((r) => answer.includes(r))) refused++;
  }
  return { sent, allowed: sent - refused, refused };
}

async function profileRun(ctx: Context, id: BackendId, prepared: Prepared, offsets: Offsets): Promise<ProfileReport> {
  const dir = join(ctx.tmp, "profile");
  await mkdir(dir, { recursive: true });
  return withRedis(ctx, prepared, async (ready) => {
    // One worker, so the one profile holds every step (workers inherit --cpu-prof and would split them).
    const single = { ...ready, env: { ...ready.env, WEB_CONCURRENCY: "1" } };
    const { server, base } = await startServer(ctx, `${id}-profile`, single, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    let stepsPerSecond = Number.NaN;
    let systemPercent = Number.NaN;
    let window: { from: number; to: number } | undefined;
    let telegram: { updatesPerSecond: number; window: { from: number; to: number } | undefined } | undefined;
    try {
      const accounted = { serverPid: server.proc.pid, postmasterPid: await postmasterPid(ready.pgDir) };
      const durationMs = ctx.opts.profileSeconds * 1000;
      const cpuBefore = await serverCpuSplit(server.proc.pid);
      const p = await point(
        ctx,
        base,
        spec(ctx, base, "ussd", ctx.opts.profileConcurrency, offsets, { durationMs, thinkMs: ctx.opts.profileThinkMs }),
        accounted,
      );
      stepsPerSecond = p.stepsPerSecond;
      window = p.windowMicros;
      const cpuAfter = await serverCpuSplit(server.proc.pid);
      if (cpuBefore && cpuAfter && cpuAfter.total > cpuBefore.total) {
        systemPercent = (100 * (cpuAfter.system - cpuBefore.system)) / (cpuAfter.total - cpuBefore.total);
      }
      const paced = ctx.opts.profileThinkMs > 0 ? ` pausing ${ctx.opts.profileThinkMs} ms` : "";
      say(`profile ${id} USSD ${ctx.opts.profileConcurrency}${paced}: ${describePoint(p)}`);
      // Then the Telegram point in the same process, apart in time: its own window, its own summary,
      // after the same warm-up as the back end's own point.
      const warming = await warmTelegram(ctx, base, p.taken, accounted);
      const tg = await point(
        ctx,
        base,
        spec(ctx, base, "telegram", ctx.opts.telegramConcurrency, warming?.taken ?? p.taken, { durationMs }),
        accounted,
      );
      telegram = { updatesPerSecond: tg.stepsPerSecond, window: tg.windowMicros };
      say(`profile ${id} Telegram ${ctx.opts.telegramConcurrency}: ${describePoint(tg)}`);
    } finally {
      await stop(server, 30_000);
    }
    // One profile per thread (tsx runs its loader in a worker): the server is the busiest one.
    let file = "";
    let profile: CpuProfile | undefined;
    let busiest = -1;
    for (const name of (await readdir(dir)).filter((n) => n.endsWith(".cpuprofile"))) {
      const candidate = JSON.parse(await readFile(join(dir, name), "utf8")) as CpuProfile;
      const busy = candidate.nodes
        .filter((n) => n.callFrame.functionName !== "(idle)")
        .reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
      if (busy > busiest) {
        busiest = busy;
        profile = candidate;
        file = join(dir, name);
      }
    }
    if (!profile) throw new Error("the server wrote no CPU profile");
    return {
      backend: id,
      concurrency: ctx.opts.profileConcurrency,
      thinkMs: ctx.opts.profileThinkMs,
      systemPercent,
      stepsPerSecond,
      summary: summarise(profile, ROOT, window),
      ...(telegram
        ? {
            telegram: {
              chats: ctx.opts.telegramConcurrency,
              updatesPerSecond: telegram.updatesPerSecond,
              summary: summarise(profile, ROOT, telegram.window),
            },
          }
        : {}),
      file,
    };
  }).catch((err: unknown) => ({ failed: (err as Error).message }));
}

async function main() {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  cleanupOnExit(say);
  const info = machine();
  const ticksAtStart = await cpuTicks();
  const tmp = await mkdtemp(join(os.tmpdir(), "mc-bench-"));
  // The PostgreSQL cluster runs as its own OS user, which must reach its directory inside.
  await chmod(tmp, 0o755);
  if (!opts.keep) onCleanup(() => rm(tmp, { recursive: true, force: true }));
  say(`working in ${tmp}`);
  const translator = new Translator();
  const api = await new BenchBotApi(new Set(LOCALES.map((l) => translator.t(l, "bot.received")))).start();
  onCleanup(() => api.close());
  const notes: string[] = [];
  // The build and the seeding are independent: they share the cores instead of taking turns.
  const building = serverCommand(opts, notes);
  const ctx: Context = { opts, tmp, api, serverArgs: [], notes };

  if (opts.quick && !opts.backendsGiven && !(await postgresInstalled())) opts.backends = ["embedded"];
  const skipped = new Map<BackendId, string>();
  const wantsPg = opts.backends.some((b) => b !== "embedded");
  if (wantsPg && !(await postgresInstalled())) {
    for (const b of opts.backends) if (b !== "embedded") skipped.set(b, "PostgreSQL server binaries not found");
  }
  if (opts.backends.includes("postgres-redis") && !onPath("redis-server")) {
    skipped.set("postgres-redis", "redis-server not found on PATH");
  }

  say(`seeding ${opts.citizens} citizens per database…`);
  const prepared = new Map<BackendId, Prepared>();
  const failed = new Map<BackendId, string>();
  await Promise.all([
    opts.backends.includes("embedded")
      ? prepareEmbedded(ctx).then(
          (p) => void prepared.set("embedded", p),
          (err: unknown) => void failed.set("embedded", `seeding failed: ${(err as Error).message}`),
        )
      : undefined,
    opts.backends.some((b) => b !== "embedded" && !skipped.has(b))
      ? preparePostgres(ctx, opts.backends.includes("postgres-redis") && !skipped.has("postgres-redis")).then(
          ({ url, tcpUrl, seedSeconds, dir }) => {
            prepared.set("postgres", {
              env: { DATABASE_URL: url("bench") },
              seedSeconds,
              pgDir: dir,
              tcpUrl: tcpUrl("bench"),
            });
            prepared.set("postgres-redis", {
              env: { DATABASE_URL: url("bench_redis") },
              seedSeconds,
              redis: true,
              pgDir: dir,
            });
          },
          (err: unknown) => {
            for (const b of ["postgres", "postgres-redis"] as const) {
              failed.set(b, `PostgreSQL preparation failed: ${(err as Error).message}`);
            }
          },
        )
      : undefined,
  ]);

  const server = await building;
  ctx.serverArgs = server.args;

  say("measuring the ceiling (bare Fastify)…");
  const ceiling = await measureCeiling(ctx);

  const backends: BackendReport[] = [];
  const offsets = new Map<BackendId, Offsets>();
  for (const id of opts.backends) {
    const ready = prepared.get(id);
    const reason = skipped.get(id) ?? failed.get(id);
    if (!ready || reason) {
      const why = reason ?? "not prepared";
      say(`${id}: ${skipped.has(id) ? "skipped" : "failed"}: ${why}`);
      backends.push({
        id,
        label: LABELS[id],
        ...(skipped.has(id) ? { skipped: why } : { failed: why }),
        ussd: [],
        serverErrorCount: 0,
        serverErrors: [],
      });
      continue;
    }
    const outcome = await measureBackend(ctx, id, ready, zeroOffsets());
    offsets.set(id, outcome.offsets);
    backends.push(outcome.report);
  }

  let profile: ProfileReport | undefined;
  if (opts.profile) {
    const id = (["postgres", "embedded", "postgres-redis"] as const).find((b) => offsets.has(b));
    const ready = id ? prepared.get(id) : undefined;
    if (id && ready) {
      say(`profiling the ${id} server…`);
      profile = await profileRun(ctx, id, ready, offsets.get(id) ?? zeroOffsets());
      if ("failed" in profile) say(`profile failed: ${profile.failed}`);
    }
  }

  info.loadEnd = os.loadavg();
  const ticksAtEnd = await cpuTicks();
  info.stealPercent =
    ticksAtStart && ticksAtEnd && ticksAtEnd.total > ticksAtStart.total
      ? (100 * (ticksAtEnd.steal - ticksAtStart.steal)) / (ticksAtEnd.total - ticksAtStart.total)
      : null;
  const args = process.argv.slice(2);
  const report: BenchReport = {
    command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    seconds: (Date.now() - began) / 1000,
    options: opts,
    machine: info,
    serverCommand: `node ${ctx.serverArgs.map((a) => a.replace(ROOT, "")).join(" ")}`,
    ...(server.note ? { serverNote: server.note } : {}),
    ceiling,
    backends,
    ...(profile ? { profile } : {}),
    notes,
  };
  if (profile && !("failed" in profile) && opts.keep) notes.push(`The CPU profile is kept at ${profile.file}.`);
  const out = resolve(ROOT, opts.out);
  await writeFile(out, renderReport(report));
  say(`wrote ${out}`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup().then(() => process.exit()));
