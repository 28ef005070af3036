import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "./spawn.js";

const run = promisify(execFile);

export interface PgCluster {
  url: string;
  /** The data directory (postmaster.pid lives there). */
  dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

/**
 * A throw-away PostgreSQL cluster of the test's own (scripts/pg-cluster.sh), so it can be stopped
 * and started again without touching the server the rest of the suite uses. The directory sits
 * directly under /tmp: the script hands it to the `postgres` user when run as root.
 */
export async function startPgCluster(port: number): Promise<PgCluster> {
  const dir = `/tmp/mc-faults-pg-${randomBytes(5).toString("hex")}`;
  const script = join(projectRoot, "scripts", "pg-cluster.sh");
  const start = async () => {
    const { stdout } = await run(script, ["start", dir, String(port)], { timeout: 60_000 });
    return stdout.trim();
  };
  const stop = async () => {
    await run(script, ["stop", dir], { timeout: 30_000 });
  };
  const url = await start();
  return {
    url,
    dir,
    start: async () => {
      await start();
    },
    stop,
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Collects unhandled promise rejections while installed (vitest would otherwise report them late). */
export function collectUnhandledRejections(): { reasons: unknown[]; dispose(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => {
    reasons.push(reason);
  };
  process.on("unhandledRejection", listener);
  return { reasons, dispose: () => process.off("unhandledRejection", listener) };
}

/** Waits until `check` holds, polling every `everyMs`; false when it did not within `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

export interface RedisServer {
  url: string;
  /** (Re)starts the server on the same port. */
  start(): Promise<void>;
  /** Kills the server (SIGKILL: Redis gone, as when its host fails) and waits for it to exit. */
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  freeze(): void;
}

/**
 * A `redis-server` of the test's own on a fixed port, without persistence, so it can be stopped and
 * started again (the shared TEST_REDIS_URL server must not be stopped).
 */
export function redisServer(port: number): RedisServer {
  let child: ChildProcess | undefined;
  let output = "";
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      output = "";
      const started = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child = started;
      const collect = (d: Buffer) => {
        output += d.toString();
      };
      started.stdout?.on("data", collect);
      started.stderr?.on("data", collect);
      const up = await waitUntil(async () => started.exitCode !== null || (await portOpen(port)), 10_000, 50);
      if (!up || started.exitCode !== null) throw new Error(`redis-server did not listen on ${port}:\n${output}`);
    },
    freeze() {
      child?.kill("SIGSTOP");
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = once(running, "exit");
      running.kill("SIGKILL");
      await exited;
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Freezes (SIGSTOP) or thaws (SIGCONT) a cluster's server processes, found by the postmaster's pid
 * file and its children: the database stops answering without closing a single connection, as a
 * stalled disk or a network partition would make it.
 */
export async function signalCluster(cluster: PgCluster, signal: "SIGSTOP" | "SIGCONT"): Promise<number> {
  const pid = Number((await readFile(join(cluster.dir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const { stdout } = await run("ps", ["-o", "pid=", "--ppid", String(pid)]).catch(() => ({ stdout: "" }));
  const pids = [pid, ...stdout.split(/\s+/).filter(Boolean).map(Number)];
  for (const p of pids) process.kill(p, signal);
  return pids.length;
}
