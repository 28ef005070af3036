import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../core/db/database.js";
import { newReference } from "../core/domain/reference.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import { Translator } from "../core/i18n/index.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { NotificationRenderer } from "../core/notifications/render.js";
import { seedHolidays } from "../core/reference/seed.js";
import { calendarFor } from "../core/services/calendar.js";
import { DeadlineService } from "../core/services/deadlines.js";
import { ESCALATION_TEMPLATES, EscalationService } from "../core/services/escalations.js";
import { makeApplication } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, setupWorld, type World } from "./support/fixtures.js";
import { FakeSms } from "./support/notify.js";
import { startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import { inlineButtons, TelegramUser } from "./support/telegram-user.js";

/**
 * The deadline tick on a fake clock through Tuesday 8 December 2026 (Constitution Day, a seeded
 * holiday): the worker's reminder, the escalation to the district admins in the Bot API double,
 * their take and reassign buttons, the citizen's late notice, each once. On PostgreSQL
 * (DATABASE_URL) the two "instances" are two connection pools racing on one database.
 */
const translator = new Translator();
const t = (locale: Locale, key: string, params?: Params) => translator.t(locale, key, params);
const tashkent = (local: string) => new Date(`${local}+05:00`);

let db: TestDatabase;
let world: World;
let tg: TelegramApp;
let now = tashkent("2026-12-07T16:00");
const clock = () => now;
const sms = new FakeSms();
let delivery: NotificationDelivery;

const WORKER_CHAT = 7001;
const ADMIN_A = 8101;
const ADMIN_B = 8102;
const OTHER_ADMIN = 8103;
const WORKER2_CHAT = 8104;
const CITIZEN_CHAT = 6101;
const ids = { adminA: 0, adminB: 0, otherAdmin: 0, worker2: 0, reason: 0, citizen: 0, smsAdmin: 0 };
let otherDistrictMahalla = 0;
let smsDistrictMahalla = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
  await seedHolidays(db.prisma, tashkent("2026-06-01T12:00"));
  calendarFor(db.prisma).invalidate();
  const staff = (data: {
    name: string;
    phone: string;
    role: string;
    districtId: number;
    chat?: number;
    mahallaId?: number;
  }) =>
    db.prisma.staff.create({
      data: {
        fullName: data.name,
        phone: data.phone,
        role: data.role,
        districtId: data.districtId,
        locale: "uz",
        ...(data.chat ? { telegramUserId: BigInt(data.chat), telegramChatId: BigInt(data.chat) } : {}),
        ...(data.mahallaId ? { mahallas: { create: [{ mahallaId: data.mahallaId }] } } : {}),
      },
    });
  const others = await db.prisma.district.findMany({
    where: { id: { not: world.districtId }, mahallas: { some: {} } },
    include: { mahallas: { take: 1, orderBy: { code: "asc" } } },
    take: 2,
    orderBy: { code: "asc" },
  });
  const [other, smsDistrict] = others;
  if (!other?.mahallas[0] || !smsDistrict?.mahallas[0]) throw new Error("two more districts with mahallas expected");
  otherDistrictMahalla = other.mahallas[0].id;
  smsDistrictMahalla = smsDistrict.mahallas[0].id;
  ids.adminA = (
    await staff({
      name: "Admin A",
      phone: "+998711120001",
      role: "district_admin",
      districtId: world.districtId,
      chat: ADMIN_A,
    })
  ).id;
  ids.adminB = (
    await staff({
      name: "Admin B",
      phone: "+998711120002",
      role: "district_admin",
      districtId: world.districtId,
      chat: ADMIN_B,
    })
  ).id;
  ids.otherAdmin = (
    await staff({
      name: "Admin C",
      phone: "+998711120003",
      role: "district_admin",
      districtId: other.id,
      chat: OTHER_ADMIN,
    })
  ).id;
  ids.smsAdmin = (
    await staff({ name: "Admin D", phone: "+998711120004", role: "district_admin", districtId: smsDistrict.id })
  ).id;
  ids.worker2 = (
    await staff({
      name: "Jasur Aliyev",
      phone: "+998711120005",
      role: "social_worker",
      districtId: world.districtId,
      chat: WORKER2_CHAT,
      mahallaId: world.otherMahallaId,
    })
  ).id;
  await db.prisma.staff.update({ where: { id: world.workerId }, data: { dailyCapacity: 10 } });
  await db.prisma.district.update({ where: { id: world.districtId }, data: { insonPhone: "+998712345678" } });
  // Acceptance within 4 office hours: Monday 16:00 → (2 h Monday, Tuesday off) Wednesday 11:00.
  ids.reason = (
    await db.prisma.visitReason.create({
      data: {
        code: "TEST_ESCALATION",
        sortOrder: 900,
        active: false,
        nameUz: "Sinov",
        nameUzCyrl: "Синов",
        nameRu: "Тест",
        shortUz: "Sinov",
        shortUzCyrl: "Синов",
        shortRu: "Тест",
        acceptanceAmount: 4,
        acceptanceUnit: "hours",
        visitWorkingDays: 5,
      },
    })
  ).id;
  const citizen = await db.prisma.citizen.create({
    data: {
      phone: "+998901230001",
      locale: "ru",
      mahallaId: world.mahallaId,
      telegramUserId: BigInt(CITIZEN_CHAT),
      telegramChatId: BigInt(CITIZEN_CHAT),
    },
  });
  ids.citizen = citizen.id;
  tg = await startTelegramApp(db, { clock });
  delivery = new NotificationDelivery({ prisma: db.prisma, sms, telegram: tg.telegram.sender, clock });
});
afterAll(async () => {
  await tg?.close();
  await db?.close();
});

