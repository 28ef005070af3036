import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storableJson } from "../bot/update-ledger.js";
import { chatOfUpdate } from "../bot/update-queue.js";
import type { SqlDatabase, SqlExecutor } from "../core/db/adapters.js";
import type { Database, PrismaClient } from "../core/db/database.js";
import { registeredStatements } from "../core/db/sql/index.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { waitUntil } from "./support/faults.js";
import { freePort, type RunningProcess, spawnEntry, waitForHttp } from "./support/spawn.js";
import { BOT_TOKEN, startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import { type RecordedCall, TelegramDouble } from "./support/telegram-double.js";
import { TelegramUser } from "./support/telegram-user.js";

/**
 * The durable webhook (issue 14): Telegram is answered once an update is recorded, the update is
 * handled afterwards, and nothing recorded is lost or handled twice when a process dies; a screen
 * costs one Bot API call (the button's answer rides in the webhook's HTTP answer).
 */
const translator = new Translator();
let db: TestDatabase;
let tg: TelegramApp;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: false });
  tg = await startTelegramApp(db, { leaseSeconds: 1 });
});
afterAll(async () => {
  await tg?.close();
  await db?.close();
});

let userCounter = 8_800_000;
const newUser = (app: TelegramApp = tg) => {
  const id = ++userCounter;
  return new TelegramUser(app.app, app.double, WEBHOOK_SECRET, { id, first_name: `Durable${id}`, language_code: "uz" });
};
let phoneCounter = 4_100_000;

async function onboarded(): Promise<TelegramUser> {
  const user = newUser();
  await user.send("/start");
  await user.shareContact(`99893${String(phoneCounter++).padStart(7, "0")}`);
  expect(user.screen()).toBe(translator.t("uz", "menu.title"));
  return user;
}

/** The Bot API calls the bot itself made for what `act` did (a webhook answer's call is not one). */
async function callsFor(act: () => Promise<unknown>): Promise<{ own: RecordedCall[]; carried: RecordedCall[] }> {
  const before = tg.double.calls.length;
  await act();
  const made = tg.double.calls.slice(before);
  return { own: made.filter((c) => !c.viaWebhookReply), carried: made.filter((c) => c.viaWebhookReply) };
}

const row = (updateId: unknown) =>
  db.prisma.telegramUpdate.findUniqueOrThrow({ where: { updateId: BigInt(Number(updateId)) } });

describe("one Bot API call per screen", () => {
  it("a menu press and a status screen are one edit each; the button's answer rides in the webhook answer", async () => {
    const user = await onboarded();
    const help = await callsFor(() => user.press(translator.t("uz", "menu.item.help")));
    expect(help.own.map((c) => c.method)).toEqual(["editMessageText"]);
    expect(help.carried.map((c) => c.method)).toEqual(["answerCallbackQuery"]);
    expect(user.screen()).toContain(translator.t("uz", "help.title"));

    const home = await callsFor(() => user.press(`🏠 ${translator.t("uz", "nav.home")}`));
    expect(home.own.map((c) => c.method)).toEqual(["editMessageText"]);
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));

    const status = await callsFor(() => user.press(translator.t("uz", "menu.item.status")));
    expect(status.own.map((c) => c.method)).toEqual(["editMessageText"]);
    expect(status.carried.map((c) => c.method)).toEqual(["answerCallbackQuery"]);
    expect(user.screen()).toBe(translator.t("uz", "status.none"));
  });

  it("typed text is one new message and no other call (the replaced screen keeps its buttons)", async () => {
    const user = await onboarded();
    const typed = await callsFor(() => user.send("/menu"));
    expect(typed.own.map((c) => c.method)).toEqual(["sendMessage"]);
    expect(typed.carried).toEqual([]);
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));
  });
});

