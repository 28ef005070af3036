import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../app/config.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import { PermanentSendError, TransientSendError } from "../core/notifications/senders.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { AfricasTalkingSms, defaultAtApiRoot } from "../ussd/sms-sender.js";
import { AtDouble } from "./support/at-double.js";
import { apiApp, auth, makeCitizen } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const credentials = { username: "mahalla", apiKey: "at-test-key-123", senderId: "MAHALLA" };

describe("Africa's Talking SMS sender", () => {
  let at: AtDouble;
  beforeAll(async () => {
    at = await new AtDouble().start();
  });
  afterAll(() => at?.stop());
  beforeEach(() => {
    at.requests.length = 0;
    at.script = [];
  });

  it("posts the documented form to /version1/messaging with the apiKey header", async () => {
    const sms = new AfricasTalkingSms({ ...credentials, apiRoot: at.url });
    const accepted = await sms.send({ to: "+998901234567", text: "Kartangizga 450 000 so'm tushdi" });
    expect(accepted).toEqual({ providerMessageId: "ATXid_double_1", status: "sent" });
    expect(at.requests).toHaveLength(1);
    const request = at.requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/version1/messaging");
    expect(request.headers.apikey).toBe("at-test-key-123");
    expect(request.headers.accept).toBe("application/json");
    expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request.form).toEqual({
      username: "mahalla",
      to: "+998901234567",
      message: "Kartangizga 450 000 so'm tushdi",
      from: "MAHALLA",
    });
  });

  it("leaves `from` out without a sender id, and uses the sandbox for the sandbox username", async () => {
    await new AfricasTalkingSms({ username: "sandbox", apiKey: "k", apiRoot: at.url }).send({
      to: "+998901234567",
      text: "x",
    });
    expect(at.requests[0]?.form).not.toHaveProperty("from");
    expect(defaultAtApiRoot("sandbox")).toBe("https://api.sandbox.africastalking.com");
    expect(defaultAtApiRoot("mahalla")).toBe("https://api.africastalking.com");
    expect(new AfricasTalkingSms({ username: "sandbox", apiKey: "k" }).endpoint).toBe(
      "https://api.sandbox.africastalking.com/version1/messaging",
    );
  });

  it("tells errors worth retrying from permanent ones", async () => {
    const sms = new AfricasTalkingSms({ ...credentials, apiRoot: at.url });
    const outcome = async () => {
      try {
        await sms.send({ to: "+998901234567", text: "x" });
        return "sent";
      } catch (err) {
        const e = err as TransientSendError | PermanentSendError;
        return `${err instanceof PermanentSendError ? "permanent" : err instanceof TransientSendError ? "transient" : "other"}:${e.code}`;
      }
    };
    const cases: [AtDouble["script"][number], string][] = [
      [{ status: 500, body: "Internal Server Error" }, "transient:AT_HTTP_500"],
      [{ status: 401, body: "The supplied authentication is invalid" }, "transient:AT_AUTH"],
      [{ status: 429, body: "slow down" }, "transient:AT_HTTP_429"],
      [{ status: 400, body: "Invalid message" }, "permanent:AT_HTTP_400"],
      [{ status: 201, body: "<html>not json</html>" }, "transient:AT_BAD_RESPONSE"],
      [
        { status: 201, body: { SMSMessageData: { Message: "InvalidSenderId", Recipients: [] } } },
        "transient:AT_NOT_SENT",
      ],
      [AtDouble.recipientStatus(403, "InvalidPhoneNumber"), "permanent:AT_403"],
      [AtDouble.recipientStatus(406, "UserInBlacklist"), "permanent:AT_406"],
      [AtDouble.recipientStatus(405, "InsufficientBalance"), "transient:AT_405"],
      [AtDouble.recipientStatus(500, "InternalServerError"), "transient:AT_500"],
    ];
    at.script = cases.map(([reply]) => reply);
    const results: string[] = [];
    for (let i = 0; i < cases.length; i++) results.push(await outcome());
    expect(results).toEqual(cases.map(([, expected]) => expected));
  });

  it("gives up on a provider that does not answer, as a retryable network error", async () => {
    at.script = ["hang"];
    const sms = new AfricasTalkingSms({ ...credentials, apiRoot: at.url, timeoutMs: 200 });
    await expect(sms.send({ to: "+998901234567", text: "x" })).rejects.toMatchObject({ code: "AT_NETWORK" });
  });

  it("takes its base URL from AT_API_ROOT", () => {
    const config = loadConfig({
      AT_USERNAME: "sandbox",
      AT_API_KEY: "k",
      AT_SENDER_ID: "MC",
      AT_API_ROOT: "http://127.0.0.1:1",
    });
    expect(config.sms).toEqual({ username: "sandbox", apiKey: "k", senderId: "MC", apiRoot: "http://127.0.0.1:1" });
  });
});

