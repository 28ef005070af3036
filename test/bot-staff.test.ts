import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUzPhone } from "../core/domain/phone.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import { tashkentDay } from "../core/i18n/format.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { hashInviteCode } from "../core/services/staff-visits.js";
import { VisitService } from "../core/services/visits.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import { TelegramDouble } from "./support/telegram-double.js";
import { inlineButtons, TelegramUser } from "./support/telegram-user.js";

const translator = new Translator();
let db: TestDatabase;
let tg: TelegramApp;
let visits: VisitService;
const world = { districtId: 0, m1: 0, m2: 0, w1: 0, w2: 0, admin: 0, reasonId: 0, citizen: 0, otherCitizen: 0 };

const W1_USER = 8001;
const W2_USER = 8002;
const ADMIN_USER = 8003;
const CITIZEN_USER = 6001;

async function invite(staffId: number, code: string, expiresInHours = 72) {
  await db.prisma.staffInvite.create({
    data: { staffId, codeHash: hashInviteCode(code), expiresAt: new Date(Date.now() + expiresInHours * 3_600_000) },
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  visits = new VisitService(db.prisma);
  const district = await db.prisma.district.findUniqueOrThrow({ where: { code: "1727259" } });
  const [m1, m2] = await db.prisma.mahalla.findMany({ where: { districtId: district.id }, orderBy: { code: "asc" } });
  if (!m1 || !m2) throw new Error("demo mahallas missing");
  const staff = (data: { fullName: string; phone: string; role: string; mahallaId?: number; telegram?: number }) =>
    db.prisma.staff.create({
      data: {
        fullName: data.fullName,
        phone: data.phone,
        role: data.role,
        districtId: district.id,
        ...(data.telegram ? { telegramUserId: BigInt(data.telegram), telegramChatId: BigInt(data.telegram) } : {}),
        ...(data.mahallaId ? { mahallas: { create: [{ mahallaId: data.mahallaId }] } } : {}),
      },
    });
  const w1 = await staff({
    fullName: "Dilnoza Karimova",
    phone: "+998711110001",
    role: "social_worker",
    mahallaId: m1.id,
  });
  const w2 = await staff({
    fullName: "Jasur Aliyev",
    phone: "+998711110002",
    role: "social_worker",
    mahallaId: m2.id,
    telegram: W2_USER,
  });
  const admin = await staff({ fullName: "Malika Yusupova", phone: "+998711110003", role: "district_admin" });
  const reason = await db.prisma.visitReason.findFirstOrThrow({ orderBy: { sortOrder: "asc" } });
  const citizen = await db.prisma.citizen.create({
    data: {
      phone: "+998901112233",
      fullName: "Aziza Rahimova",
      locale: "ru",
      mahallaId: m1.id,
      telegramUserId: BigInt(CITIZEN_USER),
      telegramChatId: BigInt(CITIZEN_USER),
    },
  });
  const other = await db.prisma.citizen.create({ data: { phone: "+998901112244", locale: "uz", mahallaId: m2.id } });
  Object.assign(world, {
    districtId: district.id,
    m1: m1.id,
    m2: m2.id,
    w1: w1.id,
    w2: w2.id,
    admin: admin.id,
    reasonId: reason.id,
    citizen: citizen.id,
    otherCitizen: other.id,
  });
  tg = await startTelegramApp(db);
});
afterAll(async () => {
  await tg?.close();
  await db?.close();
});

const user = (id: number, languageCode = "uz") =>
  new TelegramUser(tg.app, tg.double, WEBHOOK_SECRET, { id, first_name: `U${id}`, language_code: languageCode });

/** A visit request booked the way the citizen flow books it, in the first free slot. */
async function book(citizenId: number, mahallaId: number, where: { address?: string; location?: boolean } = {}) {
  const [slot] = await visits.freeSlots(mahallaId, new Date());
  if (!slot) throw new Error("no free slot");
  return visits.book({
    citizenId,
    mahallaId,
    reasonId: world.reasonId,
    slot,
    address: where.address ?? null,
    location: where.location ? { latitude: 41.1123, longitude: 69.0478 } : null,
    channel: "telegram",
  });
}

const t = (locale: Locale, key: string, params?: Params) => translator.t(locale, key, params);

/** What the outbox relay does for a citizen's Telegram rows: render in their language, send. */
async function deliverTo(citizenId: number) {
  const rows = await db.prisma.outbox.findMany({
    where: { citizenId, channel: "telegram", status: "pending" },
    orderBy: { id: "asc" },
  });
  for (const row of rows) {
    const text = translator.t(row.locale as Locale, row.templateKey, row.params as Params);
    const sent = await tg.telegram.sender.sendMessage(row.recipientChatId as bigint, text);
    await db.prisma.outbox.update({
      where: { id: row.id },
      data: { status: "sent", providerMessageId: sent.messageId },
    });
  }
  return rows;
}

describe("linking a worker's Telegram account", () => {
  it("links with a one-time invite code, shows the staff menu and the staff commands", async () => {
    await invite(world.w1, "W1-LINK-2026");
    const w1 = user(W1_USER);
    await w1.send("/start W1-LINK-2026");
    const staff = await db.prisma.staff.findUniqueOrThrow({ where: { id: world.w1 }, include: { invites: true } });
    expect(staff.telegramUserId).toBe(BigInt(W1_USER));
    expect(staff.telegramChatId).toBe(BigInt(W1_USER));
    expect(staff.invites[0]?.usedAt).not.toBeNull();
    const texts = tg.double.sentTexts(W1_USER);
    expect(texts).toEqual([
      t("uz", "staff.linked", { name: "Dilnoza Karimova" }),
      t("uz", "staff.menu.title", { name: "Dilnoza Karimova" }),
    ]);
    expect(w1.buttons()).toEqual([
      t("uz", "staff.menu.today"),
      t("uz", "staff.menu.week"),
      t("uz", "staff.menu.citizen"),
    ]);
    const commands = tg.double
      .callsOf("setMyCommands")
      .find((c) => JSON.stringify(c.payload.scope ?? {}).includes(String(W1_USER)));
    expect(((commands?.payload.commands ?? []) as { command: string }[]).map((c) => c.command)).toContain("today");
    const audit = await db.prisma.auditLog.findFirst({
      where: { action: "staff.telegram_linked", entityId: String(world.w1) },
    });
    expect(audit?.actor).toBe(`staff:${world.w1}`);

    // The same code a second time, by someone else: refused, nothing changes.
    const intruder = user(8999, "ru");
    await intruder.send("/start W1-LINK-2026");
    expect(tg.double.sentTexts(8999).at(-1)).toBe(t("ru", "staff.invite.used"));
    expect((await db.prisma.staff.findUniqueOrThrow({ where: { id: world.w1 } })).telegramUserId).toBe(BigInt(W1_USER));
  });

  it("refuses an unknown, an expired code and one for an inactive worker", async () => {
    const stranger = user(8998);
    await stranger.send("/start NO-SUCH-CODE");
    expect(tg.double.sentTexts(8998).at(-1)).toBe(t("uz", "staff.invite.invalid"));
    await invite(world.w2, "W2-OLD", -1);
    await stranger.send("/start W2-OLD");
    expect(tg.double.sentTexts(8998).at(-1)).toBe(t("uz", "staff.invite.expired"));
    const retired = await db.prisma.staff.create({
      data: {
        fullName: "Retired",
        phone: "+998711110009",
        role: "social_worker",
        districtId: world.districtId,
        active: false,
      },
    });
    await invite(retired.id, "RETIRED-CODE");
    await stranger.send("/start RETIRED-CODE");
    expect(tg.double.sentTexts(8998).at(-1)).toBe(t("uz", "staff.invite.inactive"));
    expect(await db.prisma.staff.count({ where: { telegramUserId: BigInt(8998) } })).toBe(0);
  });
});

describe("what the update ledger read with an update", () => {
  it("a worker's command recorded while their invite code still waited is handled as the worker's", async () => {
    const fresh = await db.prisma.staff.create({
      data: { fullName: "Nodira Saidova", phone: "+998711110010", role: "social_worker", districtId: world.districtId },
    });
    await invite(fresh.id, "FRESH-LINK-2026");
    // The bot cannot handle anything until getMe answers: both updates are recorded first, the
    // second while the account is not linked yet.
    const double = await new TelegramDouble().start();
    const held = double.hold((method) => method === "getMe");
    const app = await startTelegramApp(db, { double, getMe: true });
    try {
      const worker = new TelegramUser(app.app, double, WEBHOOK_SECRET, {
        id: 8011,
        first_name: "N",
        language_code: "uz",
      });
      const post = (update: object) =>
        app.app.inject({
          method: "POST",
          url: "/telegram/webhook",
          headers: { "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
          payload: update,
        });
      expect((await post(worker.textUpdate("/start FRESH-LINK-2026"))).statusCode).toBe(200);
      const today = worker.textUpdate("/today");
      expect((await post(today)).statusCode).toBe(200);
      held.release();
      await app.telegram.updates.settled(Number(today.update_id));
      expect(double.sentTexts(8011)).toEqual([
        t("uz", "staff.linked", { name: "Nodira Saidova" }),
        t("uz", "staff.menu.title", { name: "Nodira Saidova" }),
        t("uz", "staff.list.none_today"),
      ]);
    } finally {
      held.release();
      await app.close();
      await double.close();
    }
  });
});

describe("a visit request in the worker's chat", () => {
  it("arrives as a card with a map pin; accept and visited (with a note) update the visit and notify the citizen", async () => {
    const reference = await book(world.citizen, world.m1, { location: true });
    const request = await db.prisma.outbox.findFirstOrThrow({
      where: { staffId: world.w1, templateKey: "notify.visit_requested_staff" },
    });
    expect((request.params as { reference: string }).reference).toBe(reference);

    // What the relay does for this row: the card, not the plain text.
    const card = await tg.telegram.sender.sendStaffVisitCard({ staffId: world.w1, reference });
    const shown = tg.double.message(W1_USER, Number(card.messageId));
    expect(shown?.text).toContain(reference);
    expect(shown?.text).toContain("Aziza Rahimova");
    expect(shown?.text).toContain(formatUzPhone("+998901112233"));
    expect(shown?.text).toContain(t("uz", "staff.card.address_location"));
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference }, include: { reason: true } });
    expect(shown?.text).toContain(visit.reason.shortUz);
    expect(inlineButtons(shown).map((b) => b.text)).toEqual([
      t("uz", "staff.action.accept"),
      t("uz", "staff.action.propose"),
      t("uz", "staff.action.done"),
      t("uz", "staff.action.not_home"),
    ]);
    const pin = tg.double.callsOf("sendLocation", W1_USER).at(-1);
    expect(pin?.payload).toMatchObject({
      latitude: 41.1123,
      longitude: 69.0478,
      reply_parameters: { message_id: Number(card.messageId) },
    });

    const w1 = user(W1_USER);
    await w1.press(t("uz", "staff.action.accept"));
    expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload.text).toBe(t("uz", "staff.result.accepted"));
    const accepted = await db.prisma.visitRequest.findUniqueOrThrow({
      where: { reference },
      include: { history: true },
    });
    expect(accepted.status).toBe("accepted");
    expect(accepted.assignedStaffId).toBe(world.w1);
    expect(accepted.history.at(-1)).toMatchObject({
      fromStatus: "requested",
      toStatus: "accepted",
      actor: `staff:${world.w1}`,
    });
    expect(tg.double.message(W1_USER, Number(card.messageId))?.text).toContain(t("uz", "status.visit.accepted"));
    expect(inlineButtons(tg.double.message(W1_USER, Number(card.messageId))).map((b) => b.text)).not.toContain(
      t("uz", "staff.action.accept"),
    );

    await w1.press(t("uz", "staff.action.done"));
    expect(w1.screen()).toBe(t("uz", "staff.ask_note", { reference }));
    await w1.send("ok");
    expect(tg.double.sentTexts(W1_USER).at(-1)).toBe(t("uz", "errors.text_too_short", { min: 3 }));
    await w1.send("Hujjatlar yigʻildi, ariza topshirildi");
    const done = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect(done).toMatchObject({ status: "done", outcomeNote: "Hujjatlar yigʻildi, ariza topshirildi" });
    expect(tg.double.sentTexts(W1_USER).at(-1)).toBe(t("uz", "staff.result.done", { reference }));
    expect(inlineButtons(tg.double.message(W1_USER, Number(card.messageId)))).toEqual([]);

    const audit = await db.prisma.auditLog.findMany({
      where: { entity: "VisitRequest", entityId: reference },
      orderBy: { id: "asc" },
    });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["visit.accept", `staff:${world.w1}`],
      ["visit.done", `staff:${world.w1}`],
    ]);

    // The citizen hears of each step, in Russian, in their own chat.
    const delivered = await deliverTo(world.citizen);
    expect(delivered.map((r) => r.templateKey)).toEqual([
      "notify.visit_booked",
      "notify.visit_accepted",
      "notify.visit_done",
      // Then, once, the question how it went (issue 15; test/ratings.test.ts answers it).
      "notify.feedback_ask",
    ]);
    const texts = tg.double.sentTexts(CITIZEN_USER);
    expect(texts.at(-1)).toContain(reference);
    expect(texts.slice(-3, -1)).toEqual([
      t("ru", "notify.visit_accepted", {
        reference,
        date: { date: accepted.slotDate.toISOString().slice(0, 10) },
        part: { t: `visit.part.${accepted.slotPart}` },
      }),
      t("ru", "notify.visit_done", { reference }),
    ]);
  });

  it("proposes another free time and marks not-at-home", async () => {
    const reference = await book(world.citizen, world.m1, { address: "Mustaqillik 5" });
    const before = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    const card = await tg.telegram.sender.sendStaffVisitCard({ staffId: world.w1, reference });
    expect(tg.double.message(W1_USER, Number(card.messageId))?.text).toContain("Mustaqillik 5");
    const w1 = user(W1_USER);
    await w1.press(t("uz", "staff.action.propose"));
    const slotButtons = inlineButtons(tg.double.message(W1_USER, Number(card.messageId)));
    expect(slotButtons.length).toBeGreaterThan(1);
    expect(slotButtons.at(-1)?.text).toBe(t("uz", "staff.action.back"));
    await w1.press(slotButtons[1]?.text ?? "");
    const moved = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect(moved.status).toBe("rescheduled");
    expect(`${moved.slotDate.toISOString()}:${moved.slotPart}`).not.toBe(
      `${before.slotDate.toISOString()}:${before.slotPart}`,
    );

    await w1.press(t("uz", "staff.action.not_home"));
    expect((await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } })).status).toBe("not_home");
    const rows = await db.prisma.outbox.findMany({
      where: { citizenId: world.citizen, status: "pending" },
      orderBy: { id: "asc" },
    });
    expect(rows.map((r) => r.templateKey)).toEqual([
      "notify.visit_booked",
      "notify.visit_rescheduled",
      "notify.visit_not_home",
    ]);
    expect(((rows[1]?.params ?? {}) as { date: { date: string } }).date.date).toBe(
      moved.slotDate.toISOString().slice(0, 10),
    );
    await deliverTo(world.citizen);
    expect(tg.double.sentTexts(CITIZEN_USER).at(-1)).toBe(t("ru", "notify.visit_not_home", { reference }));
  });
});

