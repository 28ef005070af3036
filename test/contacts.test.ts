import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCore } from "../app/core.js";
import type { Channel } from "../core/domain/vocabulary.js";
import type { Screen } from "../core/engine/types.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { SmsInbound } from "../ussd/sms-inbound.js";
import { apiApp, auth, makeCitizen, nextPhone } from "./support/backoffice.js";
import { Conversation, screenText } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let db: TestDatabase;
let app: FastifyInstance;
let mahallaCode: string;

const DISTRICT = "1727259";

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  app = await apiApp(db.prisma);
  mahallaCode = (
    await db.prisma.mahalla.findFirstOrThrow({ where: { district: { code: DISTRICT } }, orderBy: { code: "asc" } })
  ).code;
});
afterAll(async () => {
  await app.close();
  await db.close();
});

const put = (url: string, payload: object, headers: Record<string, string> = auth) =>
  app.inject({ method: "PUT", url, payload, headers });
const keys = (screen: Screen) => screen.body.map((t) => ("key" in t ? t.key : "names"));

async function helpScreen(locale: string, channel: Channel, withMahalla = true) {
  const citizen = await makeCitizen(db.prisma, { locale, ...(withMahalla ? { mahallaCode } : {}) });
  const c = new Conversation(db, { phone: citizen.phone }, channel);
  await c.start("7");
  return c;
}

async function clearAll() {
  expect((await put("/api/v1/contacts", { hotline: null, ussdCode: null })).statusCode).toBe(200);
  expect((await put(`/api/v1/districts/${DISTRICT}/inson-centre`, { phone: null, address: null })).statusCode).toBe(
    200,
  );
}

describe("the seed", () => {
  it("is not seeded: a fresh installation has no hotline, no USSD code and no Inson centre phone", async () => {
    expect(await db.prisma.district.count({ where: { NOT: { insonPhone: null } } })).toBe(0);
    const res = await app.inject({ method: "GET", url: "/api/v1/contacts", headers: auth });
    expect(res.json()).toEqual({ hotline: null, ussdCode: null, updatedAt: null });
  });
});

describe("contact data shown to citizens", () => {
  beforeEach(clearAll);

  it("shows the hotline and the Inson centre's phone and address once the agency sets them, and where to go once cleared", async () => {
    const address = {
      uz: "Yangiyoʻl shahri, Samarqand koʻchasi 12",
      "uz-Cyrl": "Янгийўл шаҳри, Самарқанд кўчаси 12",
      ru: "г. Янгиюль, ул. Самарканд, 12",
    };
    const centre = await put(`/api/v1/districts/${DISTRICT}/inson-centre`, { phone: "71 234 56 78", address });
    expect(centre.statusCode).toBe(200);
    expect(centre.json()).toMatchObject({ districtCode: DISTRICT, phone: "+998712345678", address });
    const contacts = await put("/api/v1/contacts", { hotline: "1148", ussdCode: "*1146#" });
    expect(contacts.statusCode).toBe(200);
    expect(contacts.json()).toMatchObject({ hotline: "1148", ussdCode: "*1146#" });

    const onTelegram = await helpScreen("ru", "telegram");
    expect(keys(onTelegram.screen)).toEqual([
      "help.title",
      "help.inson_centre",
      "help.inson_address",
      "help.hotline_line",
      "help.ussd_code",
    ]);
    const text = screenText(onTelegram.screen, "ru");
    expect(text).toContain("+998 71 234 56 78");
    expect(text).toContain(address.ru);
    expect(text).toContain("Телефон доверия: 1148");
    expect(text).toContain("*1146#");
    // The USSD code is what one dials, never the number of a phone line.
    expect(text).not.toMatch(/Телефон доверия[^\n]*1146/);

    // On USSD the caller has just dialled the code: it is not repeated.
    const onUssd = await helpScreen("uz", "ussd");
    expect(keys(onUssd.screen)).toEqual(["help.title", "help.inson_centre", "help.inson_address", "help.hotline_line"]);

    await clearAll();
    const cleared = await helpScreen("uz-Cyrl", "telegram");
    expect(keys(cleared.screen)).toEqual(["help.title", "help.inson_go"]);
    expect(screenText(cleared.screen, "uz-Cyrl")).not.toMatch(/\d{3}/);
  });

  it("refuses a hotline that is the USSD code's own number, a malformed code or phone, and an unknown district", async () => {
    await put("/api/v1/contacts", { ussdCode: "*1146#" });
    const same = await put("/api/v1/contacts", { hotline: "1146" });
    expect(same.statusCode).toBe(400);
    expect(same.json().error.code).toBe("HOTLINE_IS_USSD_CODE");
    expect((await put("/api/v1/contacts", { ussdCode: "1146" })).json().error.code).toBe("INVALID_USSD_CODE");
    expect((await put("/api/v1/contacts", { hotline: "call us" })).json().error.code).toBe("INVALID_HOTLINE");
    expect((await put("/api/v1/contacts", {})).statusCode).toBe(400);
    const badPhone = await put(`/api/v1/districts/${DISTRICT}/inson-centre`, { phone: "+7 495 000", address: null });
    expect(badPhone.json().error.code).toBe("INVALID_PHONE");
    const unknown = await put("/api/v1/districts/0000000/inson-centre", { phone: null, address: null });
    expect(unknown.statusCode).toBe(404);
    expect((await put("/api/v1/contacts", { hotline: "1148" }, {})).statusCode).toBe(401);
    const stored = await app.inject({ method: "GET", url: "/api/v1/contacts", headers: auth });
    expect(stored.json()).toMatchObject({ hotline: null, ussdCode: "*1146#" });
  });

  it("audits every change with what it replaced, also when many arrive at once", async () => {
    const before = await db.prisma.auditLog.count({ where: { action: "contacts.update" } });
    const values = Array.from({ length: 20 }, (_, i) => `+99871200${String(i).padStart(4, "0")}`);
    const answers = await Promise.all(values.map((hotline) => put("/api/v1/contacts", { hotline })));
    expect(answers.map((a) => a.statusCode)).toEqual(values.map(() => 200));
    const rows = await db.prisma.auditLog.findMany({
      where: { action: "contacts.update" },
      orderBy: { id: "asc" },
      skip: before,
    });
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.actor === "api:backoffice")).toBe(true);
    // The row is locked while it is read: each entry replaced exactly the value the previous one set.
    const hotlines = rows.map((r) => ({
      before: (r.before as { hotline: string | null }).hotline,
      after: (r.after as { hotline: string }).hotline,
    }));
    for (const [i, entry] of hotlines.entries()) if (i > 0) expect(entry.before).toBe(hotlines[i - 1]?.after);
    const last = rows.at(-1)?.after as { hotline: string };
    expect((await db.prisma.serviceContact.findUniqueOrThrow({ where: { id: 1 } })).hotline).toBe(last.hotline);
  });

  it("answers SMS help with the USSD code to dial and the hotline to call, only once they are set", async () => {
    const core = createCore(db);
    const sms = new SmsInbound(db.prisma, core.services);
    const replyTo = async (phone: string) =>
      db.prisma.outbox.findFirstOrThrow({ where: { recipientPhone: phone }, orderBy: { id: "desc" } });
    const first = nextPhone();
    await sms.handle({ from: first, text: "YORDAM" });
    expect(await replyTo(first)).toMatchObject({ templateKey: "sms.help", params: {} });

    await put("/api/v1/contacts", { hotline: "1148", ussdCode: "*1146#" });
    const second = nextPhone();
    await sms.handle({ from: second, text: "ПОМОЩЬ" });
    expect(await replyTo(second)).toMatchObject({
      templateKey: "sms.help_code_hotline",
      params: { code: "*1146#", hotline: "1148" },
    });
  });
});