describe("a payment notification through the SMS gateway and back (delivery reports)", () => {
  let db: TestDatabase;
  let at: AtDouble;
  let app: FastifyInstance;
  let relay: OutboxRelay;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedReferenceData(db.prisma);
    at = await new AtDouble().start();
    app = await apiApp(db.prisma, { callbackToken: "callback-secret" });
    const delivery = new NotificationDelivery({
      prisma: db.prisma,
      sms: new AfricasTalkingSms({ ...credentials, apiRoot: at.url }),
      // Far ahead of the database clock, so rows written by the API are due at once.
      clock: () => new Date(Date.now() + 60_000),
    });
    relay = new OutboxRelay(delivery, { recoverEveryMs: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await at?.stop();
    await db?.close();
  });

  const report = (form: Record<string, string>, token = "callback-secret") =>
    app.inject({
      method: "POST",
      url: `/sms/delivery?token=${token}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams(form).toString(),
    });

  async function importPayment(externalId: string, citizenExternalId: string) {
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/payments/import",
      headers: auth,
      payload: [
        {
          externalId,
          citizenExternalId,
          benefitCode: "CHILD_ALLOWANCE",
          amountTiyin: 45_000_000,
          period: "2025-03",
          creditedAt: "2025-03-05",
        },
      ],
    });
    expect(res.statusCode).toBe(200);
    return db.prisma.outbox.findUniqueOrThrow({ where: { dedupeKey: `payment:${externalId}` } });
  }

  it("sends the Uzbek text 7-bit, then a Success report marks it delivered", async () => {
    const citizen = await makeCitizen(db.prisma, { externalId: "AT-CIT-1", locale: "uz" });
    const row = await importPayment("AT-PAY-1", "AT-CIT-1");
    const before = at.requests.length;
    expect((await relay.tick())[0]).toMatchObject({ outcome: "sent" });
    const sent = at.requests[before]!;
    expect(sent.form.to).toBe(citizen.phone);
    expect(sent.form.message).toContain("450 000 so'm");
    expect(sent.form.message).not.toMatch(/[ʻʼ]/);
    const messageId = (await db.prisma.outbox.findUniqueOrThrow({ where: { id: row.id } })).providerMessageId;
    expect(messageId).toMatch(/^ATXid_double_/);

    const res = await report({
      id: messageId!,
      status: "Success",
      phoneNumber: citizen.phone,
      networkCode: "43407",
      retryCount: "0",
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ result: "delivered" });
    const after = await db.prisma.outbox.findUniqueOrThrow({ where: { id: row.id } });
    expect(after.status).toBe("delivered");
    expect(after.deliveredAt).not.toBeNull();
  });

  it("records a failed delivery with its reason and does not send that message again", async () => {
    await makeCitizen(db.prisma, { externalId: "AT-CIT-2", locale: "ru" });
    const row = await importPayment("AT-PAY-2", "AT-CIT-2");
    await relay.tick();
    const messageId = (await db.prisma.outbox.findUniqueOrThrow({ where: { id: row.id } })).providerMessageId!;
    expect((await report({ id: messageId, status: "Buffered" })).json()).toEqual({ result: "ignored" });
    expect(
      (await report({ id: messageId, status: "Failed", failureReason: "AbsentSubscriber", retryCount: "2" })).json(),
    ).toEqual({
      result: "failed",
    });
    expect(await db.prisma.outbox.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "failed",
      lastError: "DLR Failed: AbsentSubscriber",
    });
    const requests = at.requests.length;
    await relay.tick();
    expect(at.requests.length).toBe(requests);
  });

  it("retries after a gateway error and then sends", async () => {
    await makeCitizen(db.prisma, { externalId: "AT-CIT-3" });
    const row = await importPayment("AT-PAY-3", "AT-CIT-3");
    at.script = [{ status: 503, body: "Service Unavailable" }];
    expect((await relay.tick())[0]).toMatchObject({ outcome: "retry", error: expect.stringContaining("AT_HTTP_503") });
    await db.prisma.outbox.update({ where: { id: row.id }, data: { nextAttemptAt: new Date() } });
    expect((await relay.tick())[0]).toMatchObject({ outcome: "sent" });
    expect(await db.prisma.outbox.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "sent",
      attempts: 2,
    });
  });

  it("answers reports it cannot use without a 5xx, and refuses ones without the callback token", async () => {
    expect((await report({ id: "ATXid_nobody", status: "Success" })).json()).toEqual({ result: "unknown" });
    const invalid = await report({ status: "Success" });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().result).toBe("invalid");
    const forged = await report({ id: "ATXid_nobody", status: "Success" }, "wrong");
    expect(forged.statusCode).toBe(403);
  });
});