describe("authorisation of staff actions", () => {
  it("refuses and records a worker's action on another mahalla's visit", async () => {
    const reference = await book(world.otherCitizen, world.m2);
    const w1 = user(W1_USER);
    const menu = await w1.post(w1.textUpdate("/staff"));
    expect(menu.statusCode).toBe(200);
    const anyMessage = tg.double.last(W1_USER)?.messageId ?? 0;
    for (const data of [`s:a:${reference}`, `s:h:${reference}`, `s:d:${reference}`, `s:w:${reference}:${world.w1}`]) {
      await w1.post(w1.callbackUpdate(data, anyMessage));
      const answer = tg.double.callsOf("answerCallbackQuery").at(-1);
      expect(answer?.payload).toMatchObject({ text: t("uz", "staff.refused.forbidden"), show_alert: true });
    }
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference }, include: { history: true } });
    expect(visit.status).toBe("requested");
    expect(visit.assignedStaffId).toBe(world.w2);
    expect(visit.history).toHaveLength(1);
    const refused = await db.prisma.auditLog.findMany({
      where: { action: "visit.action_refused", entityId: reference },
    });
    expect(refused.length).toBe(4);
    expect(refused.every((r) => r.actor === `staff:${world.w1}`)).toBe(true);
    expect(
      await db.prisma.outbox.count({
        where: { citizenId: world.otherCitizen, templateKey: { not: "notify.visit_booked" } },
      }),
    ).toBe(0);
  });

  it("refuses staff buttons from an account that is not linked", async () => {
    const reference = await book(world.citizen, world.m1);
    const stranger = user(8997);
    await stranger.post(stranger.callbackUpdate(`s:a:${reference}`, 1));
    expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload.text).toBe(t("uz", "staff.refused.not_linked"));
    expect((await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } })).status).toBe("requested");
  });
});

