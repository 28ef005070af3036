import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearerToken, matchToken, secretsEqual } from "../app/api/auth.js";
import { loadConfig } from "../app/config.js";
import { createAppCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { StaffVisitService } from "../core/services/staff-visits.js";
import { apiApp, auth, makeApplication, makeCitizen, nextPhone, OTHER_TOKEN, TOKEN } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let db: TestDatabase;
let app: FastifyInstance;
const now = new Date("2025-03-10T09:00:00Z");
const clock = () => now;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  app = await apiApp(db.prisma, { clock });
});
afterAll(async () => {
  await app?.close();
  await db?.close();
});

const get = (url: string, headers: Record<string, string> = auth) => app.inject({ method: "GET", url, headers });
const send = (method: "POST" | "PATCH", url: string, payload?: object, headers: Record<string, string> = auth) =>
  app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });

describe("bearer authentication", () => {
  it("compares secrets in constant time whatever their lengths", () => {
    expect(secretsEqual("same-secret", "same-secret")).toBe(true);
    expect(secretsEqual("same-secret", "same-secreT")).toBe(false);
    // timingSafeEqual throws on buffers of different lengths; hashing first makes them equal.
    expect(secretsEqual("short", "a much longer secret than the other one")).toBe(false);
    expect(secretsEqual("", "x")).toBe(false);
  });

  it("finds the token a secret belongs to, and none for anything else", () => {
    const tokens = [
      { name: "a", token: "aaaaaaaaaaaaaaaaaaaa" },
      { name: "b", token: "bbbbbbbbbbbbbbbbbbbb" },
    ];
    expect(matchToken(tokens, "bbbbbbbbbbbbbbbbbbbb")?.name).toBe("b");
    expect(matchToken(tokens, "aaaaaaaaaaaaaaaaaaa")).toBeNull();
    expect(matchToken([], "anything")).toBeNull();
    expect(bearerToken("Bearer abc.def")).toBe("abc.def");
    expect(bearerToken("bearer   abc")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeNull();
    expect(bearerToken("Bearer a b")).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });

  it("answers 401 with the same generic body without a token, with a wrong one, or another scheme", async () => {
    const answers = await Promise.all([
      get("/api/v1/regions", {}),
      get("/api/v1/regions", { authorization: "Bearer wrong-token-0123456789" }),
      get("/api/v1/regions", { authorization: `Bearer ${TOKEN}x` }),
      get("/api/v1/regions", { authorization: `Basic ${TOKEN}` }),
      get("/api/v1/no-such-route", {}),
    ]);
    for (const res of answers) {
      expect(res.statusCode).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(res.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "a valid bearer token is required" } });
    }
  });

  it("lets a configured token in and names it as the actor in the audit log", async () => {
    expect((await get("/api/v1/regions")).statusCode).toBe(200);
    const res = await send(
      "POST",
      "/api/v1/staff",
      { fullName: "Dilnoza Karimova", phone: nextPhone(), role: "social_worker", districtCode: "1726294" },
      { authorization: `Bearer ${OTHER_TOKEN}` },
    );
    expect(res.statusCode).toBe(201);
    const entry = await db.prisma.auditLog.findFirstOrThrow({
      where: { action: "staff.create", entityId: String(res.json().staff.id) },
    });
    expect(entry.actor).toBe("api:reporting");
  });
});

