import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../app/logger.js";
import { notificationEngineFromConfig } from "../app/notifications.js";
import { makePinfl } from "../core/domain/pinfl.js";
import type { NotificationEngine } from "../core/notifications/engine.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { setupWorld, type World } from "./support/fixtures.js";
import { eventually } from "./support/notify.js";
import { startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import type { TelegramDouble } from "./support/telegram-double.js";
import { inlineButtons, TelegramUser } from "./support/telegram-user.js";
import { shown, shownName, translator, UssdPhone } from "./ussd-support.js";

/**
 * Personal data on payment day: what the logs may hold (a test greps them for the exact values),
 * and what each channel and the API show to whom.
 */
const API_TOKEN = "privacy-test-token-0123456789";

/** The people of this test and everything that identifies them. */
const ussdCitizen = { phone: "+998935553001", pinfl: makePinfl(new Date(Date.UTC(1961, 2, 15)), true, 553_001) };
const telegramCitizen = {
  phone: "+998935553002",
  firstName: "Shahnoza",
  lastName: "Yusupova",
  address: "Navoiy koʻchasi 12-uy, 5-xonadon",
};
const beneficiary = {
  phone: "+998935553003",
  pinfl: makePinfl(new Date(Date.UTC(1975, 7, 9)), false, 553_003),
  fullName: "Rustamov Jasur Akmalovich",
};
const worker = { phone: "+998935553004", fullName: "Karimova Nigora Baxtiyorovna" };
const doubleDialler = "+998935553005";

const logLines: string[] = [];
let db: TestDatabase;
let world: World;
let tg: TelegramApp;
let double: TelegramDouble;
let app: FastifyInstance;
let notifications: NotificationEngine;

beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
  // The most talkative level: whatever any part of the product logs is captured.
  const logger = createLogger("trace", {
    write: (line: string) => {
      logLines.push(line);
    },
  });
  tg = await startTelegramApp(db, {
    logger,
    // The test sends every operation without a valid token: the failed-authentication bucket (its
    // own test is in security.test.ts) would turn the later 401s into 429s.
    env: { API_TOKENS: `backoffice:${API_TOKEN}`, API_AUTH_FAILURES_PER_MINUTE: "0" },
  });
  ({ app, double } = tg);
  // No SMS credentials: every SMS text goes to the log instead.
  notifications = notificationEngineFromConfig(tg.config, db, logger, tg.telegram.sender);
  await notifications.start();
});

afterAll(async () => {
  await notifications?.stop();
  await tg?.close();
  await db?.close();
});

