import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Database, openDatabase } from "../core/db/database.js";
import { makePinfl } from "../core/domain/pinfl.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { type PgCluster, signalCluster, startPgCluster, waitUntil } from "./support/faults.js";
import { requireServer } from "./support/servers.js";
import { freePort } from "./support/spawn.js";
import { startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import type { TelegramDouble } from "./support/telegram-double.js";
import { TelegramUser } from "./support/telegram-user.js";
import { shown, shownName, UssdPhone } from "./ussd-support.js";

/**
 * PostgreSQL stopped under a running server, then started again: every channel apologises fast
 * and in the caller's language, health says so, and service comes back by itself with nothing
 * half-written.
 */
const translator = new Translator();
// A cluster of the test's own, which it stops and freezes: never the server the rest of the suite uses.
const postgresServer = requireServer("postgres-server");

let cluster: PgCluster | undefined;
let db: Database | undefined;
let tg: TelegramApp | undefined;
let double: TelegramDouble | undefined;
let app: FastifyInstance | undefined;
let base = "";
let frozen = false;

beforeAll(async () => {
  // Without the binaries the suites below are stand-in tests; nothing to start.
  if (!postgresServer.available) return;
  cluster = await startPgCluster(await freePort());
  db = await openDatabase({ kind: "postgres", url: cluster.url, poolSize: 5 });
  await seedReferenceData(db.prisma, { demo: true });
  tg = await startTelegramApp(db, {
    env: { DATABASE_URL: cluster.url },
    listen: true,
  });
  ({ app, double, url: base } = tg);
});

afterAll(async () => {
  if (frozen && cluster) await signalCluster(cluster, "SIGCONT");
  await tg?.close();
  await db?.close().catch(() => undefined);
  await cluster?.destroy();
});

/** One gateway request over real HTTP; a hang beyond the gateway's patience fails the test. */
async function ussd(fields: { sessionId: string; phoneNumber: string; text: string }, timeoutMs = 2_000) {
  const res = await fetch(`${base}/ussd`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ serviceCode: "*1146#", networkCode: "63902", ...fields }).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.text() };
}

