import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import { freePort } from "./spawn.js";

export interface TestRedis {
  url: string;
  /** A key prefix of its own, so tests sharing one Redis never see each other's queues. */
  prefix(): string;
  close(): Promise<void>;
}

/**
 * Redis for one test file: TEST_REDIS_URL when set (CI starts one on 127.0.0.1:63799), otherwise
 * a throw-away `redis-server` on a free port, without persistence, stopped by close().
 */
export async function startTestRedis(): Promise<TestRedis> {
  const prefix = () => `test-${randomBytes(5).toString("hex")}`;
  const shared = process.env.TEST_REDIS_URL;
  if (shared) return { url: shared, prefix, close: async () => {} };
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  await waitForPort(port, 10_000, () => (child.exitCode !== null ? output : null));
  return {
    url: `redis://127.0.0.1:${port}`,
    prefix,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitForPort(port: number, timeoutMs: number, died: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const crashed = died();
    if (crashed !== null) throw new Error(`redis-server exited:\n${crashed}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
}
