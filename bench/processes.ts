/**
 * Child processes of a benchmark run: started here, remembered, and stopped by their own pid when
 * the run ends, fails or is interrupted. Nothing else is ever signalled.
 */
import { type ChildProcess, execFile, fork, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

const running = new Set<Child>();
const cleanups: (() => Promise<void> | void)[] = [];

function track(name: string, proc: ChildProcess): Child {
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const child = { name, proc, exited };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

/** Starts a long-lived process (server, redis); its output goes to `logFile`. */
export function start(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  cwd?: string,
): Child {
  const log = createWriteStream(logFile, { flags: "a" });
  const proc = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  return track(name, proc);
}

/** Forks a TypeScript module with an IPC channel (the load generator). */
export function forkTs(name: string, module: string, env: NodeJS.ProcessEnv): Child {
  const proc = fork(module, [], { execArgv: ["--import", "tsx"], env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return track(name, proc);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
export async function stop(child: Child, graceMs = 10_000): Promise<number | null> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return child.proc.exitCode;
  child.proc.kill("SIGTERM");
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), graceMs);
  const code = await child.exited;
  clearTimeout(timer);
  return code;
}

/** Runs a command to completion and returns its stdout; rejects with its stderr on failure. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = execFile(command, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(" ")} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    track(`${command} ${args[0] ?? ""}`, proc);
  });
}

/** Registers work to undo at the end (stop a PostgreSQL cluster, remove a directory). */
export function onCleanup(fn: () => Promise<void> | void) {
  cleanups.push(fn);
}

let cleaning: Promise<void> | undefined;

/** Stops every process started here and runs the registered clean-ups, once. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...running].map((c) => stop(c, 5_000).catch(() => undefined)));
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  })();
  return cleaning;
}

/**
 * Cleans up on Ctrl-C, SIGTERM and crashes, then exits. The handlers stay installed: tsx relays a
 * second copy of the signal, and without a listener its preflight would exit before clean-up ends.
 */
export function cleanupOnExit(say: (message: string) => void = () => undefined) {
  let exiting = false;
  const bail = (code: number, why: string) => {
    if (exiting) return;
    exiting = true;
    say(`${why}: stopping ${running.size} process(es) and cleaning up…`);
    void cleanup().finally(() => process.exit(code));
  };
  process.on("SIGINT", () => bail(130, "interrupted"));
  process.on("SIGTERM", () => bail(143, "terminated"));
  process.on("uncaughtException", (err) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    bail(1, "crashed");
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Polls GET `url` until it answers 200; fails early when `child` exits. */
export async function waitForHealth(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited with ${child.proc.exitCode}`);
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(150);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

/** VmHWM (peak) and VmRSS of a process, in bytes (null where /proc is not available). */
export async function memoryOf(pid: number | undefined): Promise<{ peak: number; rss: number } | null> {
  if (!pid) return null;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => null);
  if (!status) return null;
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { peak: kb("VmHWM"), rss: kb("VmRSS") };
}

/** Resets VmHWM to the current RSS (Linux: write 5 to clear_refs), so a later peak is the load's own. */
export async function resetPeak(pid: number | undefined): Promise<boolean> {
  if (!pid) return false;
  return writeFile(`/proc/${pid}/clear_refs`, "5").then(
    () => true,
    () => false,
  );
}

/**
 * The server runs with NODE_ENV=production, where /metrics is served only with METRICS_TOKEN: the
 * benchmark sets this one and reads with it.
 */
export const BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789";

/** Reads one metric of the server's /metrics, summed over its label sets (those with `labels`); null when absent. */
export async function readMetric(
  base: string,
  name: string,
  labels: Record<string, string> = {},
  token = BENCH_METRICS_TOKEN,
): Promise<number | null> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  if (!res?.ok) return null;
  return metricValue(await res.text(), name, labels);
}

/**
 * One metric of a Prometheus text exposition, summed over its label sets (those with every one of
 * `labels`); null when absent.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total: number | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const labelText = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.indexOf("}")) : "";
    if (!wanted.every((pair) => labelText.split(",").includes(pair))) continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

const TICKS_PER_SECOND = 100;

/** utime, stime, cutime, cstime of /proc/<pid>/stat, in seconds (fields 14–17). */
async function times(
  pid: number,
): Promise<{ ppid: number; own: number; ownSystem: number; reaped: number; reapedSystem: number } | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(fields[i - 3] ?? 0) / TICKS_PER_SECOND;
  return { ppid: Number(fields[1]), own: n(14) + n(15), ownSystem: n(15), reaped: n(16) + n(17), reapedSystem: n(17) };
}

/** The machine's CPU time so far and the part of it stolen by the hypervisor (/proc/stat, in ticks). */
export async function cpuTicks(): Promise<{ total: number; steal: number } | null> {
  const stat = await readFile("/proc/stat", "utf8").catch(() => "");
  const fields = (stat.split("\n").find((l) => l.startsWith("cpu ")) ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] as number };
}

/** CPU seconds a process has used so far (user + system). */
export async function cpuSecondsOf(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  return (await times(pid))?.own ?? null;
}

/**
 * CPU seconds of a process tree one level deep (the PostgreSQL postmaster and its backends),
 * counting children that already exited through the parent's reaped-children time.
 */
export async function treeCpuSeconds(parent: number): Promise<number | null> {
  const root = await times(parent);
  if (!root) return null;
  let total = root.own + root.reaped;
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const t = await times(Number(entry));
    if (t && t.ppid === parent) total += t.own;
  }
  return total;
}

/** Node processes of a server: its own pid and the cluster workers it forked (not its postgres). */
export async function nodeTree(root: number | undefined): Promise<number[]> {
  if (!root) return [];
  const pids = [root];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const t = await times(Number(entry));
    if (!t || t.ppid !== root) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, "utf8").catch(() => "")).trim();
    if (comm === "node" || comm.startsWith("node")) pids.push(Number(entry));
  }
  return pids;
}

/**
 * CPU seconds of a server's Node processes: the primary and its live workers, and workers that
 * already exited (reaped into the primary's children time). The embedded database's postgres is
 * the primary's child too but is accounted apart: it is left out here, and must not exit mid-run
 * (its time would then land in the primary's reaped figure).
 */
export async function serverCpuSeconds(root: number | undefined): Promise<number | null> {
  return (await serverCpuSplit(root))?.total ?? null;
}

/** The same, with the part spent in the kernel (system time: syscalls, the loopback network). */
export async function serverCpuSplit(root: number | undefined): Promise<{ total: number; system: number } | null> {
  if (!root) return null;
  const self = await times(root);
  if (!self) return null;
  let total = self.own + self.reaped;
  let system = self.ownSystem + self.reapedSystem;
  for (const pid of (await nodeTree(root)).slice(1)) {
    const t = await times(pid);
    total += t?.own ?? 0;
    system += t?.ownSystem ?? 0;
  }
  return { total, system };
}

/** Peak and current RSS of the busiest Node process of a server (a worker, under node:cluster). */
export async function serverMemory(
  root: number | undefined,
): Promise<{ peak: number; rss: number; processes: number } | null> {
  const pids = await nodeTree(root);
  let best: { peak: number; rss: number } | null = null;
  for (const pid of pids) {
    const m = await memoryOf(pid);
    if (m && (!best || m.peak > best.peak)) best = m;
  }
  return best ? { ...best, processes: pids.length } : null;
}

/** Resets the peak RSS of every Node process of a server. */
export async function resetServerPeak(root: number | undefined): Promise<boolean> {
  const pids = await nodeTree(root);
  const done = await Promise.all(pids.map((pid) => resetPeak(pid)));
  return done.length > 0 && done.every(Boolean);
}
