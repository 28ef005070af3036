import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newReference } from "../core/domain/reference.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import { LOCALES } from "../core/domain/vocabulary.js";
import { isGsm7 } from "../core/i18n/gsm.js";
import { Translator } from "../core/i18n/index.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import { askFeedback } from "../core/services/feedback.js";
import type { StaffMember } from "../core/services/staff-visits.js";
import { renderPages } from "../ussd/render.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPhone, setupWorld, type World } from "./support/fixtures.js";
import { FakeSms } from "./support/notify.js";
import { startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import { inlineButtons, TelegramUser } from "./support/telegram-user.js";
import { UssdPhone } from "./ussd-support.js";

/**
 * The citizen's verdict (issue 15, part 3) through every channel on the real server: the Bot API
 * double for Telegram, the gateway's SMS callback, the USSD callback sequence. On PostgreSQL
 * (DATABASE_URL) the concurrent answers race on several connections.
 */
const translator = new Translator();
const t = (locale: Locale, key: string, params?: Params) => translator.t(locale, key, params);
const API_TOKEN = "ratings-test-token-0123456789";
const auth = { authorization: `Bearer ${API_TOKEN}` };
const ADMIN_USER = 7101;

let db: TestDatabase;
let world: World;
let tg: TelegramApp;
let worker: StaffMember;
let adminId: number;
const sms = new FakeSms();
let userSerial = 9100;

beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
  const admin = await db.prisma.staff.create({
    data: {
      fullName: "Malika Yusupova",
      phone: "+998711119999",
      role: "district_admin",
      districtId: world.districtId,
      telegramUserId: BigInt(ADMIN_USER),
      telegramChatId: BigInt(ADMIN_USER),
    },
  });
  adminId = admin.id;
  tg = await startTelegramApp(db, { env: { API_TOKENS: `test:${API_TOKEN}` } });
  const member = await tg.core.staffVisits.findById(world.workerId);
  if (!member) throw new Error("worker missing");
  worker = member;
});
afterAll(async () => {
  await tg?.close();
  await db?.close();
});

/** The outbox delivered as the relay does it (Telegram through the bot's sender, SMS recorded). */
async function deliver() {
  const delivery = new NotificationDelivery({ prisma: db.prisma, sms, telegram: tg.telegram.sender });
  await new OutboxRelay(delivery, { recoverEveryMs: 0 }).tick();
}

async function telegramCitizen(locale: Locale = "uz") {
  const id = ++userSerial;
  const citizen = await db.prisma.citizen.create({
    data: {
      phone: nextPhone(),
      locale,
      mahallaId: world.mahallaId,
      telegramUserId: BigInt(id),
      telegramChatId: BigInt(id),
    },
  });
  const user = new TelegramUser(tg.app, tg.double, WEBHOOK_SECRET, { id, first_name: `C${id}`, language_code: "uz" });
  return { citizen, user };
}