const api = (method: "GET" | "POST", url: string, payload?: unknown, token: string | null = API_TOKEN) =>
  app.inject({
    method,
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

const telegramUser = () =>
  new TelegramUser(app, double, WEBHOOK_SECRET, {
    id: 880_100,
    first_name: telegramCitizen.firstName,
    language_code: "ru",
    ...({ last_name: telegramCitizen.lastName } as object),
  });

/** Everything that identifies a person, in the forms a log line might carry it. */
function secrets(): string[] {
  const phones = [ussdCitizen.phone, telegramCitizen.phone, beneficiary.phone, worker.phone, doubleDialler];
  return [
    ...phones.flatMap((p) => [p, p.slice(1), p.slice(4)]),
    ussdCitizen.pinfl,
    beneficiary.pinfl,
    beneficiary.fullName,
    worker.fullName,
    `${telegramCitizen.firstName} ${telegramCitizen.lastName}`,
    telegramCitizen.address,
  ];
}

/** The worker's one-time invite code: a secret, shown once. */
let inviteCode = "";
let ussdReference = "";
let telegramReference = "";

describe("personal data in the logs", () => {
  it("never holds a PINFL, a whole phone number, a full name, an address or an invite code", async () => {
    // USSD: a citizen applies with their PINFL.
    const phone = new UssdPhone(app, ussdCitizen.phone);
    await phone.dial();
    await phone.send("1");
    await phone.send("1");
    const pension = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "AGE_PENSION" } });
    await phone.pick(shownName("uz", { uz: pension.shortUz, "uz-Cyrl": pension.shortUzCyrl, ru: pension.shortRu }));
    await phone.send(ussdCitizen.pinfl);
    await phone.send("10");
    await phone.send("1");
    ussdReference = /A-\d{4}-\d{4}/.exec(phone.screen)?.[0] ?? "";
    expect(ussdReference).not.toBe("");

    // A handset that dials twice at once: both first requests race to register the number.
    const [first, second] = await Promise.all(
      ["ATUid_twice_1", "ATUid_twice_2"].map((sessionId) =>
        app.inject({
          method: "POST",
          url: "/ussd",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          payload: new URLSearchParams({
            sessionId,
            serviceCode: "*1146#",
            phoneNumber: doubleDialler,
            networkCode: "63902",
            text: "",
          }).toString(),
        }),
      ),
    );
    expect([first?.statusCode, second?.statusCode]).toEqual([200, 200]);

    // Telegram: a citizen with a full name shares their number and books a visit to an address.
    const user = telegramUser();
    await user.send("/start");
    await user.shareContact(telegramCitizen.phone.slice(1));
    await db.prisma.citizen.update({ where: { phone: telegramCitizen.phone }, data: { mahallaId: world.mahallaId } });
    await user.press(translator.t("ru", "menu.item.visit"));
    await user.press(inlineButtons(double.last(user.chatId))[0]?.text ?? "");
    await user.press(inlineButtons(double.last(user.chatId))[0]?.text ?? "");
    await user.send(telegramCitizen.address);
    await user.press(translator.t("ru", "visit.confirm"));
    const visit = await db.prisma.visitRequest.findFirstOrThrow({ where: { address: telegramCitizen.address } });
    // The chat shows the booked screen: the relay (running here) may already have sent the visit's
    // notification below it.
    expect(double.shown(user.chatId).map((m) => m.text)).toContain(
      translator.t("ru", "visit.booked", { reference: visit.reference }),
    );

    // The back office imports a beneficiary with a full name and creates a worker.
    const imported = await api("POST", "/api/v1/beneficiaries/import", [
      { externalId: "PRIV-1", phone: beneficiary.phone, pinfl: beneficiary.pinfl, fullName: beneficiary.fullName },
    ]);
    expect(imported.statusCode, imported.body).toBe(200);
    const staff = await api("POST", "/api/v1/staff", {
      fullName: worker.fullName,
      phone: worker.phone,
      role: "social_worker",
      districtCode: "1727259",
    });
    expect(staff.statusCode, staff.body).toBe(201);
    inviteCode = staff.json().invite.code;
    expect(inviteCode.length).toBeGreaterThan(5);

    // Every notification went through the relay; without SMS credentials their texts were logged.
    notifications.wake();
    await eventually(
      async () => (await db.prisma.outbox.count({ where: { status: { in: ["pending", "sending", "failed"] } } })) === 0,
      15_000,
      "outbox drained",
    );

    const log = logLines.join("");
    // The capture works: requests, SMS and the worker's card all left a trace.
    expect(log).toContain('"msg":"incoming request"');
    expect(log).toContain("sms not sent (no AT credentials)");
    expect(log).toContain(ussdReference);
    const leaked = [...secrets(), inviteCode].filter((secret) => log.includes(secret));
    expect(leaked).toEqual([]);
  });
});

