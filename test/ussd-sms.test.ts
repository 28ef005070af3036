import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCore } from "../app/core.js";
import { makePinfl } from "../core/domain/pinfl.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import { LOCALES } from "../core/domain/vocabulary.js";
import { parseSms } from "../ussd/sms-inbound.js";
import { startApp, type TestApp, translator } from "./ussd-support.js";

let t: TestApp;
let core: ReturnType<typeof createCore>;
let phones = 0;

beforeAll(async () => {
  t = await startApp();
  core = createCore(t.db);
});
afterAll(() => t.close());

const nextPhone = () => `+99897${String(7_000_000 + ++phones)}`;

async function citizenWithApplication(locale: Locale = "uz") {
  const phone = nextPhone();
  const citizen = await t.db.prisma.citizen.create({
    data: { phone, locale, pinfl: makePinfl(new Date(Date.UTC(1980, 1, 2)), false, 500 + phones) },
  });
  const benefit = await t.db.prisma.benefitType.findUniqueOrThrow({ where: { code: "AGE_PENSION" } });
  const reference = await core.services.applications.submit({
    citizenId: citizen.id,
    benefitTypeId: benefit.id,
    answers: { work_years: 30 },
    channel: "ussd",
    locale,
  });
  return { phone, citizen, reference };
}

