import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { AggregatorRegistry, type Registry } from "prom-client";
import { RateLimiterClusterMaster } from "rate-limiter-flexible";
import type { DatabaseTarget } from "../core/db/adapters.js";
import type { Logger } from "./logger.js";

/**
 * Every core of the machine: `npm start` is a small primary process that does what must happen
 * once per machine (start the database server when there is one to start, migrate, seed), then
 * forks one server worker per core. The workers only open the database and serve; the kernel
 * hands connections on the shared port to them in turn (node:cluster's round-robin).
 *
 * The primary holds nothing a step needs, so it never falls over with a worker: it only replaces
 * dead workers, answers the workers' IPC (the aggregated /metrics, rate-limiter-flexible's
 * machine-wide limits without Redis) and stops everything on SIGTERM/SIGINT.
 *
 * Work that must not multiply (the notification relay, whose throttle is the provider's limit
 * for the whole machine; Telegram long polling, of which only one getUpdates consumer may exist;
 * the periodic jobs) runs in exactly one more worker, the duties worker (app/duties.ts), which
 * serves no HTTP and runs below the servers' CPU priority, so a payment day's drain never holds a
 * caller's step. A worker rather than the primary because that work needs the database and the
 * bot, which the workers have and the primary must not (a failure there is then a worker crash,
 * replaced like any other). When it dies its replacement takes the duties over.
 */

/** What the primary's once-per-machine preparation leaves running for the workers. */
export interface Prepared {
  /** Where the workers connect (the started embedded server's address, or the configured one). */
  target: DatabaseTarget;
  /** Stops what the preparation started (nothing for an external PostgreSQL). */
  stop(): Promise<void>;
}

/** Server workers to run: WEB_CONCURRENCY, else one per core. */
export function workerCount(configured: number | undefined): number {
  return configured ?? Math.max(1, availableParallelism());
}

const ENV_TARGET = "MC_DATABASE_TARGET";
const ENV_DUTIES = "MC_WORKER_DUTIES";
const ENV_INDEX = "MC_WORKER_INDEX";

/** Messages between the primary and its workers (besides prom-client's and rate-limiter-flexible's own). */
type ToWorker = { mc: "shutdown" } | { mc: "listen" } | { mc: "metrics"; id: number; text?: string; error?: string };
type ToPrimary = { mc: "metrics"; id: number } | { mc: "ready" };

const isMessage = (value: unknown): value is { mc: string } =>
  typeof value === "object" && value !== null && typeof (value as { mc?: unknown }).mc === "string";

/**
 * The duties worker's own connections, apart from the servers' share of DATABASE_POOL_SIZE: its
 * work may queue a little (the relay paces its sends to the providers anyway), while a server
 * worker with one connection fewer makes callers' confirmations queue.
 */
const DUTIES_POOL_SIZE = 4;
/**
 * Nobody waits on the duties' connections, and at nice 5 on a saturated machine a handshake can
 * take longer than a server's 2 s: a restart's first purge gave up on it.
 */
const DUTIES_CONNECT_TIMEOUT_MS = 15_000;

/** Shortest life after which a worker's death counts as a crash, not a crash loop. */
const HEALTHY_AFTER_MS = 10_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const SHUTDOWN_BOUND_MS = 15_000;

export interface PrimaryOptions<P extends Prepared> {
  workers: number;
  logger: Logger;
  /** Once per machine, before any worker: database server, migrations, reference data. */
  prepare: () => Promise<P>;
  /** Called once, when every worker of the first generation listens (the start-up summary). */
  onListening?: (prepared: P) => void;
}

/**
 * The primary: prepare, fork, keep `workers` workers alive, drain them on SIGTERM/SIGINT. A
 * worker that dies is replaced after a backoff that doubles while deaths follow each other
 * quickly (a crash loop must not spin the CPU), and resets once a worker has lived 10 s. A worker
 * that dies before the first generation has ever listened is a start-up failure: nothing could
 * serve, so the primary stops with exit code 1 instead of looping.
 */