describe("benefit types: start dates on the social card", () => {
  it("are set through the API, change what applicants are offered, and survive a re-seed", async () => {
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const res = await put("/api/v1/benefit-types/MATERNITY_ALLOWANCE", { availableFrom: future });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ code: "MATERNITY_ALLOWANCE", availableFrom: future, active: true });
    const offered = async () => {
      const citizen = await makeCitizen(db.prisma, { mahallaCode });
      const c = new Conversation(db, { phone: citizen.phone }, "telegram");
      await c.start("1");
      return c.screen.options.map((o) => o.key);
    };
    expect(await offered()).not.toContain("MATERNITY_ALLOWANCE");

    await seedReferenceData(db.prisma);
    const listed = await app.inject({ method: "GET", url: "/api/v1/benefit-types", headers: auth });
    expect(listed.json().find((b: { code: string }) => b.code === "MATERNITY_ALLOWANCE").availableFrom).toBe(future);

    expect((await put("/api/v1/benefit-types/MATERNITY_ALLOWANCE", { availableFrom: "2025-04-01" })).statusCode).toBe(
      200,
    );
    expect(await offered()).toContain("MATERNITY_ALLOWANCE");
    const audit = await db.prisma.auditLog.findFirstOrThrow({
      where: { action: "benefit_type.update", entityId: "MATERNITY_ALLOWANCE" },
      orderBy: { id: "desc" },
    });
    expect(audit.before).toMatchObject({ availableFrom: future });
    expect(audit.after).toMatchObject({ availableFrom: "2025-04-01" });

    expect((await put("/api/v1/benefit-types/NO_SUCH_TYPE", { active: false })).statusCode).toBe(404);
    expect((await put("/api/v1/benefit-types/MATERNITY_ALLOWANCE", { availableFrom: "2025-02-30" })).statusCode).toBe(
      400,
    );
    expect((await put("/api/v1/benefit-types/MATERNITY_ALLOWANCE", { availableFrom: "soon" })).statusCode).toBe(400);
  });
});

describe("the OpenAPI document", () => {
  it("describes the contact routes", async () => {
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json() as { paths: Record<string, object> };
    for (const path of ["/api/v1/contacts", "/api/v1/districts/{code}/inson-centre", "/api/v1/benefit-types/{code}"]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});