let messageIds = 0;
async function inbound(from: string, text: string, id = `msg-${++messageIds}`) {
  const res = await t.app.inject({
    method: "POST",
    url: "/sms/inbound",
    payload: new URLSearchParams({
      from,
      to: "1146",
      text,
      date: "2025-04-01 10:00:00",
      id,
      linkId: `link-${id}`,
      networkCode: "63902",
    }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  expect(res.statusCode).toBe(200);
}

/** The SMS replies queued for a phone, oldest first. */
const replies = (phone: string) =>
  t.db.prisma.outbox.findMany({
    where: { recipientPhone: phone, templateKey: { startsWith: "sms." } },
    orderBy: { id: "asc" },
  });

/** The reply as it will be delivered: every placeholder filled in the reply's language. */
const rendered = (row: { locale: string; templateKey: string; params: unknown }) =>
  translator.t(row.locale as Locale, row.templateKey, row.params as Params);

describe("inbound SMS keywords", () => {
  it("are read in all three languages", () => {
    expect(parseSms("holat a-1234-5678")).toEqual({ keyword: "status", locale: "uz", argument: "a-1234-5678" });
    expect(parseSms("  ҲОЛАТ  A12345678 ")).toMatchObject({ keyword: "status", locale: "uz-Cyrl" });
    expect(parseSms("Статус А-1234-5678")).toMatchObject({ keyword: "status", locale: "ru" });
    expect(parseSms("Yordam")).toMatchObject({ keyword: "help", locale: "uz" });
    expect(parseSms("ёрдам")).toMatchObject({ keyword: "help", locale: "uz-Cyrl" });
    expect(parseSms("помощь!")).toMatchObject({ keyword: "help", locale: "ru" });
    expect(parseSms("salom qalaysiz")).toEqual({ keyword: null, locale: null, argument: "salom qalaysiz" });
  });

  it.each<[string, Locale]>([
    ["HOLAT", "uz"],
    ["ҲОЛАТ", "uz-Cyrl"],
    ["СТАТУС", "ru"],
  ])("%s <reference> answers the status of the sender's application by SMS, in that language", async (word, locale) => {
    const { phone, citizen, reference } = await citizenWithApplication("uz");
    await inbound(phone, `${word} ${reference.toLowerCase()}`);
    const [reply] = await replies(phone);
    expect(reply).toMatchObject({
      channel: "sms",
      recipientPhone: phone,
      citizenId: citizen.id,
      locale,
      templateKey: "sms.application_status",
      status: "pending",
    });
    const text = rendered(reply as NonNullable<typeof reply>);
    expect(text).toContain(reference);
    expect(text).toContain(translator.t(locale, "status.application.submitted"));
    expect(text).not.toContain("{{");
  });

  it("tells a rejection with its reason, and HOLAT alone answers the newest application", async () => {
    const { phone, reference } = await citizenWithApplication("ru");
    await core.services.applications.changeStatus({
      reference,
      status: "rejected",
      reason: "income above threshold",
      actor: "api:test",
    });
    await inbound(phone, "статус");
    const [reply] = await replies(phone);
    expect(reply?.templateKey).toBe("sms.application_status_reason");
    const text = rendered(reply as NonNullable<typeof reply>);
    expect(text).toContain(reference);
    expect(text).toContain("income above threshold");
  });

  it("answers visits and appeals by their references", async () => {
    const { phone, citizen, reference } = await citizenWithApplication("uz");
    const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { isDemo: true } });
    const reason = await t.db.prisma.visitReason.findFirstOrThrow();
    const [slot] = await core.services.visits.freeSlots(mahalla.id, new Date());
    if (!slot) throw new Error("no free slot");
    const visit = await core.services.visits.book({
      citizenId: citizen.id,
      mahallaId: mahalla.id,
      reasonId: reason.id,
      slot,
      address: "Navoiy 5",
      location: null,
      channel: "ussd",
    });
    await core.services.applications.changeStatus({ reference, status: "rejected", actor: "api:test" });
    const appeal = await core.services.appeals.file({
      citizenId: citizen.id,
      applicationReference: reference,
      reason: "Daromad noto'g'ri hisoblangan",
      channel: "ussd",
      now: new Date(),
    });
    await inbound(phone, `HOLAT ${visit}`);
    await inbound(phone, `HOLAT ${appeal}`);
    const [visitReply, appealReply] = await replies(phone);
    expect(visitReply?.templateKey).toBe("sms.visit_status");
    expect(rendered(visitReply as NonNullable<typeof visitReply>)).toContain(visit);
    expect(appealReply?.templateKey).toBe("sms.appeal_status");
    expect(rendered(appealReply as NonNullable<typeof appealReply>)).toContain(
      translator.t("uz", "sms.appeal.received"),
    );
  });

  it("never tells the status of someone else's application", async () => {
    const owner = await citizenWithApplication("uz");
    const stranger = nextPhone();
    await inbound(stranger, `HOLAT ${owner.reference}`);
    const other = await citizenWithApplication("uz");
    await inbound(other.phone, `HOLAT ${owner.reference}`);
    for (const phone of [stranger, other.phone]) {
      const [reply] = await replies(phone);
      expect(reply?.templateKey).toBe("sms.not_found");
      expect(JSON.stringify(reply?.params)).not.toContain("AGE_PENSION");
    }
    await inbound(stranger, "HOLAT 12");
    expect((await replies(stranger)).at(-1)?.templateKey).toBe("sms.bad_reference");
  });

  it.each<[string, Locale]>([
    ["YORDAM", "uz"],
    ["ЁРДАМ", "uz-Cyrl"],
    ["ПОМОЩЬ", "ru"],
  ])("%s answers the help text in that language", async (word, locale) => {
    const phone = nextPhone();
    await inbound(phone, word);
    const [reply] = await replies(phone);
    // No contact data is set on a fresh installation: the answer says where to go, with no number.
    expect(reply).toMatchObject({ templateKey: "sms.help", locale, citizenId: null });
    expect(rendered(reply as NonNullable<typeof reply>)).not.toMatch(/1146/);
  });

  it("answers anything else with a short help text", async () => {
    const phone = nextPhone();
    await inbound(phone, "Assalomu alaykum, pensiya qachon?");
    const [reply] = await replies(phone);
    expect(reply?.templateKey).toBe("sms.unknown");
    for (const locale of LOCALES) {
      expect(translator.t(locale, "sms.unknown", reply?.params as Params).length).toBeLessThanOrEqual(160);
    }
  });

  it("answers a redelivered message once", async () => {
    const phone = nextPhone();
    await inbound(phone, "YORDAM", "same-id");
    await inbound(phone, "YORDAM", "same-id");
    expect(await replies(phone)).toHaveLength(1);
  });

  it("stops answering a number that writes too often", async () => {
    const phone = nextPhone();
    for (let i = 0; i < 8; i++) await inbound(phone, "YORDAM");
    expect(await replies(phone)).toHaveLength(5);
  });

  it("does not answer foreign numbers, and refuses a message without a sender", async () => {
    await inbound("+254711082000", "HELP");
    expect(await t.db.prisma.outbox.count({ where: { recipientPhone: { contains: "254711082000" } } })).toBe(0);
    const res = await t.app.inject({
      method: "POST",
      url: "/sms/inbound",
      payload: new URLSearchParams({ text: "HOLAT" }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.statusCode).toBe(400);
  });
});
