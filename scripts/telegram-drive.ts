/**
 * A small, bounded driver for the bot's cost per update (issue 14), apart from the benchmark:
 * starts the product (`app/main.ts`) in webhook mode on PostgreSQL against the benchmark's Bot
 * API double, lets `--chats` people onboard (share a contact) and then walk the menu (payments,
 * status, home, a typed /menu) for `--seconds`, and prints updates/s, the server's CPU per update
 * and Bot API calls per update. `--profile DIR` runs the server under `node --cpu-prof`.
 *
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:54370/postgres \
 *     npx tsx scripts/telegram-drive.ts --chats 50 --seconds 20 [--port 3181] [--profile /tmp/prof]
 *
 * The database is dropped and created afresh (`<name>_tgdrive`) on every run.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import pg from "pg";
import { BENCH_BOT, BenchBotApi, type ScreenEvent } from "../bench/tg-double.js";

const { values } = parseArgs({
  options: {
    chats: { type: "string", default: "50" },
    seconds: { type: "string", default: "20" },
    port: { type: "string", default: "3181" },
    profile: { type: "string" },
  },
});
const chats = Number(values.chats);
const seconds = Number(values.seconds);
const port = Number(values.port);
const SECRET = "drive-webhook-secret-0123";
const TOKEN = `${BENCH_BOT.id}:drive-token_0123456789`;

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error("DATABASE_URL (a PostgreSQL server) is required");
const dbUrl = new URL(serverUrl);
const dbName = `${dbUrl.pathname.slice(1) || "postgres"}_tgdrive`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`drop database if exists ${dbName} with (force)`);
await admin.query(`create database ${dbName}`);
await admin.end();
dbUrl.pathname = `/${dbName}`;

const api = await new BenchBotApi().start();
const waiters = new Map<number, (e: ScreenEvent) => void>();
const lastScreen = new Map<number, ScreenEvent>();
api.onScreen = (event) => {
  if (event.kind !== "screen") return;
  lastScreen.set(event.chatId, event);
  const waiter = waiters.get(event.chatId);
  waiters.delete(event.chatId);
  waiter?.(event);
};

const server = spawn(
  process.execPath,
  [...(values.profile ? ["--cpu-prof", `--cpu-prof-dir=${values.profile}`] : []), "--import", "tsx", "app/main.ts"],
  {
    env: {
      ...process.env,
      NODE_ENV: "production",
      USSD_CALLBACK_TOKEN: "x".repeat(32),
      LOG_LEVEL: "warn",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: dbUrl.toString(),
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: api.url,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      RATE_LIMIT_STEPS_PER_MINUTE: "0",
      WEB_CONCURRENCY: "1",
    },
    stdio: ["ignore", "inherit", "inherit"],
  },
);
const pid = server.pid as number;

const agent = new Agent({ keepAlive: true, maxSockets: chats });
function post(body: unknown): Promise<number> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/telegram/webhook",
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(data),
          "x-telegram-bot-api-secret-token": SECRET,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

for (let i = 0; ; i++) {
  const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.ok,
    () => false,
  );
  if (up) break;
  if (i > 600) throw new Error("server did not start");
  await new Promise((r) => setTimeout(r, 100));
}

const cpuMs = () => {
  // utime + stime of the server process, in clock ticks (100 a second on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

let updateId = 1_000_000;
let messageId = 1;
const userOf = (id: number) => ({ id, is_bot: false, first_name: "Drive", language_code: "uz" });
const chatOf = (id: number) => ({ id, type: "private", first_name: "Drive" });
const text = (id: number, value: string) => ({
  update_id: ++updateId,
  message: {
    message_id: ++messageId,
    date: Math.floor(Date.now() / 1000),
    chat: chatOf(id),
    from: userOf(id),
    text: value,
    ...(value.startsWith("/") ? { entities: [{ type: "bot_command", offset: 0, length: value.length }] } : {}),
  },
});
const contact = (id: number, phone: string) => ({
  update_id: ++updateId,
  message: {
    message_id: ++messageId,
    date: Math.floor(Date.now() / 1000),
    chat: chatOf(id),
    from: userOf(id),
    contact: { phone_number: phone, first_name: "Drive", user_id: id },
  },
});
const press = (id: number, data: string, onMessage: number) => ({
  update_id: ++updateId,
  callback_query: {
    id: `cq${updateId}`,
    from: userOf(id),
    chat_instance: `ci${id}`,
    data,
    message: { message_id: onMessage, date: Math.floor(Date.now() / 1000), chat: chatOf(id), text: "" },
  },
});

/** Posts the update and waits for the next screen in that chat (15 s at most). */
async function step(id: number, update: unknown): Promise<ScreenEvent | undefined> {
  const screen = new Promise<ScreenEvent | undefined>((resolve) => {
    const timer = setTimeout(() => {
      waiters.delete(id);
      resolve(undefined);
    }, 15_000);
    waiters.set(id, (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  const status = await post(update);
  if (status !== 200) throw new Error(`webhook answered ${status}`);
  return screen;
}

let measuring = false;
let steps = 0;
let missing = 0;
const latencies: number[] = [];
async function person(n: number, stopAt: number) {
  const id = 700_000_000 + n;
  await step(id, text(id, "/start"));
  await step(id, contact(id, `99890${String(1_000_000 + n).padStart(7, "0")}`));
  const timed = async (update: unknown) => {
    const began = performance.now();
    const screen = await step(id, update);
    if (measuring) {
      steps++;
      latencies.push(performance.now() - began);
      if (!screen) missing++;
    }
    return screen;
  };
  while (Date.now() < stopAt) {
    // menu (8 options): press payments (index 2), then Home; status (index 1), then Home; /menu typed.
    for (const index of [2, 1]) {
      const menu = lastScreen.get(id);
      const option = menu?.rows.flat().find((d) => d.startsWith("o:") && d.endsWith(`:${index}`));
      if (!menu || !option) {
        await timed(text(id, "/menu"));
        continue;
      }
      const shown = await timed(press(id, option, menu.messageId));
      const home = shown?.rows.flat().find((d) => d.endsWith(":home"));
      if (shown && home) await timed(press(id, home, shown.messageId));
    }
    await timed(text(id, "/menu"));
  }
}

const warmupMs = 5_000;
const began = Date.now();
const stopAt = began + warmupMs + seconds * 1000;
const people = Array.from({ length: chats }, (_, n) => person(n, stopAt));
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const callsBefore = api.totalCalls();
const cpuBefore = cpuMs();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpuAfter = cpuMs();
const elapsed = (performance.now() - t0) / 1000;
const measured = steps;
const calls = api.totalCalls() - callsBefore;
measuring = false;
await Promise.all(people);
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
console.log(
  JSON.stringify({
    chats,
    seconds: Number(elapsed.toFixed(1)),
    updatesPerSecond: Number((measured / elapsed).toFixed(1)),
    serverCpuMsPerUpdate: Number(((cpuAfter - cpuBefore) / measured).toFixed(2)),
    botApiCallsPerUpdate: Number((calls / measured).toFixed(2)),
    p50ms: Number(pct(0.5).toFixed(1)),
    p99ms: Number(pct(0.99).toFixed(1)),
    missing,
    calls: Object.fromEntries(api.calls),
  }),
);
server.kill("SIGTERM");
await new Promise((r) => server.once("exit", r));
await api.close();
agent.destroy();