describe("statements per citizen update", () => {
  it("a known citizen's press and typed text are recorded, claimed and saved, the mark after: no Prisma, no lookups", async () => {
    // A bot on the same database whose plain SQL and Prisma calls are both watched.
    const names = new Map(registeredStatements().map((s) => [s.text, s.name]));
    const seen: string[] = [];
    const watching = (on: SqlExecutor): SqlExecutor => ({
      query: <Row>(text: string, values: unknown[]) => {
        seen.push(names.get(text) ?? text);
        return on.query<Row>(text, values);
      },
    });
    const sql: SqlDatabase = {
      ...watching(db.sql),
      transaction: (work) => db.sql.transaction((tx) => work(watching(tx))),
    };
    const prisma = db.prisma.$extends({
      query: {
        $allOperations({ model, operation, args, query }) {
          seen.push(`prisma ${model ?? ""}.${operation}`);
          return query(args);
        },
      },
    }) as unknown as PrismaClient;
    const watched = await startTelegramApp({ ...db, sql, prisma }, { double: tg.double });
    try {
      const user = newUser(watched);
      await user.send("/start");
      await user.shareContact(`99893${String(phoneCounter++).padStart(7, "0")}`);
      expect(user.screen()).toBe(translator.t("uz", "menu.title"));
      await watched.telegram.updates.idle();
      const costOf = async (act: () => Promise<unknown>) => {
        const from = seen.length;
        await act();
        // Handled and marked so (the mark waits briefly for another update's record to ride with).
        await watched.telegram.updates.idle();
        // The lease timers' statements (renewals, the sweep for dead processes' updates) are no update's.
        return seen
          .slice(from)
          .filter((name) => name !== "TelegramUpdate.renew" && name !== "TelegramUpdate.claimStale");
      };
      const perStep = ["TelegramUpdate.record", "ConversationSession.claim", "ConversationSession.save"];
      const typed = await costOf(() => user.send("/menu"));
      expect(typed).toEqual([...perStep, "TelegramUpdate.finish"]);
      expect(user.screen()).toBe(translator.t("uz", "menu.title"));
      const text = await costOf(() => user.send("salom"));
      expect(text).toEqual([...perStep, "TelegramUpdate.finish"]);
      await user.press(translator.t("uz", "menu.item.language"));
      expect(user.buttons()).toContain("Русский");
      const pressed = await costOf(() => user.press(`🏠 ${translator.t("uz", "nav.home")}`));
      expect(pressed).toEqual([...perStep, "TelegramUpdate.finish"]);
      expect(user.screen()).toBe(translator.t("uz", "menu.title"));
    } finally {
      await watched.close();
    }
  });
});