export async function runPrimary<P extends Prepared>(options: PrimaryOptions<P>): Promise<void> {
  const { logger } = options;
  // Both answer the workers' IPC; they must exist before the first fork.
  new RateLimiterClusterMaster();
  const aggregator = new AggregatorRegistry();
  const prepared = await options.prepare();

  let shuttingDown = false;
  let everListened = false;
  let quickDeaths = 0;
  let dutiesHolder: Worker | undefined;
  const bornAt = new Map<number, number>();
  const indexOf = new Map<number, number>();
  const pendingRestarts = new Set<NodeJS.Timeout>();

  const fork = (index: number, duties: boolean): Worker => {
    const worker = cluster.fork({
      [ENV_TARGET]: JSON.stringify(
        duties
          ? { ...prepared.target, poolSize: DUTIES_POOL_SIZE, connectTimeoutMs: DUTIES_CONNECT_TIMEOUT_MS }
          : prepared.target,
      ),
      [ENV_DUTIES]: duties ? "1" : "0",
      [ENV_INDEX]: String(index),
    });
    bornAt.set(worker.id, Date.now());
    if (duties) dutiesHolder = worker;
    indexOf.set(worker.id, index);
    return worker;
  };

  // The first generation listens only once every worker is built: until then a worker still
  // loading its modules would take the CPU from one already answering, and its callers would
  // meet the step deadline. Replacements later listen as soon as they are built.
  const ready = new Set<Worker>();
  let released = false;
  const release = (worker: Worker) => worker.isConnected() && worker.send({ mc: "listen" } satisfies ToWorker);
  cluster.on("message", (worker, message: unknown) => {
    if (!isMessage(message) || message.mc !== "ready") return;
    if (released) {
      release(worker);
      return;
    }
    ready.add(worker);
    // The server workers and the duties worker (which starts its duties when released).
    if (ready.size < options.workers + 1) return;
    released = true;
    for (const w of ready) release(w);
    ready.clear();
  });

  // A worker's GET /metrics: the figures of every worker, added up (prom-client's aggregators).
  cluster.on("message", (worker, message: unknown) => {
    if (!isMessage(message) || message.mc !== "metrics") return;
    const { id } = message as Extract<ToPrimary, { mc: "metrics" }>;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ mc: "metrics", id, text } satisfies ToWorker),
      (err: Error) => worker.isConnected() && worker.send({ mc: "metrics", id, error: err.message } satisfies ToWorker),
    );
  });

  const stop = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const timer of pendingRestarts) clearTimeout(timer);
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = alive.map((w) => new Promise((resolve) => (w.isDead() ? resolve(null) : w.once("exit", resolve))));
    const force = setTimeout(() => {
      logger.error(`workers did not stop within ${SHUTDOWN_BOUND_MS / 1000} s: killing them`);
      for (const w of alive) if (!w.isDead()) w.process.kill("SIGKILL");
    }, SHUTDOWN_BOUND_MS);
    for (const w of alive) if (w.isConnected()) w.send({ mc: "shutdown" } satisfies ToWorker);
    await Promise.all(exited);
    clearTimeout(force);
    try {
      await prepared.stop();
    } catch (err) {
      logger.error({ err }, "stopping the database server failed");
      code = 1;
    }
    process.exit(code);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (!shuttingDown) logger.info({ signal }, "shutting down: draining workers");
      void stop(0);
    });
  }

  let listening = 0;
  cluster.on("listening", () => {
    if (everListened) return;
    listening++;
    if (listening === options.workers) {
      everListened = true;
      options.onListening?.(prepared);
    }
  });

  cluster.on("exit", (worker, code, signal) => {
    const index = indexOf.get(worker.id) ?? 0;
    const lived = Date.now() - (bornAt.get(worker.id) ?? Date.now());
    bornAt.delete(worker.id);
    indexOf.delete(worker.id);
    const hadDuties = dutiesHolder === worker;
    if (hadDuties) dutiesHolder = undefined;
    if (shuttingDown) return;
    if (!everListened) {
      logger.error({ worker: index, code, signal }, "a server worker stopped during start-up: stopping");
      void stop(1);
      return;
    }
    quickDeaths = lived < HEALTHY_AFTER_MS ? quickDeaths + 1 : 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (quickDeaths - 1));
    logger.error(
      { worker: index, code, signal, restartInMs: delay },
      hadDuties ? "the duties worker died: replacing it" : "a server worker died: replacing it",
    );
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      // Only the duties holder's replacement takes the duties: never two holders at once.
      if (!shuttingDown) fork(index, hadDuties);
    }, delay);
    pendingRestarts.add(timer);
  });

  for (let i = 0; i < options.workers; i++) fork(i, false);
  fork(options.workers, true);
  logger.info({ workers: options.workers, duties: 1 }, "server workers started");
}