describe("reference data", () => {
  it("lists the 14 regions with their names in three languages", async () => {
    const res = await get("/api/v1/regions");
    expect(res.statusCode).toBe(200);
    const regions = res.json();
    expect(regions).toHaveLength(14);
    expect(regions.find((r: { code: string }) => r.code === "1726").names.ru).toMatch(/Ташкент/);
  });

  it("filters districts by region code or id", async () => {
    const byCode = (await get("/api/v1/districts?regionCode=1726")).json();
    expect(byCode.map((d: { code: string }) => d.code)).toContain("1726294");
    expect(byCode.every((d: { regionCode: string }) => d.regionCode === "1726")).toBe(true);
    const region = await db.prisma.region.findUniqueOrThrow({ where: { code: "1726" } });
    expect((await get(`/api/v1/districts?regionId=${region.id}`)).json()).toHaveLength(byCode.length);
  });

  it("lists a district's mahallas and finds them by part of a name, however the apostrophe is typed", async () => {
    const all = (await get("/api/v1/mahallas?districtCode=1726266&limit=200")).json();
    expect(all.total).toBeGreaterThan(3);
    expect(all.items.every((m: { districtCode: string }) => m.districtCode === "1726266")).toBe(true);
    const first = all.items[0];
    const part = first.names.uz.slice(0, 4);
    const found = (await get(`/api/v1/mahallas?districtCode=1726266&q=${encodeURIComponent(part)}`)).json();
    expect(found.items.map((m: { code: string }) => m.code)).toContain(first.code);
    const page = (await get("/api/v1/mahallas?districtCode=1726266&limit=2&offset=2")).json();
    expect(page.items).toHaveLength(2);
    expect(page.items[0].code).toBe(all.items[2].code);
  });
});