describe("the update ledger", () => {
  it("stores an update with a lone surrogate or U+0000 (jsonb refuses them) and handles the original", async () => {
    const user = await onboarded();
    const update = user.textUpdate("/help \ud800 \u0000 \\ud800");
    expect((await user.post(update)).statusCode).toBe(200);
    expect(user.screen()).toContain(translator.t("uz", "help.title"));
    // Recorded (not handled on the side as when the database fails): its row exists.
    expect((await row(update.update_id)).chatId).toBe(BigInt(user.chatId));
    expect(storableJson({ t: "a\ud800b\u0000" })).toBe('{"t":"a\\ufffdb\\ufffd"}');
    expect(JSON.parse(storableJson({ t: "\\ud800 😀" })).t).toBe("\\ud800 😀");
  });

  it("orders an update by its chat only when the chat has an integer id", () => {
    expect(chatOfUpdate({ update_id: 1, message: { chat: { id: 42 } } } as never)).toBe(42);
    expect(
      chatOfUpdate({ update_id: 1, callback_query: { from: { id: 7 }, message: { chat: { id: 9 } } } } as never),
    ).toBe(9);
    expect(
      chatOfUpdate({ update_id: 1, poll_answer: { user: { id: 1.5 }, from: { id: 1.5 } } } as never),
    ).toBeUndefined();
  });

  it("keeps only the id of a handled update: its payload is blanked", async () => {
    const user = await onboarded();
    const update = user.textUpdate("/help");
    expect((await user.post(update)).statusCode).toBe(200);
    expect(user.screen()).toContain(translator.t("uz", "help.title"));
    // The mark follows the handling (with the next update recorded, or on its own soon after).
    expect(await waitUntil(async () => (await row(update.update_id)).payload === null, 10_000, 20)).toBe(true);
    const recorded = await row(update.update_id);
    expect(recorded.payload).toBeNull();
    expect(recorded.handledAt).not.toBeNull();
    expect(recorded.chatId).toBe(BigInt(user.chatId));
  });

  it("an update a dead process recorded and never handled is handled once, by one of two instances", async () => {
    const user = await onboarded();
    const other = await startTelegramApp(db, { double: tg.double, leaseSeconds: 1 });
    try {
      const update = user.textUpdate("/help");
      const sentBefore = tg.double.sentTexts(user.chatId).length;
      // As a process that died right after answering Telegram leaves it: recorded, lease run out.
      await db.prisma.telegramUpdate.create({
        data: {
          updateId: BigInt(Number(update.update_id)),
          chatId: BigInt(user.chatId),
          payload: update as object,
          leaseUntil: new Date(Date.now() - 60_000),
        },
      });
      expect(await waitUntil(async () => (await row(update.update_id)).handledAt !== null, 15_000, 50)).toBe(true);
      await Promise.all([tg.telegram.updates.idle(), other.telegram.updates.idle()]);
      expect(tg.double.sentTexts(user.chatId).slice(sentBefore)).toHaveLength(1);
      expect(user.screen()).toContain(translator.t("uz", "help.title"));
      expect((await row(update.update_id)).payload).toBeNull();
      // Telegram redelivering it now changes nothing.
      expect((await user.post(update)).statusCode).toBe(200);
      expect(tg.double.sentTexts(user.chatId).slice(sentBefore)).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it("an update handled but left unmarked when its process died is not applied again by the one taking it over", async () => {
    const user = await onboarded();
    await tg.telegram.updates.idle();
    const session = () =>
      db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
      });
    // As the process that handled it leaves it when it dies before the mark: unhandled, lease run out.
    const handledButUnmarked = async (update: Record<string, unknown>) => {
      await db.prisma.telegramUpdate.update({
        where: { updateId: BigInt(Number(update.update_id)) },
        data: { payload: update as object, handledAt: null, leaseUntil: new Date(Date.now() - 60_000) },
      });
    };
    const takenOverAgain = async (update: Record<string, unknown>) => {
      expect(await waitUntil(async () => (await row(update.update_id)).handledAt !== null, 15_000, 50)).toBe(true);
      await tg.telegram.updates.idle();
    };

    const { message, button } = user.findButton(translator.t("uz", "menu.item.help"));
    const press = user.callbackUpdate(button.callback_data ?? "", message.messageId);
    expect((await user.post(press)).statusCode).toBe(200);
    await tg.telegram.updates.idle();
    expect(user.screen()).toContain(translator.t("uz", "help.title"));
    const pressed = await session();
    const callsBefore = tg.double.calls.length;
    await handledButUnmarked(press);
    await takenOverAgain(press);
    // Applied once: no second step, and no "that button is old" with a new message; the screen it
    // led to is shown in place again, in case the first handling never got to show it.
    expect((await session()).stepCount).toBe(pressed.stepCount);
    const again = tg.double.calls.slice(callsBefore).filter((c) => Number(c.payload.chat_id) === user.chatId);
    expect(again.map((c) => c.method)).toEqual(["editMessageText"]);
    expect(user.screen()).toContain(translator.t("uz", "help.title"));

    const typed = user.textUpdate("/menu");
    expect((await user.post(typed)).statusCode).toBe(200);
    await tg.telegram.updates.idle();
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));
    const menu = await session();
    await handledButUnmarked(typed);
    await takenOverAgain(typed);
    expect((await session()).stepCount).toBe(menu.stepCount);
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));
  });

  it("handles each chat's updates in the order they were recorded, even while the first one waits", async () => {
    const user = await onboarded();
    const held = tg.double.hold((method, p) => method === "sendMessage" && Number(p.chat_id) === user.chatId);
    try {
      const first = user.post(user.textUpdate("/start 2"));
      await held.reached;
      const second = user.textUpdate("/start 7");
      const answered = await user.app.inject({
        method: "POST",
        url: "/telegram/webhook",
        headers: { "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
        payload: second,
      });
      // Answered once recorded, while the chat's first update is still being handled.
      expect(answered.statusCode).toBe(200);
      expect((await row(second.update_id)).payload).not.toBeNull();
      held.release();
      await first;
      await tg.telegram.updates.settled(Number(second.update_id));
      const screens = tg.double.sentTexts(user.chatId).slice(-2);
      expect(screens[0]).toBe(translator.t("uz", "status.none"));
      expect(screens[1]).toContain(translator.t("uz", "help.title"));
    } finally {
      held.release();
    }
  });
});