async function visit(
  mahallaId: number,
  data: { assignedStaffId?: number | null; citizenId?: number; channel?: string } = {},
) {
  const citizenId = data.citizenId ?? (await createCitizen(db.prisma, { mahallaId })).id;
  return db.prisma.visitRequest.create({
    data: {
      reference: newReference("V"),
      citizenId,
      mahallaId,
      reasonId: ids.reason,
      slotDate: new Date("2026-12-10T00:00:00Z"),
      slotPart: "morning",
      status: "requested",
      assignedStaffId: data.assignedStaffId === undefined ? world.workerId : data.assignedStaffId,
      channel: data.channel ?? "telegram",
      createdAt: tashkent("2026-12-07T16:00"),
    },
  });
}

/** Runs the tick at `at` as the periodic job does. */
async function tickAt(at: string) {
  now = tashkent(at);
  return tg.core.escalations.tick(now);
}

/** Sends every due outbox row as the relay would, through the bot's sender and the SMS double. */
async function deliverAll() {
  for (;;) {
    const rows = await delivery.claimDue(50);
    if (rows.length === 0) return;
    for (const row of rows) await delivery.deliver(row);
  }
}

const rowsFor = (where: { staffId?: number; citizenId?: number }, templateKey: string) =>
  db.prisma.outbox.findMany({ where: { ...where, templateKey }, orderBy: { id: "asc" } });

const user = (id: number) =>
  new TelegramUser(tg.app, tg.double, WEBHOOK_SECRET, { id, first_name: `U${id}`, language_code: "uz" });