/** What a worker learns from its primary. */
export interface WorkerRole {
  /** The duties worker: the once-per-machine work (relay, long polling, periodic jobs), no HTTP. */
  duties: boolean;
  index: number;
  /** The database the primary prepared (undefined outside a cluster: the configured one). */
  target: DatabaseTarget | undefined;
}

export const isClusterWorker = (): boolean => cluster.isWorker;

/** The role the primary gave this worker (a process outside a cluster has every duty). */
export function workerRole(env: NodeJS.ProcessEnv = process.env): WorkerRole {
  if (!cluster.isWorker) return { duties: true, index: 0, target: undefined };
  return {
    duties: env[ENV_DUTIES] === "1",
    index: Number(env[ENV_INDEX] ?? 0),
    target: parseTarget(env[ENV_TARGET]),
  };
}

function parseTarget(raw: string | undefined): DatabaseTarget | undefined {
  if (raw === undefined) return undefined;
  const value = JSON.parse(raw) as Partial<{ kind: string; url: string; poolSize: number; connectTimeoutMs: number }>;
  if (value.kind === "postgres" && typeof value.url === "string") {
    return {
      kind: "postgres",
      url: value.url,
      ...(typeof value.poolSize === "number" ? { poolSize: value.poolSize } : {}),
      ...(typeof value.connectTimeoutMs === "number" ? { connectTimeoutMs: value.connectTimeoutMs } : {}),
    };
  }
  throw new Error(`${ENV_TARGET} is not a database target`);
}

/**
 * In a cluster worker, resolves when the primary says to listen (every worker of the first
 * generation is built); at once outside a cluster.
 */
export function readyToListen(): Promise<void> {
  if (!cluster.isWorker) return Promise.resolve();
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isMessage(message) || message.mc !== "listen") return;
      process.off("message", onMessage);
      resolve();
    };
    process.on("message", onMessage);
    process.send?.({ mc: "ready" } satisfies ToPrimary);
  });
}

/** Runs `shutdown` when the primary asks this worker to stop. */
export function onPrimaryShutdown(shutdown: () => void): void {
  if (!cluster.isWorker) return;
  process.on("message", (message: unknown) => {
    if (isMessage(message) && message.mc === "shutdown") shutdown();
  });
}

/** /metrics in a cluster: the registries this worker contributes, and the machine's sum. */
export interface ClusterMetrics {
  /** The registries whose figures are added up across workers. */
  share(registries: Registry[]): void;
  /** Every worker's figures of the shared registries, added up (asked of the primary over IPC). */
  collect(): Promise<string>;
}

const METRICS_TIMEOUT_MS = 3_000;

/** In a cluster worker, the machine-wide metrics; undefined outside a cluster. */
export function clusterMetrics(): ClusterMetrics | undefined {
  if (!cluster.isWorker) return undefined;
  // Constructing it installs prom-client's listener that answers the primary's requests.
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on("message", (message: unknown) => {
    if (!isMessage(message) || message.mc !== "metrics") return;
    const answer = message as Extract<ToWorker, { mc: "metrics" }>;
    const pending = waiting.get(answer.id);
    if (!pending) return;
    waiting.delete(answer.id);
    if (answer.text !== undefined) pending.resolve(answer.text);
    else pending.reject(new Error(answer.error ?? "no metrics from the primary"));
  });
  return {
    share: (registries) => AggregatorRegistry.setRegistries(registries),
    collect: () =>
      new Promise<string>((resolve, reject) => {
        const id = ++next;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error("the primary did not answer /metrics in time"));
        }, METRICS_TIMEOUT_MS);
        waiting.set(id, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        process.send?.({ mc: "metrics", id } satisfies ToPrimary);
      }),
  };
}