describe("a process killed after answering the webhook", () => {
  let dataDir: string;
  let processDb: TestDatabase | undefined;
  const processes: RunningProcess[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mc-tg-kill-"));
    processDb = await createTestDatabase();
  });
  afterAll(async () => {
    for (const proc of processes) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill("SIGKILL");
        await proc.exited;
      }
    }
    await processDb?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The database the servers used. */
  async function withDatabase<T>(use: (database: Database) => Promise<T>): Promise<T> {
    if (!processDb) throw new Error("no test database");
    return use(processDb);
  }

  it("handles the update exactly once after the next start: one message, one ledger row", async () => {
    const double = await new TelegramDouble().start();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const start = () => {
      const proc = spawnEntry("app/main.ts", {
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        SEED_DEMO: "false",
        RATE_LIMIT_STEPS_PER_MINUTE: "0",
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_API_ROOT: double.url,
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        ...(processDb?.target.kind === "postgres" ? { DATABASE_URL: processDb.target.url } : { DATA_DIR: dataDir }),
      });
      processes.push(proc);
      return proc;
    };
    const post = async (update: object) =>
      (
        await fetch(`${base}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
          body: JSON.stringify(update),
        })
      ).status;
    const user = new TelegramUser(tg.app, double, WEBHOOK_SECRET, {
      id: 8_900_001,
      first_name: "Killed",
      language_code: "ru",
    });
    const update = user.textUpdate("/start");
    try {
      // The bot cannot know who it is yet (getMe held): the update is recorded, answered, not handled.
      const held = double.hold((method) => method === "getMe");
      const first = start();
      await waitForHttp(`${base}/healthz`, 120_000, first);
      expect(await post(update)).toBe(200);
      await held.reached;
      expect(double.sentTexts(user.chatId)).toEqual([]);
      first.child.kill("SIGKILL");
      await first.exited;
      held.release();

      const second = start();
      await waitForHttp(`${base}/healthz`, 120_000, second);
      // Telegram redelivering it to the new process records nothing new.
      expect(await post(update)).toBe(200);
      expect(await waitUntil(async () => double.sentTexts(user.chatId).length > 0, 40_000, 100)).toBe(true);
      second.child.kill("SIGTERM");
      await second.exited;
      expect(double.sentTexts(user.chatId)).toEqual([translator.t("ru", "onboarding.share_contact")]);
      await withDatabase(async (database) => {
        const rows = await database.prisma.telegramUpdate.findMany({
          where: { updateId: BigInt(update.update_id as number) },
        });
        expect(rows).toHaveLength(1);
        expect(rows[0]?.handledAt).not.toBeNull();
        expect(rows[0]?.payload).toBeNull();
      });
    } finally {
      await double.close();
    }
  }, 360_000);
});