describe("the deadline tick through a holiday", () => {
  let v1: Awaited<ReturnType<typeof visit>>;
  let v2: Awaited<ReturnType<typeof visit>>;

  it("reminds the worker once, in one message for two requests, before the acceptance deadline", async () => {
    v1 = await visit(world.mahallaId, { citizenId: ids.citizen });
    v2 = await visit(world.mahallaId);
    // Tuesday the 8th is a holiday: the deadline is Wednesday 11:00, so nothing is due yet.
    expect(await tickAt("2026-12-08T10:00")).toMatchObject({ reminders: 0, escalations: 0 });
    expect(await tickAt("2026-12-09T09:30")).toMatchObject({ reminders: 2, escalations: 0 });
    expect(await tickAt("2026-12-09T09:45")).toMatchObject({ reminders: 0 });
    const reminders = await rowsFor({ staffId: world.workerId }, "notify.deadline_reminder_staff");
    expect(reminders).toHaveLength(1);
    expect(reminders[0]?.params).toEqual({ count: 2, references: `${v1.reference}, ${v2.reference}` });
    await deliverAll();
    const texts = tg.double.sentTexts(WORKER_CHAT);
    expect(texts).toEqual([
      t("uz", "notify.deadline_reminder_staff", { count: 2, references: `${v1.reference}, ${v2.reference}` }),
    ]);
  });

  it("escalates to each admin of the district once, one message with a button pair per request", async () => {
    expect(await tickAt("2026-12-09T10:59")).toMatchObject({ escalations: 0 });
    expect(await tickAt("2026-12-09T11:05")).toMatchObject({ escalations: 2 });
    expect(await tickAt("2026-12-09T12:00")).toMatchObject({ escalations: 0 });
    for (const admin of [ids.adminA, ids.adminB]) {
      expect(await rowsFor({ staffId: admin }, "notify.visit_escalated_admin")).toHaveLength(1);
    }
    expect(await rowsFor({ staffId: ids.otherAdmin }, "notify.visit_escalated_admin")).toHaveLength(0);
    await deliverAll();
    for (const chat of [ADMIN_A, ADMIN_B]) {
      const sent = tg.double.callsOf("sendMessage", chat);
      expect(sent).toHaveLength(1);
      const shown = tg.double.last(chat);
      expect(shown?.text).toContain(t("uz", "staff.escalation.title", { count: 2 }));
      expect(shown?.text).toContain(v1.reference);
      expect(shown?.text).toContain(v2.reference);
      expect(inlineButtons(shown).map((b) => b.text)).toEqual([
        t("uz", "staff.escalation.reassign", { reference: v1.reference }),
        t("uz", "staff.escalation.take", { reference: v1.reference }),
        t("uz", "staff.escalation.reassign", { reference: v2.reference }),
        t("uz", "staff.escalation.take", { reference: v2.reference }),
      ]);
    }
  });

  it("lets one admin take a request; the other admin's stale button says it was taken", async () => {
    const a = user(ADMIN_A);
    await a.press(t("uz", "staff.escalation.take", { reference: v1.reference }));
    expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload.text).toBe(
      t("uz", "staff.result.taken", { reference: v1.reference }),
    );
    const taken = await db.prisma.visitRequest.findUniqueOrThrow({ where: { id: v1.id } });
    expect(taken).toMatchObject({ status: "accepted", assignedStaffId: ids.adminA });
    const escalation = await db.prisma.escalation.findFirstOrThrow({
      where: { visitRequestId: v1.id, kind: "escalation" },
    });
    expect(escalation).toMatchObject({ resolution: "taken", resolvedBy: `staff:${ids.adminA}` });
    expect(await db.prisma.auditLog.count({ where: { action: "visit.take", entityId: v1.reference } })).toBe(1);
    expect(await rowsFor({ citizenId: ids.citizen }, "notify.visit_accepted")).toHaveLength(1);

    const b = user(ADMIN_B);
    await b.press(t("uz", "staff.escalation.take", { reference: v1.reference }));
    expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload).toMatchObject({
      text: t("uz", "staff.refused.escalation_resolved", { resolution: { t: "staff.resolution.taken" } }),
      show_alert: true,
    });
    expect(await db.prisma.visitRequest.findUniqueOrThrow({ where: { id: v1.id } })).toMatchObject({
      assignedStaffId: ids.adminA,
    });
  });

  it("refuses the buttons to an admin of another district and to a social worker", async () => {
    for (const chat of [OTHER_ADMIN, WORKER_CHAT]) {
      const someone = user(chat);
      await someone.post(someone.callbackUpdate(`s:t:${v2.reference}`, 1));
      expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload).toMatchObject({
        text: t("uz", "staff.refused.forbidden"),
        show_alert: true,
      });
      await someone.post(someone.callbackUpdate(`s:z:${v2.reference}:${ids.worker2}`, 1));
      expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload.text).toBe(t("uz", "staff.refused.forbidden"));
    }
    const unchanged = await db.prisma.visitRequest.findUniqueOrThrow({ where: { id: v2.id } });
    expect(unchanged).toMatchObject({ status: "requested", assignedStaffId: world.workerId });
    expect(
      await db.prisma.auditLog.count({ where: { action: "visit.action_refused", entityId: v2.reference } }),
    ).toBeGreaterThanOrEqual(4);
  });

  it("reassigns by button to a worker picked from a short list, notifying the new worker", async () => {
    const b = user(ADMIN_B);
    await b.press(t("uz", "staff.escalation.reassign", { reference: v2.reference }));
    expect(b.screen()).toContain(t("uz", "staff.choose_worker"));
    expect(b.buttons()).toEqual(["Jasur Aliyev"]);
    await b.press("Jasur Aliyev");
    const moved = await db.prisma.visitRequest.findUniqueOrThrow({ where: { id: v2.id } });
    expect(moved.assignedStaffId).toBe(ids.worker2);
    expect(
      await db.prisma.escalation.findFirstOrThrow({ where: { visitRequestId: v2.id, kind: "escalation" } }),
    ).toMatchObject({ resolution: "reassigned", resolvedBy: `staff:${ids.adminB}` });
    expect(await db.prisma.auditLog.count({ where: { action: "visit.reassign", entityId: v2.reference } })).toBe(1);
    const handover = await rowsFor({ staffId: ids.worker2 }, "notify.visit_requested_staff");
    expect(handover.map((r) => (r.params as { reference: string }).reference)).toEqual([v2.reference]);

    // Admin A's button for the same request is stale now.
    const a = user(ADMIN_A);
    await a.post(a.callbackUpdate(`s:z:${v2.reference}:${world.workerId}`, 1));
    expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload.text).toBe(
      t("uz", "staff.refused.escalation_resolved", { resolution: { t: "staff.resolution.reassigned" } }),
    );
    expect((await db.prisma.visitRequest.findUniqueOrThrow({ where: { id: v2.id } })).assignedStaffId).toBe(
      ids.worker2,
    );
  });

  it("lists overdue requests first on /today, marked, with how late", async () => {
    now = tashkent("2026-12-09T15:00");
    const lateLine = t("uz", "staff.late.item", {
      reference: v2.reference,
      mahalla: { names: { uz: "", "uz-Cyrl": "", ru: "" } },
      status: { t: "status.visit.requested" },
      late: { t: "staff.late.hours", params: { count: 4 } },
    });
    for (const chat of [WORKER2_CHAT, ADMIN_B]) {
      const someone = user(chat);
      await someone.send("/today");
      const lines = someone.screen().split("\n");
      expect(lines[0]).toBe(t("uz", "staff.late.title", { count: 1 }));
      // 11:00 to 15:00 on Wednesday: four office hours late.
      expect(lines[1]?.startsWith(`⚠️ ${v2.reference} · `)).toBe(true);
      expect(lines[1]?.endsWith(lateLine.split(" · ").at(-1) ?? "")).toBe(true);
      expect(someone.buttons()[0]).toBe(`⚠️ ${v2.reference}`);
    }
    // The mahalla's own worker sees it too (the mahalla is theirs); the taken one is late no more.
    const first = user(WORKER_CHAT);
    await first.send("/today");
    expect(first.screen().split("\n").slice(0, 2).join("\n")).toContain(v2.reference);
    expect(first.screen()).not.toContain(v1.reference);
  });

  it("tells each citizen once that the visit is late, in their language, with the Inson centre's phone", async () => {
    // Visit deadline: 5 working days from Monday 7th, Tuesday off: the end of Tuesday 15th.
    expect(await tickAt("2026-12-15T20:00")).toMatchObject({ lateNotices: 0 });
    const late = await tickAt("2026-12-16T09:00");
    expect(late.lateNotices).toBeGreaterThanOrEqual(2);
    expect(await tickAt("2026-12-16T10:00")).toMatchObject({ lateNotices: 0 });
    const notices = await rowsFor({ citizenId: ids.citizen }, "notify.visit_late");
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channel: "telegram", locale: "ru" });
    await deliverAll();
    expect(tg.double.sentTexts(CITIZEN_CHAT)).toContain(
      t("ru", "notify.visit_late", { reference: v1.reference, phone: "+998 71 234 56 78" }),
    );
  });

  it("tells the citizen once that a decision is late, by SMS after a USSD application", async () => {
    await db.prisma.benefitType.update({ where: { code: "DISABILITY_PENSION" }, data: { decisionWorkingDays: 2 } });
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId, locale: "uz-Cyrl" });
    // Friday 4th + 2 working days (Monday 7th, Tuesday off, Wednesday 9th): late from Thursday.
    const a = await makeApplication(
      db.prisma,
      citizen.id,
      "submitted",
      "DISABILITY_PENSION",
      tashkent("2026-12-04T15:00"),
    );
    await db.prisma.application.update({ where: { id: a.id }, data: { channel: "ussd" } });
    await tickAt("2026-12-09T23:00");
    expect(await rowsFor({ citizenId: citizen.id }, "notify.application_late")).toHaveLength(0);
    await tickAt("2026-12-10T08:00");
    await tickAt("2026-12-10T08:05");
    const rows = await rowsFor({ citizenId: citizen.id }, "notify.application_late");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: "sms", locale: "uz-Cyrl" });
    await deliverAll();
    const text = sms.sent.find((s) => s.to === citizen.phone)?.text ?? "";
    expect(text).toContain(a.reference);
    expect(text).toContain("+998 71 234 56 78");
    expect(new NotificationRenderer().sms(rows[0] as never).segments).toBeLessThanOrEqual(2);
  });
});