describe("visit lists and the district admin", () => {
  it("lists today's and the week's visits; the admin sees the district and reassigns", async () => {
    const today = tashkentDay(new Date());
    const todays = await db.prisma.visitRequest.create({
      data: {
        reference: "V-0000-0000",
        citizenId: world.citizen,
        mahallaId: world.m1,
        reasonId: world.reasonId,
        slotDate: new Date(`${today}T00:00:00Z`),
        slotPart: "afternoon",
        status: "accepted",
        assignedStaffId: world.w1,
        channel: "ussd",
      },
    });
    const inM2 = await book(world.otherCitizen, world.m2);

    const w1 = user(W1_USER);
    await w1.send("/today");
    expect(w1.screen()).toContain(t("uz", "staff.list.today", { count: 1 }));
    expect(w1.screen()).toContain(todays.reference);
    await w1.send("/week");
    expect(w1.screen()).not.toContain(inM2);

    await invite(world.admin, "ADMIN-CODE-1");
    const admin = user(ADMIN_USER, "ru");
    await admin.send("/start ADMIN-CODE-1");
    await admin.send("/week");
    expect(admin.screen()).toContain(inM2);
    expect(admin.screen()).toContain(todays.reference);
    expect(admin.screen()).toContain("Jasur Aliyev");

    await admin.press(new RegExp(`^${inM2} · `));
    const cardText = admin.screen();
    expect(cardText).toContain(inM2);
    await admin.press(t("uz", "staff.action.reassign"));
    expect(admin.buttons()).toContain("Dilnoza Karimova");
    expect(admin.buttons()).not.toContain("Jasur Aliyev");
    await admin.press("Dilnoza Karimova");
    const moved = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference: inM2 } });
    expect(moved.assignedStaffId).toBe(world.w1);
    const handover = await db.prisma.outbox.findFirst({
      where: {
        staffId: world.w1,
        templateKey: "notify.visit_requested_staff",
        params: { path: ["reference"], equals: inM2 },
      },
    });
    expect(handover).not.toBeNull();
    expect(
      await db.prisma.auditLog.count({
        where: { action: "visit.reassign", entityId: inM2, actor: `staff:${world.admin}` },
      }),
    ).toBe(1);
    // The new assignee may now act on it, although the mahalla is not theirs.
    const card = await tg.telegram.sender.sendStaffVisitCard({ staffId: world.w1, reference: inM2 });
    await w1.press(t("uz", "staff.action.accept"));
    expect((await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference: inM2 } })).status).toBe("accepted");
    expect(card.messageId).toBeTruthy();
  });

  it("keeps the citizen services one button away and returns to the staff menu", async () => {
    const w2 = user(W2_USER);
    await w2.send("hello");
    expect(w2.screen()).toBe(t("uz", "staff.menu.title", { name: "Jasur Aliyev" }));
    await w2.press(t("uz", "staff.menu.citizen"));
    // Not yet known as a citizen: the citizen conversation starts with identification.
    expect(w2.screen()).toBe(t("uz", "onboarding.share_contact"));
    await w2.send("/staff");
    expect(w2.screen()).toBe(t("uz", "staff.menu.title", { name: "Jasur Aliyev" }));
  });
});