async function webhook(update: object) {
  const res = await fetch(`${base}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
    body: JSON.stringify(update),
    signal: AbortSignal.timeout(5_000),
  });
  return res.status;
}

const healthz = async () =>
  (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(3_000) }).catch(() => null))?.status ?? 0;

const pinfl = (serial: number) => makePinfl(new Date(Date.UTC(1979, 6, 1)), serial % 2 === 0, serial);

postgresServer.describe("PostgreSQL stopped mid-run", () => {
  it("apologises within 2 s on USSD and Telegram, reports 503, then resumes with sessions and drafts intact", async () => {
    if (!app || !db || !double || !cluster) throw new Error("set-up failed");
    const prisma = db.prisma;
    const child = await prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    const childNames = { uz: child.shortUz, "uz-Cyrl": child.shortUzCyrl, ru: child.shortRu };

    // A Russian-speaking caller half-way through an application: PINFL and household size given.
    const phone = new UssdPhone(app, "+998935551001");
    await phone.dial();
    await phone.send("3");
    await phone.send("1");
    await phone.pick(shownName("ru", childNames));
    await phone.send(pinfl(700_001));
    await phone.send("6");
    expect(phone.screen).toContain(shown("ru", "apply.q.children_under_18.prompt"));
    const citizen = await prisma.citizen.findUniqueOrThrow({ where: { phone: phone.phoneNumber } });
    const draftBefore = await prisma.draft.findFirstOrThrow({ where: { citizenId: citizen.id } });
    expect(JSON.stringify(draftBefore.data)).toContain('"household_size":6');
    const sessionKey = { channel: "ussd", sessionKey: phone.sessionId };
    const sessionBefore = await prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: sessionKey },
    });

    // A Telegram citizen whose app is in English and who chose Russian, at the PINFL prompt.
    const user = new TelegramUser(app, double, WEBHOOK_SECRET, {
      id: 880_001,
      first_name: "Olga",
      language_code: "en",
    });
    await user.send("/start");
    await user.press("Русский");
    await user.shareContact("998935551002");
    await user.press(translator.t("ru", "menu.item.apply"));
    await user.press(childNames.ru);
    expect(user.screen()).toBe(translator.t("ru", "pinfl.prompt"));

    await cluster.stop();

    // USSD: END and the apology in the caller's language, within the gateway's patience.
    const during = await ussd({
      sessionId: phone.sessionId,
      phoneNumber: phone.phoneNumber,
      text: `${phone.text}*2`,
    });
    expect(during).toEqual({ status: 200, body: `END ${shown("ru", "errors.unavailable")}` });
    // A number never seen before: its language cannot be known, so Uzbek.
    const stranger = await ussd({ sessionId: "ATUid_dbdown_new", phoneNumber: "+998935551003", text: "" });
    expect(stranger).toEqual({ status: 200, body: `END ${shown("uz", "errors.unavailable")}` });

    // Telegram: the same apology, in the language the person chose, sent through the Bot API.
    const sentBefore = double.sentTexts(user.chatId).length;
    expect(await webhook(user.textUpdate(pinfl(700_002)))).toBe(200);
    expect(double.sentTexts(user.chatId).slice(sentBefore)).toEqual([translator.t("ru", "errors.unavailable")]);

    expect(await healthz()).toBe(503);

    await cluster.start();
    expect(await waitUntil(async () => (await healthz()) === 200, 15_000, 200)).toBe(true);

    // The interrupted session was not touched: the same input now goes through.
    const sessionAfter = await prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: sessionKey },
    });
    expect(sessionAfter.stepCount).toBe(sessionBefore.stepCount);
    expect(sessionAfter.state).toEqual(sessionBefore.state);
    const retried = await ussd({ sessionId: phone.sessionId, phoneNumber: phone.phoneNumber, text: `${phone.text}*2` });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatch(/^CON /);
    expect(retried.body).toContain(shown("ru", "apply.q.monthly_income.prompt"));

    // The next session offers the draft, with every answer kept.
    await phone.dial();
    await phone.send("1");
    expect(phone.screen).toContain(shown("ru", "apply.resume", { benefit: { names: childNames } }));
    await phone.send("1");
    expect(phone.screen).toContain(shown("ru", "apply.q.monthly_income.prompt"));
    await phone.send("1500000");
    await phone.send("1");
    expect(phone.ended).toBe(true);
    const reference = /A-\d{4}-\d{4}/.exec(phone.screen)?.[0] ?? "";
    const application = await prisma.application.findUniqueOrThrow({ where: { reference } });
    expect(application.answers).toEqual({ household_size: 6, children_under_18: 2, monthly_income: 150_000_000 });
    // A typed PINFL is the caller's claim, kept apart from the register's (issue 12).
    expect((await prisma.citizen.findUniqueOrThrow({ where: { id: citizen.id } })).claimedPinfl).toBe(pinfl(700_001));

    // Telegram: the chat goes on from the PINFL prompt.
    await user.send(pinfl(700_002));
    expect(user.screen()).toBe(translator.t("ru", "apply.q.household_size.prompt"));
  });
});

postgresServer.describe("PostgreSQL that stops answering", () => {
  it("still apologises within 2 s while every query hangs, and serves again once it answers", async () => {
    if (!app || !cluster) throw new Error("set-up failed");
    const phone = new UssdPhone(app, "+998935551011");
    await phone.dial();
    await phone.send("3");
    expect(phone.screen).toContain(shown("ru", "menu.title"));

    // Connections stay open, nothing comes back: a stalled disk or a partition, not a refusal.
    expect(await signalCluster(cluster, "SIGSTOP")).toBeGreaterThan(1);
    frozen = true;
    const during = await ussd({ sessionId: phone.sessionId, phoneNumber: phone.phoneNumber, text: `${phone.text}*2` });
    expect(during).toEqual({ status: 200, body: `END ${shown("ru", "errors.unavailable")}` });
    expect(await healthz()).toBe(503);

    await signalCluster(cluster, "SIGCONT");
    frozen = false;
    expect(await waitUntil(async () => (await healthz()) === 200, 15_000, 200)).toBe(true);
    await phone.dial();
    expect(phone.screen).toContain(shown("ru", "menu.title"));
  });
});