describe("validation", () => {
  it("refuses a body that breaks the schema with 400 VALIDATION_FAILED and where", async () => {
    const res = await send("POST", "/api/v1/staff", { fullName: "X", role: "boss" });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.length).toBeGreaterThan(0);
    expect(body.error.details[0].path).toMatch(/^body/);
  });

  it("refuses values the domain does not know with their own codes", async () => {
    const badPhone = await send("POST", "/api/v1/staff", {
      fullName: "Aziz Rahimov",
      phone: "+7 912 345 67 89",
      role: "social_worker",
      districtCode: "1726294",
    });
    expect(badPhone.statusCode).toBe(400);
    expect(badPhone.json().error).toMatchObject({ code: "INVALID_PHONE", field: "phone" });
    const badDistrict = await send("POST", "/api/v1/staff", {
      fullName: "Aziz Rahimov",
      phone: nextPhone(),
      role: "social_worker",
      districtCode: "9999999",
    });
    expect(badDistrict.statusCode).toBe(400);
    expect(badDistrict.json().error.code).toBe("UNKNOWN_DISTRICT");
  });

  it("checks query strings too", async () => {
    const res = await get("/api/v1/applications?status=lost&limit=5000");
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("VALIDATION_FAILED");
  });

  it("answers unknown endpoints with 404 NOT_FOUND", async () => {
    const res = await get("/api/v1/nothing-here");
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("NOT_FOUND");
  });

  it("refuses malformed JSON and unsupported media types with stable codes", async () => {
    const broken = await app.inject({
      method: "POST",
      url: "/api/v1/staff",
      headers: { ...auth, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe("INVALID_JSON");
    const xml = await app.inject({
      method: "POST",
      url: "/api/v1/payments/import",
      headers: { ...auth, "content-type": "application/xml" },
      payload: "<payments/>",
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("staff", () => {
  it("creates a worker with a one-time code stored only as its SHA-256, valid 72 hours", async () => {
    const phone = nextPhone();
    const res = await send("POST", "/api/v1/staff", {
      fullName: "Malika Yusupova",
      phone: phone.replace("+998", "8"),
      role: "social_worker",
      districtCode: "1726266",
      mahallaCodes: ["1726266-001", "1726266-002"],
      locale: "uz-Cyrl",
    });
    expect(res.statusCode).toBe(201);
    const { staff, invite } = res.json();
    expect(staff).toMatchObject({
      phone,
      role: "social_worker",
      active: true,
      telegramLinked: false,
      locale: "uz-Cyrl",
    });
    expect(staff.mahallaCodes).toEqual(["1726266-001", "1726266-002"]);
    expect(invite.code).toMatch(/^[A-Z2-9]{10}$/);
    expect(invite.startCommand).toBe(`/start ${invite.code}`);
    expect(new Date(invite.expiresAt).getTime() - now.getTime()).toBe(72 * 3_600_000);
    const stored = await db.prisma.staffInvite.findMany({ where: { staffId: staff.id } });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.codeHash).toBe(createHash("sha256").update(invite.code).digest("hex"));
    const audit = JSON.stringify(
      await db.prisma.auditLog.findMany({ where: { entity: { in: ["Staff", "StaffInvite"] } } }),
    );
    expect(audit).not.toContain(invite.code);
  });

  it("refuses a second staff member with the same phone (409) and mahallas of another district (400)", async () => {
    const phone = nextPhone();
    const body = { fullName: "Sardor Aliyev", phone, role: "social_worker", districtCode: "1726294" };
    expect((await send("POST", "/api/v1/staff", body)).statusCode).toBe(201);
    const again = await send("POST", "/api/v1/staff", body);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("STAFF_EXISTS");
    const foreign = await send("POST", "/api/v1/staff", { ...body, phone: nextPhone(), mahallaCodes: ["1726266-001"] });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().error.code).toBe("MAHALLA_OUTSIDE_DISTRICT");
  });

  it("issues a new code that replaces the old one, and the bot accepts it once", async () => {
    const created = (
      await send("POST", "/api/v1/staff", {
        fullName: "Olim Tursunov",
        phone: nextPhone(),
        role: "district_admin",
        districtCode: "1726294",
      })
    ).json();
    const res = await send("POST", `/api/v1/staff/${created.staff.id}/invites`);
    expect(res.statusCode).toBe(201);
    const fresh = res.json();
    expect(fresh.code).not.toBe(created.invite.code);
    const bot = new StaffVisitService(db.prisma, { clock, sql: db.sql });
    expect(await bot.linkTelegram(created.invite.code, { userId: 501n, chatId: 501n })).toMatchObject({ ok: false });
    expect(await bot.linkTelegram(fresh.code, { userId: 501n, chatId: 501n })).toMatchObject({ ok: true });
    expect(await bot.linkTelegram(fresh.code, { userId: 502n, chatId: 502n })).toMatchObject({
      ok: false,
      reason: "used",
    });
    const listed = (await get("/api/v1/staff?districtCode=1726294&role=district_admin")).json();
    expect(listed.find((s: { id: number }) => s.id === created.staff.id).telegramLinked).toBe(true);
  });

  it("deactivates a worker: unused codes stop working and no new code is issued", async () => {
    const created = (
      await send("POST", "/api/v1/staff", {
        fullName: "Nodira Ergasheva",
        phone: nextPhone(),
        role: "social_worker",
        districtCode: "1726294",
      })
    ).json();
    const res = await send("POST", `/api/v1/staff/${created.staff.id}/deactivate`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ active: false, pendingInviteExpiresAt: null });
    expect((await send("POST", `/api/v1/staff/${created.staff.id}/deactivate`)).statusCode).toBe(200);
    const invite = await send("POST", `/api/v1/staff/${created.staff.id}/invites`);
    expect(invite.statusCode).toBe(409);
    expect(invite.json().error.code).toBe("STAFF_INACTIVE");
    const bot = new StaffVisitService(db.prisma, { clock, sql: db.sql });
    expect(await bot.linkTelegram(created.invite.code, { userId: 601n, chatId: 601n })).toMatchObject({ ok: false });
    expect(
      await db.prisma.auditLog.count({ where: { action: "staff.deactivate", entityId: String(created.staff.id) } }),
    ).toBe(1);
    expect((await send("POST", "/api/v1/staff/999999/deactivate")).statusCode).toBe(404);
  });
});

describe("applications", () => {
  it("lists with filters by status, benefit, district and date range, newest first", async () => {
    const inChilonzor = await makeCitizen(db.prisma, { mahallaCode: "1726294-001" });
    const elsewhere = await makeCitizen(db.prisma, { mahallaCode: "1726266-001" });
    const a = await makeApplication(
      db.prisma,
      inChilonzor.id,
      "under_review",
      "AGE_PENSION",
      new Date("2025-02-01T08:00:00Z"),
    );
    const b = await makeApplication(
      db.prisma,
      inChilonzor.id,
      "submitted",
      "AGE_PENSION",
      new Date("2025-02-03T08:00:00Z"),
    );
    await makeApplication(db.prisma, elsewhere.id, "submitted", "AGE_PENSION", new Date("2025-02-02T08:00:00Z"));
    const res = await get("/api/v1/applications?benefit=AGE_PENSION&district=1726294");
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((i: { reference: string }) => i.reference)).toEqual([b.reference, a.reference]);
    const reviewed = (await get("/api/v1/applications?benefit=AGE_PENSION&status=under_review")).json();
    expect(reviewed.items.map((i: { reference: string }) => i.reference)).toEqual([a.reference]);
    const dated = (await get("/api/v1/applications?benefit=AGE_PENSION&from=2025-02-02&to=2025-02-02")).json();
    expect(dated.total).toBe(1);
    expect(dated.items[0].citizen.districtCode).toBe("1726266");
  });

  it("reads one application by its reference, typed any way; an unknown one is 404", async () => {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id);
    const typed = application.reference.replaceAll("-", "").toLowerCase();
    const res = await get(`/api/v1/applications/${typed}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      reference: application.reference,
      answers: { children: 2 },
      status: "submitted",
    });
    expect(res.json().history).toHaveLength(1);
    const missing = await get("/api/v1/applications/A-0000-0000");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("NOT_FOUND");
  });

  it("moves an application on, records who did it, and notifies the citizen", async () => {
    const citizen = await makeCitizen(db.prisma, { locale: "ru" });
    const application = await makeApplication(db.prisma, citizen.id);
    const res = await send("PATCH", `/api/v1/applications/${application.reference}`, {
      status: "rejected",
      reason: "Daromad mezoni bajarilmagan",
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: "rejected", statusReason: "Daromad mezoni bajarilmagan" });
    expect(body.history.at(-1)).toMatchObject({
      fromStatus: "submitted",
      toStatus: "rejected",
      actor: "api:backoffice",
    });
    const outbox = await db.prisma.outbox.findMany({ where: { citizenId: citizen.id } });
    // The decision, then (issue 15) the question how it went, both in the citizen's language.
    expect(outbox.map((o) => o.templateKey)).toEqual(["notify.application_rejected_reason", "notify.feedback_ask_sms"]);
    expect(outbox.map((o) => o.locale)).toEqual(["ru", "ru"]);
    const audit = await db.prisma.auditLog.findFirstOrThrow({
      where: { action: "application.status", entityId: application.reference },
    });
    expect(audit).toMatchObject({
      actor: "api:backoffice",
      before: { status: "submitted" },
      after: { status: "rejected" },
    });
  });

  it("refuses an illegal transition with 409 ILLEGAL_TRANSITION and changes nothing", async () => {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id, "paid");
    const res = await send("PATCH", `/api/v1/applications/${application.reference}`, { status: "submitted" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: "ILLEGAL_TRANSITION", from: "paid", to: "submitted" });
    const after = await db.prisma.application.findUniqueOrThrow({ where: { id: application.id } });
    expect(after.status).toBe("paid");
    expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(0);
  });

  it("answers a repeated change with 200 and notifies no one twice", async () => {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id);
    const change = { status: "under_review" };
    expect((await send("PATCH", `/api/v1/applications/${application.reference}`, change)).statusCode).toBe(200);
    const again = await send("PATCH", `/api/v1/applications/${application.reference}`, change);
    expect(again.statusCode).toBe(200);
    expect(again.json().history).toHaveLength(2);
    expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(1);
  });

  it("refuses an unknown status value with 400", async () => {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id);
    const res = await send("PATCH", `/api/v1/applications/${application.reference}`, { status: "lost" });
    expect(res.statusCode).toBe(400);
  });
});

describe("visit requests", () => {
  it("filters by district, mahalla, status and visit day", async () => {
    const citizen = await makeCitizen(db.prisma, { mahallaCode: "1726294-002" });
    const reason = await db.prisma.visitReason.findFirstOrThrow();
    const mahallas = await db.prisma.mahalla.findMany({ where: { code: { in: ["1726294-002", "1726266-003"] } } });
    const [m1, m2] = [mahallas.find((m) => m.code === "1726294-002"), mahallas.find((m) => m.code === "1726266-003")];
    const visit = (code: string, mahallaId: number, status: string, day: string) =>
      db.prisma.visitRequest.create({
        data: {
          reference: code,
          citizenId: citizen.id,
          mahallaId,
          reasonId: reason.id,
          slotDate: new Date(`${day}T00:00:00Z`),
          slotPart: "morning",
          status,
          channel: "ussd",
        },
      });
    await visit("V-1000-0001", m1!.id, "requested", "2025-03-11");
    await visit("V-1000-0002", m1!.id, "done", "2025-03-12");
    await visit("V-1000-0003", m2!.id, "requested", "2025-03-11");
    const byDistrict = (await get("/api/v1/visit-requests?district=1726294")).json();
    expect(byDistrict.items.map((v: { reference: string }) => v.reference)).toEqual(["V-1000-0002", "V-1000-0001"]);
    const requested = (await get("/api/v1/visit-requests?status=requested&from=2025-03-11&to=2025-03-11")).json();
    expect(requested.items.map((v: { reference: string }) => v.reference).sort()).toEqual([
      "V-1000-0001",
      "V-1000-0003",
    ]);
    const byMahalla = (await get("/api/v1/visit-requests?mahalla=1726266-003")).json();
    expect(byMahalla.items).toHaveLength(1);
    expect(byMahalla.items[0]).toMatchObject({ slotDate: "2025-03-11", districtCode: "1726266", assignedStaff: null });
  });
});

describe("notifications", () => {
  it("lists a number's notifications newest first with status and text in the recipient's language", async () => {
    const phone = nextPhone();
    const citizen = await makeCitizen(db.prisma, { phone, locale: "uz" });
    const base = { channel: "sms", recipientPhone: phone, citizenId: citizen.id, locale: "uz" };
    await db.prisma.outbox.create({
      data: {
        ...base,
        templateKey: "notify.visit_done",
        params: { reference: "V-1234-5678" },
        status: "delivered",
        providerMessageId: "ATXid_1",
        createdAt: new Date("2025-03-01T10:00:00Z"),
      },
    });
    await db.prisma.outbox.create({
      data: {
        ...base,
        templateKey: "notify.visit_cancelled",
        params: { reference: "V-1234-5679" },
        status: "dead",
        lastError: "AT_403: InvalidPhoneNumber",
        createdAt: new Date("2025-03-02T10:00:00Z"),
      },
    });
    const spaced = `${phone.slice(4, 6)} ${phone.slice(6, 9)} ${phone.slice(9)}`;
    const res = await get(`/api/v1/notifications?phone=${encodeURIComponent(spaced)}`);
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(items.map((i: { status: string }) => i.status)).toEqual(["dead", "delivered"]);
    expect(items[1].text).toContain("V-1234-5678");
    expect(items[0].lastError).toBe("AT_403: InvalidPhoneNumber");
    const bad = await get(`/api/v1/notifications?phone=${encodeURIComponent("+7 912 345 67 89")}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("INVALID_PHONE");
  });

  it("shows dead letters and puts one back in line on request", async () => {
    const row = await db.prisma.outbox.create({
      data: {
        channel: "sms",
        recipientPhone: nextPhone(),
        locale: "uz",
        templateKey: "notify.visit_done",
        params: { reference: "V-2222-2222" },
        status: "dead",
        attempts: 10,
        lastError: "AT_500",
      },
    });
    const dead = (await get("/api/v1/notifications/dead?limit=200")).json();
    expect(dead.items.map((i: { id: number }) => i.id)).toContain(row.id);
    const retry = await send("POST", `/api/v1/notifications/${row.id}/retry`);
    expect(retry.statusCode).toBe(202);
    const after = await db.prisma.outbox.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: "pending", attempts: 0 });
    const again = await send("POST", `/api/v1/notifications/${row.id}/retry`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("NOT_RETRYABLE");
    expect(await db.prisma.auditLog.count({ where: { action: "notification.retry", entityId: String(row.id) } })).toBe(
      1,
    );
  });
});

describe("OpenAPI document", () => {
  type Operation = {
    parameters?: { in: string; name: string; schema?: object }[];
    requestBody?: { content: Record<string, { schema?: object }> };
    responses: Record<string, { content?: Record<string, { schema?: object }> }>;
    security?: unknown[];
  };

  it("is served at /docs/json without a token and documents every route with its schemas", async () => {
    const res = await app.inject({ method: "GET", url: "/docs/json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: "http", scheme: "bearer" });
    const expected: [string, string][] = [
      ["get", "/api/v1/regions"],
      ["get", "/api/v1/districts"],
      ["get", "/api/v1/mahallas"],
      ["post", "/api/v1/mahallas/import"],
      ["post", "/api/v1/staff"],
      ["get", "/api/v1/staff"],
      ["get", "/api/v1/staff/{id}"],
      ["post", "/api/v1/staff/{id}/deactivate"],
      ["post", "/api/v1/staff/{id}/invites"],
      ["post", "/api/v1/beneficiaries/import"],
      ["post", "/api/v1/payments/import"],
      ["get", "/api/v1/applications"],
      ["get", "/api/v1/applications/{reference}"],
      ["patch", "/api/v1/applications/{reference}"],
      ["get", "/api/v1/visit-requests"],
      ["get", "/api/v1/notifications"],
      ["get", "/api/v1/notifications/dead"],
      ["post", "/api/v1/notifications/{id}/retry"],
      ["post", "/sms/delivery"],
    ];
    for (const [method, path] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(doc.paths["/docs/json"]).toBeUndefined();

    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        const success = Object.entries(op.responses).filter(([code]) => code.startsWith("2"));
        expect(success.length, where).toBeGreaterThan(0);
        for (const [, response] of success) expect(response.content?.["application/json"]?.schema, where).toBeDefined();
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          const param = op.parameters?.find((p) => p.in === "path" && `{${p.name}}` === name);
          expect(param?.schema, `${where} ${name}`).toBeDefined();
        }
        if (method === "post" || method === "patch") {
          const hasBody =
            path.endsWith("/import") || ["/api/v1/staff", "/sms/delivery"].includes(path) || method === "patch";
          if (hasBody) {
            expect(Object.keys(op.requestBody?.content ?? {}).length, where).toBeGreaterThan(0);
            for (const media of Object.values(op.requestBody?.content ?? {})) expect(media.schema, where).toBeDefined();
          }
        }
        if (path.startsWith("/api/v1/")) {
          expect(op.responses["401"]?.content?.["application/json"]?.schema, where).toBeDefined();
        } else {
          expect(op.security, where).toEqual([]);
        }
      }
    }
    expect(Object.keys(doc.paths["/sms/delivery"].post.requestBody.content)).toEqual([
      "application/x-www-form-urlencoded",
    ]);
    const imports = doc.paths["/api/v1/payments/import"].post.requestBody.content;
    expect(Object.keys(imports).sort()).toEqual(["application/json", "text/csv"]);
    // Every schema is plain JSON Schema: no unresolved references.
    expect(JSON.stringify(doc)).not.toMatch(/"\$ref":"(?!#\/components\/)/);
  });
});

describe("app/server.ts", () => {
  it("mounts the API and the OpenAPI document on the application server", async () => {
    const config = loadConfig({ NODE_ENV: "test", API_TOKENS: `backoffice:${TOKEN}`, LOG_LEVEL: "silent" });
    const server = await buildServer({ config, db, logger: createLogger("silent"), core: createAppCore(config, db) });
    try {
      expect((await server.inject({ method: "GET", url: "/docs/json" })).statusCode).toBe(200);
      expect((await server.inject({ method: "GET", url: "/api/v1/regions", headers: auth })).statusCode).toBe(200);
      expect((await server.inject({ method: "GET", url: "/api/v1/regions" })).statusCode).toBe(401);
    } finally {
      await server.close();
    }
  });
});