describe("escalation by SMS and on several instances", () => {
  it("sends the escalation by SMS to an admin without Telegram, within two parts", async () => {
    const v = await visit(smsDistrictMahalla, { assignedStaffId: null });
    await tickAt("2026-12-09T11:30");
    const rows = await rowsFor({ staffId: ids.smsAdmin }, "notify.visit_escalated_admin");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.channel).toBe("sms");
    await deliverAll();
    const text = sms.sent.find((s) => s.to === "+998711120004")?.text ?? "";
    expect(text).toContain(v.reference);
    // Every text of the tick, with three references and a phone, within the two parts other notices keep to.
    const three = [0, 1, 2].map(() => newReference("V")).join(", ");
    for (const templateKey of Object.values(ESCALATION_TEMPLATES)) {
      for (const locale of ["uz", "uz-Cyrl", "ru"] as const) {
        const rendered = new NotificationRenderer().sms({
          locale,
          templateKey,
          params: { count: 3, references: three, reference: newReference("A"), phone: "+998 71 234 56 78" },
        });
        expect(rendered.segments, `${templateKey} ${locale}`).toBeLessThanOrEqual(2);
      }
    }
  });

  it("writes each reminder, escalation and late notice once when two instances tick at the same moment", async () => {
    const second: Database = db.target.kind === "postgres" ? await openDatabase(db.target, { migrate: false }) : db;
    try {
      const mine = [];
      for (let i = 0; i < 6; i++) mine.push(await visit(otherDistrictMahalla, { assignedStaffId: null }));
      const instances = [db, second].map((d) => new EscalationService(d.prisma, new DeadlineService(d.prisma)));
      const at = tashkent("2026-12-16T11:00");
      const results = await Promise.all([...instances, ...instances].map((s) => s.tick(at)));
      const subjectIds = mine.map((v) => v.id);
      expect(
        await db.prisma.escalation.count({ where: { kind: "escalation", visitRequestId: { in: subjectIds } } }),
      ).toBe(6);
      expect(
        await db.prisma.escalation.count({ where: { kind: "late_notice", visitRequestId: { in: subjectIds } } }),
      ).toBe(6);
      expect(results.reduce((n, r) => n + r.escalations, 0)).toBeGreaterThanOrEqual(6);
      // One grouped message for the six (they came due at the same tick) to the district's admin.
      expect(await rowsFor({ staffId: ids.otherAdmin }, "notify.visit_escalated_admin")).toHaveLength(1);
      const citizens = mine.map((v) => v.citizenId);
      // That district's Inson centre has no phone set, and no hotline is: the notice says where to go.
      expect(
        await db.prisma.outbox.count({
          where: { citizenId: { in: citizens }, templateKey: "notify.visit_late_no_contact" },
        }),
      ).toBe(6);
    } finally {
      if (second !== db) await second.close();
    }
  });

  it("lets exactly one of two admins pressing take at the same moment win", async () => {
    const v = await visit(world.mahallaId);
    await tickAt("2026-12-16T12:00");
    const admins = await Promise.all([ids.adminA, ids.adminB].map((id) => tg.core.staffVisits.findById(id)));
    const outcomes = await Promise.allSettled(
      admins.map((admin) => {
        if (!admin) throw new Error("admin missing");
        return tg.core.staffVisits.take(admin, v.reference);
      }),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === "rejected");
    expect((refused as PromiseRejectedResult).reason.code).toMatch(
      /^(VISIT_CHANGED|ESCALATION_RESOLVED|VISIT_NOT_ACTIONABLE)$/,
    );
    expect(await db.prisma.auditLog.count({ where: { action: "visit.take", entityId: v.reference } })).toBe(1);
    expect(await rowsFor({ citizenId: v.citizenId }, "notify.visit_accepted")).toHaveLength(1);
    const escalation = await db.prisma.escalation.findFirstOrThrow({
      where: { visitRequestId: v.id, kind: "escalation" },
    });
    expect(escalation.resolution).toBe("taken");
  });
});