describe("what each citizen can see", () => {
  it("shows another citizen's application on no channel, and only their own lists", async () => {
    // The Telegram citizen has an application of their own.
    const telegramOwner = await db.prisma.citizen.findUniqueOrThrow({ where: { phone: telegramCitizen.phone } });
    const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    telegramReference = await tg.core.services.applications.submit({
      citizenId: telegramOwner.id,
      benefitTypeId: benefit.id,
      answers: { household_size: 3 },
      channel: "telegram",
      locale: "ru",
    });

    // USSD: the list holds only the caller's application; the other reference is not found.
    const phone = new UssdPhone(app, ussdCitizen.phone);
    await phone.dial("2");
    expect(phone.screen).toContain(shown("uz", "status.list_title", { count: 1 }));
    await phone.pick(shown("uz", "status.lookup_option"));
    await phone.send(telegramReference);
    expect(phone.screen).toContain(shown("uz", "status.not_found", { reference: telegramReference }));
    expect(phone.screen).not.toContain(shown("uz", "status.application.submitted"));

    // SMS: HOLAT with the other citizen's reference is answered "not found".
    const sms = await app.inject({
      method: "POST",
      url: "/sms/inbound",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        from: ussdCitizen.phone,
        text: `HOLAT ${telegramReference}`,
        id: "priv-sms-1",
      }).toString(),
    });
    expect(sms.statusCode).toBe(200);
    const reply = await db.prisma.outbox.findFirstOrThrow({ where: { dedupeKey: "sms-inbound:priv-sms-1" } });
    expect(reply).toMatchObject({ recipientPhone: ussdCitizen.phone, templateKey: "sms.not_found" });

    // The submission's own notification goes to this chat; let the relay deliver it first, so the
    // screens below are the chat's last messages (not the notice arriving in between).
    notifications.wake();
    await eventually(
      async () => (await db.prisma.outbox.count({ where: { status: { in: ["pending", "sending", "failed"] } } })) === 0,
      15_000,
      "outbox drained",
    );

    // Telegram: the list holds only the chat's own application; the USSD citizen's is not found.
    const user = telegramUser();
    await user.send("/menu");
    await user.press(translator.t("ru", "menu.item.status"));
    expect(user.screen()).toBe(translator.t("ru", "status.list_title", { count: 1 }));
    expect(user.buttons().join("\n")).not.toContain(ussdReference);
    await user.press(translator.t("ru", "status.lookup_option"));
    await user.send(ussdReference);
    expect(user.screen()).toContain(translator.t("ru", "status.not_found", { reference: ussdReference }));
    await user.send(telegramReference);
    expect(user.screen()).toContain(telegramReference);
  });
});

describe("what the API returns", () => {
  // Every token in API_TOKENS is the agency's: it sees every region, citizen and notification.
  // There are no narrower roles to test yet; what is tested is that nothing is served without one,
  // that a filter never returns more than it names, and that secrets are not served at all.
  it("refuses every operation of its OpenAPI document without a valid token", async () => {
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/api/v1/"))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, "1") })),
      );
    expect(operations.length).toBeGreaterThan(10);
    const answers = [];
    for (const { method, url } of operations) {
      for (const token of [null, "not-the-token-0123456789"]) {
        const res = await app.inject({
          method: method as "GET",
          url,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
        answers.push(`${method} ${url} ${res.statusCode}`);
      }
    }
    expect(answers.filter((a) => !a.endsWith(" 401"))).toEqual([]);
  });

  it("lists a phone's notifications and nobody else's, and never serves an invite code again", async () => {
    const listed = await api("GET", `/api/v1/notifications?phone=${encodeURIComponent(ussdCitizen.phone)}&limit=200`);
    expect(listed.statusCode).toBe(200);
    const items = listed.json().items as { recipientPhone: string | null; templateKey: string; text: string }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((n) => n.recipientPhone === ussdCitizen.phone)).toBe(true);
    expect((await api("GET", "/api/v1/notifications?limit=200")).json().total).toBeGreaterThan(items.length);
    // The other citizen's reference appears only in this citizen's own "not found" reply.
    expect(items.filter((n) => n.text.includes(telegramReference)).map((n) => n.templateKey)).toEqual([
      "sms.not_found",
    ]);

    const staff = await db.prisma.staff.findFirstOrThrow({ where: { phone: worker.phone } });
    const one = await api("GET", `/api/v1/staff/${staff.id}`);
    const all = await api("GET", "/api/v1/staff?limit=200");
    for (const res of [one, all]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(worker.fullName);
      expect(res.body).not.toContain(inviteCode);
    }
  });
});