/** A visit accepted by the worker and then marked done through the staff service, as the bot does. */
async function doneVisit(citizenId: number, channel: "telegram" | "ussd") {
  const reason = await db.prisma.visitReason.findFirstOrThrow({ orderBy: { sortOrder: "asc" } });
  const visit = await db.prisma.visitRequest.create({
    data: {
      reference: newReference("V"),
      citizenId,
      mahallaId: world.mahallaId,
      reasonId: reason.id,
      slotDate: new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`),
      slotPart: "morning",
      status: "accepted",
      assignedStaffId: world.workerId,
      channel,
    },
  });
  await tg.core.staffVisits.markDone(worker, visit.reference, "Visited, papers explained");
  return visit;
}

async function decided(citizenId: number, status: "approved" | "rejected") {
  const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
  const app = await db.prisma.application.create({
    data: {
      reference: newReference("A"),
      citizenId,
      benefitTypeId: benefit.id,
      answers: { children: 2 },
      status: "submitted",
      channel: "ussd",
      locale: "uz",
      history: { create: { toStatus: "submitted", actor: "citizen" } },
    },
  });
  const res = await tg.app.inject({
    method: "PATCH",
    url: `/api/v1/applications/${app.reference}`,
    headers: auth,
    payload: { status, ...(status === "rejected" ? { reason: "income above the threshold" } : {}) },
  });
  expect(res.statusCode, res.body).toBe(200);
  return app;
}

const feedbackOf = (subjectKind: "visit" | "decision", subjectId: number) =>
  db.prisma.feedback.findUniqueOrThrow({ where: { subjectKind_subjectId: { subjectKind, subjectId } } });
const followUpMessages = (feedbackId: number) =>
  db.prisma.outbox.findMany({ where: { dedupeKey: { startsWith: `feedback-follow-up:${feedbackId}:` } } });
const lastAnswer = () => tg.double.callsOf("answerCallbackQuery").at(-1)?.payload;

describe("asked once", () => {
  it("asks after a visit is marked done and after a decision, once per subject, in the change's transaction", async () => {
    const { citizen } = await telegramCitizen();
    const visit = await doneVisit(citizen.id, "telegram");
    const app = await decided(citizen.id, "approved");
    // A second ask for either subject (a retried decision, a replayed job) adds nothing.
    await db.prisma.$transaction((tx) => askFeedback(tx, { kind: "visit", id: visit.id }));
    await db.prisma.$transaction((tx) => askFeedback(tx, { kind: "decision", id: app.id }));
    const rows = await db.prisma.feedback.findMany({ where: { citizenId: citizen.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.subjectKind, r.subjectId, r.channel, r.score, r.districtId])).toEqual([
      ["visit", visit.id, "telegram", null, world.districtId],
      ["decision", app.id, "telegram", null, world.districtId],
    ]);
    const asks = await db.prisma.outbox.findMany({
      where: { citizenId: citizen.id, templateKey: "notify.feedback_ask" },
    });
    expect(asks).toHaveLength(2);
    expect(asks.every((a) => a.channel === "telegram")).toBe(true);
  });

  it("does not ask after a status change that is no decision", async () => {
    const { citizen } = await telegramCitizen();
    const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    const reference = newReference("A");
    await db.prisma.application.create({
      data: {
        reference,
        citizenId: citizen.id,
        benefitTypeId: benefit.id,
        answers: {},
        status: "submitted",
        channel: "telegram",
        locale: "uz",
      },
    });
    const res = await tg.app.inject({
      method: "PATCH",
      url: `/api/v1/applications/${reference}`,
      headers: auth,
      payload: { status: "under_review" },
    });
    expect(res.statusCode).toBe(200);
    expect(await db.prisma.feedback.count({ where: { citizenId: citizen.id } })).toBe(0);
  });
});

describe("on Telegram", () => {
  it("takes a score from the buttons, then the next text as the comment; a second press is refused", async () => {
    const { citizen, user } = await telegramCitizen("ru");
    const visit = await doneVisit(citizen.id, "telegram");
    await deliver();
    const question = tg.double.shown(user.chatId).find((m) => inlineButtons(m).some((b) => b.text === "4"));
    expect(question?.text).toContain(visit.reference);
    expect(inlineButtons(question).map((b) => b.text)).toEqual(["1", "2", "3", "4", "5"]);
    const oldButton = inlineButtons(question).find((b) => b.text === "1")?.callback_data ?? "";
    const questionId = question?.messageId ?? 0;

    await user.press("4");
    let row = await feedbackOf("visit", visit.id);
    expect(row).toMatchObject({ score: 4, channel: "telegram", followUpStatus: "none", comment: null });
    expect(user.screen()).toBe(t("ru", "rating.comment_prompt", { score: 4 }));
    expect(user.buttons()).toEqual([t("ru", "rating.skip")]);

    await user.send("Пришли вовремя, спасибо");
    row = await feedbackOf("visit", visit.id);
    expect(row.comment).toBe("Пришли вовремя, спасибо");
    expect(user.screen()).toBe(t("ru", "rating.comment_saved"));
    // The window is used up: the next text is for the conversation again.
    await user.send("Ещё одно");
    expect((await feedbackOf("visit", visit.id)).comment).toBe("Пришли вовремя, спасибо");

    // The old buttons pressed again (a double tap, a copy of the message): refused, nothing changes.
    await user.post(user.callbackUpdate(oldButton, questionId));
    expect(lastAnswer()).toMatchObject({ text: t("ru", "rating.refused.already_answered"), show_alert: true });
    expect((await feedbackOf("visit", visit.id)).score).toBe(4);
    expect(await followUpMessages(row.id)).toHaveLength(0);
  });

  it("refuses a press by another Telegram user and keeps the question open for the citizen", async () => {
    const { citizen, user } = await telegramCitizen();
    const visit = await doneVisit(citizen.id, "telegram");
    await deliver();
    const { message, button } = user.findButton("5");
    const stranger = (await telegramCitizen()).user;
    const res = await stranger.post(stranger.callbackUpdate(button.callback_data ?? "", message.messageId));
    expect(res.statusCode).toBe(200);
    expect(lastAnswer()).toMatchObject({ text: t("uz", "rating.refused.not_yours") });
    expect((await feedbackOf("visit", visit.id)).score).toBeNull();
    await user.press("5");
    expect((await feedbackOf("visit", visit.id)).score).toBe(5);
  });

  it("Skip ends the comment window: the next text goes to the conversation", async () => {
    const { citizen, user } = await telegramCitizen();
    const app = await decided(citizen.id, "approved");
    await deliver();
    await user.press("3");
    await user.press(t("uz", "rating.skip"));
    expect(user.screen()).toBe(t("uz", "rating.thanks"));
    await user.send("salom");
    const row = await feedbackOf("decision", app.id);
    expect(row).toMatchObject({ score: 3, comment: null, commentUntil: null });
  });

  it("a 1 opens one follow-up: one message to the district admin, listed by the API until closed", async () => {
    const { citizen, user } = await telegramCitizen();
    const app = await decided(citizen.id, "rejected");
    await deliver();
    await user.press("1");
    await user.send("Hech kim tushuntirmadi");
    const row = await feedbackOf("decision", app.id);
    expect(row).toMatchObject({ score: 1, followUpStatus: "open", comment: "Hech kim tushuntirmadi" });
    const messages = await followUpMessages(row.id);
    expect(messages.map((m) => [m.staffId, m.channel])).toEqual([[adminId, "telegram"]]);
    await deliver();
    expect(tg.double.sentTexts(ADMIN_USER).some((text) => text.includes(app.reference))).toBe(true);

    const list = await tg.app.inject({ method: "GET", url: "/api/v1/feedback?follow_up=open", headers: auth });
    expect(list.statusCode).toBe(200);
    const item = list.json().items.find((i: { id: number }) => i.id === row.id);
    expect(item).toMatchObject({
      subject: { kind: "decision", reference: app.reference },
      score: 1,
      comment: "Hech kim tushuntirmadi",
      channel: "telegram",
      district: { code: "1727259" },
      followUp: { status: "open", closedAt: null },
    });
    expect(item.ageHours).toBeGreaterThanOrEqual(0);

    const close = () => tg.app.inject({ method: "POST", url: `/api/v1/feedback/${row.id}/close`, headers: auth });
    const closed = await close();
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toMatchObject({ id: row.id, followUp: { status: "closed", closedBy: "api:test" } });
    const again = await close();
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("FOLLOW_UP_CLOSED");
    const after = await tg.app.inject({ method: "GET", url: "/api/v1/feedback?follow_up=open", headers: auth });
    expect(after.json().items.some((i: { id: number }) => i.id === row.id)).toBe(false);
    const audit = await db.prisma.auditLog.findMany({ where: { entity: "Feedback", entityId: String(row.id) } });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([["feedback.follow_up_close", "api:test"]]);
    // The comment is the citizen's: never copied into the audit log.
    expect(JSON.stringify(audit)).not.toContain("tushuntirmadi");
  });

  it("refuses a bad filter and an unknown follow-up with clear errors", async () => {
    const bad = await tg.app.inject({ method: "GET", url: "/api/v1/feedback?follow_up=maybe", headers: auth });
    expect(bad.statusCode).toBe(400);
    const missing = await tg.app.inject({ method: "POST", url: "/api/v1/feedback/999999/close", headers: auth });
    expect(missing.statusCode).toBe(404);
    const unauthorised = await tg.app.inject({ method: "GET", url: "/api/v1/feedback?follow_up=open" });
    expect(unauthorised.statusCode).toBe(401);
  });
});

let smsSerial = 0;
async function inbound(from: string, text: string) {
  const id = `rating-sms-${++smsSerial}`;
  const res = await tg.app.inject({
    method: "POST",
    url: "/sms/inbound",
    payload: new URLSearchParams({ from, to: "1146", text, date: "2026-12-01 10:00:00", id, linkId: id }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  expect(res.statusCode).toBe(200);
  const reply = await db.prisma.outbox.findUniqueOrThrow({ where: { dedupeKey: `sms-inbound:${id}` } });
  return reply.templateKey;
}

describe("by SMS", () => {
  it("asks a USSD booker by SMS and takes the reply 1–5 with its comment; a second reply and another phone are refused", async () => {
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
    const visit = await doneVisit(citizen.id, "ussd");
    const ask = await db.prisma.outbox.findFirstOrThrow({
      where: { citizenId: citizen.id, templateKey: "notify.feedback_ask_sms" },
    });
    expect(ask.channel).toBe("sms");
    expect(t("uz", ask.templateKey, ask.params as Params)).toContain(visit.reference);

    // Another phone's "5" answers nothing of this citizen (it was asked nothing: the usual help).
    expect(await inbound(nextPhone(), "5")).toBe("sms.unknown");
    expect((await feedbackOf("visit", visit.id)).score).toBeNull();

    expect(await inbound(citizen.phone, "2 kech qoldi")).toBe("sms.rating_thanks");
    const row = await feedbackOf("visit", visit.id);
    expect(row).toMatchObject({ score: 2, comment: "kech qoldi", channel: "sms", followUpStatus: "open" });
    expect(await followUpMessages(row.id)).toHaveLength(1);

    expect(await inbound(citizen.phone, "5")).toBe("sms.rating_already");
    expect((await feedbackOf("visit", visit.id)).score).toBe(2);
    expect(await followUpMessages(row.id)).toHaveLength(1);
  });

  it("leaves a digit from someone never asked to the usual answer", async () => {
    const citizen = await createCitizen(db.prisma);
    expect(await inbound(citizen.phone, "3")).toBe("sms.unknown");
  });
});

describe("on USSD", () => {
  it("offers the question before the menu on the next call, once; 5 and a comment answer it", async () => {
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
    const app = await decided(citizen.id, "approved");
    const phone = new UssdPhone(tg.app, citizen.phone);
    const first = await phone.dial();
    expect(first).toContain(app.reference);
    expect(first).not.toContain(t("uz", "menu.item.apply").slice(0, 8));
    const comment = await phone.send("5");
    expect(comment).toContain("izoh");
    const menu = await phone.send("Rahmat");
    expect(menu).toContain(t("uz", "rating.thanks"));
    const row = await feedbackOf("decision", app.id);
    expect(row).toMatchObject({ score: 5, comment: "Rahmat", channel: "ussd", followUpStatus: "none" });
    // Not asked twice: the next call opens on the menu.
    const again = await phone.dial();
    expect(again).not.toContain(app.reference);
  });

  it("0 skips to the menu and the question is not offered again, though an SMS reply still answers it", async () => {
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
    const visit = await doneVisit(citizen.id, "ussd");
    const phone = new UssdPhone(tg.app, citizen.phone);
    expect(await phone.dial()).toContain(visit.reference);
    const menu = await phone.send("0");
    expect(menu).not.toContain(visit.reference);
    expect((await feedbackOf("visit", visit.id)).score).toBeNull();
    expect(await phone.dial()).not.toContain(visit.reference);
    expect(await inbound(citizen.phone, "4")).toBe("sms.rating_thanks");
    expect((await feedbackOf("visit", visit.id)).score).toBe(4);
  });

  it("refuses on USSD a question answered meanwhile by SMS", async () => {
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId, locale: "ru" });
    const visit = await doneVisit(citizen.id, "ussd");
    const phone = new UssdPhone(tg.app, citizen.phone);
    expect(await phone.dial()).toContain(visit.reference);
    expect(await inbound(citizen.phone, "3")).toBe("sms.rating_thanks");
    const refused = await phone.send("1");
    expect(refused).toContain(t("ru", "rating.refused.already_answered"));
    expect((await feedbackOf("visit", visit.id)).score).toBe(3);
  });

  it("keeps the rating screens within the USSD budget in every language", async () => {
    for (const locale of LOCALES) {
      for (const [key, params] of [
        ["rating.ussd_ask", { reference: "V-ABCD-2345", subject: { t: "rating.subject.decision" } }],
        ["rating.ussd_comment", {}],
      ] as const) {
        const screen = {
          body: [{ key, params: params as Params }],
          options: [],
          input: { kind: "text" as const, format: "digits" as const, maxLength: 1 },
          nav: { back: false, home: true },
          end: false,
        };
        const pages = renderPages(screen, locale, { translator, maxCharsUcs2: 80 });
        expect(pages, `${locale} ${key}`).toHaveLength(1);
        const text = pages[0]?.text ?? "";
        expect(text.length).toBeLessThanOrEqual(isGsm7(text) ? 182 : 80);
      }
    }
  });
});

describe("the admin without Telegram", () => {
  it("gets the follow-up by SMS without the citizen's comment (which stays in the API)", async () => {
    await db.prisma.staff.update({ where: { id: adminId }, data: { telegramChatId: null } });
    try {
      const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
      const visit = await doneVisit(citizen.id, "ussd");
      expect(await inbound(citizen.phone, "1 Ismim Aziza, hech kim kelmadi")).toBe("sms.rating_thanks");
      const row = await feedbackOf("visit", visit.id);
      const [message, ...more] = await followUpMessages(row.id);
      expect(more).toHaveLength(0);
      expect(message).toMatchObject({ channel: "sms", staffId: adminId, templateKey: "notify.feedback_follow_up_sms" });
      expect(JSON.stringify(message?.params)).not.toContain("Aziza");
      expect(row.comment).toBe("Ismim Aziza, hech kim kelmadi");
    } finally {
      await db.prisma.staff.update({ where: { id: adminId }, data: { telegramChatId: BigInt(ADMIN_USER) } });
    }
  });
});

describe("concurrent answers", () => {
  it("store exactly one of twenty answers at once, and a low one opens exactly one follow-up message", async () => {
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
    const visit = await doneVisit(citizen.id, "ussd");
    const row = await feedbackOf("visit", visit.id);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        tg.core.services.feedback.answer({
          feedbackId: row.id,
          by: { citizenId: citizen.id },
          score: (i % 2) + 1,
          channel: i % 3 === 0 ? "sms" : "ussd",
        }),
      ),
    );
    expect(outcomes.filter((o) => o.kind === "answered")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "already_answered")).toHaveLength(19);
    const stored = await feedbackOf("visit", visit.id);
    expect(stored.followUpStatus).toBe("open");
    expect(await followUpMessages(row.id)).toHaveLength(1);
  });

  it("offers a waiting question to exactly one of twenty USSD calls at once, with its reference", async () => {
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
    const app = await decided(citizen.id, "rejected");
    const question = await feedbackOf("decision", app.id);
    // The question's row is held while the calls start, so that every one of them has read it
    // unoffered and waits for it: only the check on the locked row itself can then let one through.
    let calls: ReturnType<typeof tg.core.services.feedback.claimUssdOffer>[] = [];
    await db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`select id from "Feedback" where id = ${question.id} for update`;
      calls = Array.from({ length: 20 }, () => tg.core.services.feedback.claimUssdOffer(citizen.id));
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    const offers = await Promise.all(calls);
    const given = offers.filter((o) => o !== null);
    expect(given).toEqual([{ feedbackId: expect.any(Number), subjectKind: "decision", reference: app.reference }]);
    expect((await feedbackOf("decision", app.id)).ussdOfferedAt).not.toBeNull();
    expect(await tg.core.services.feedback.claimUssdOffer(citizen.id)).toBeNull();
  });
});
