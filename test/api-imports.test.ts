import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePinfl } from "../core/domain/pinfl.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { apiApp, auth, makeCitizen, nextPhone } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let db: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  app = await apiApp(db.prisma, { maxCsvBytes: 4 * 1024 * 1024, sql: db.sql });
});
afterAll(async () => {
  await app?.close();
  await db?.close();
});

const postJson = (url: string, payload: unknown) =>
  app.inject({ method: "POST", url, headers: auth, payload: payload as object });
const postCsv = (url: string, csv: string) =>
  app.inject({ method: "POST", url, headers: { ...auth, "content-type": "text/csv; charset=utf-8" }, payload: csv });

const mahalla = (code: string, name: string, extra: object = {}) => ({
  code,
  districtCode: "1726294",
  nameUz: `${name} MFY`,
  nameUzCyrl: `${name} МФЙ`,
  nameRu: `махалля ${name}`,
  ...extra,
});

describe("mahalla register import", () => {
  it("creates, updates and leaves alone by code; sending it again changes nothing", async () => {
    const first = await postJson("/api/v1/mahallas/import", [
      mahalla("1726294-101", "Navbahor", { households: 1200 }),
      mahalla("1726294-102", "Guliston"),
      // A demo mahalla replaced by the register becomes real.
      { ...mahalla("1726294-001", "Renamed"), households: 10 },
    ]);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: 3, created: 2, updated: 1, unchanged: 0 });
    const renamed = await db.prisma.mahalla.findUniqueOrThrow({ where: { code: "1726294-001" } });
    expect(renamed).toMatchObject({ nameUz: "Renamed MFY", isDemo: false, households: 10 });
    const again = await postJson("/api/v1/mahallas/import", [
      mahalla("1726294-101", "Navbahor", { households: 1200 }),
      mahalla("1726294-102", "Guliston"),
    ]);
    expect(again.json()).toEqual({ received: 2, created: 0, updated: 0, unchanged: 2 });
    const audits = await db.prisma.auditLog.findMany({ where: { entity: "Mahalla", entityId: "1726294-001" } });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor: "api:backoffice", action: "mahalla.update" });
    expect(audits[0]?.before).toMatchObject({ isDemo: true });
  });

  it("imports CSV with quotes, semicolons and a byte-order mark", async () => {
    const csv =
      "\uFEFFcode;districtCode;nameUz;nameUzCyrl;nameRu;households\r\n" +
      '1726294-201;1726294;"Qoʻrgʻon; yangi MFY";Қўрғон МФЙ;"махалля ""Курган""";300\r\n' +
      "\r\n" +
      "1726294-202;1726294;Bogʻbon MFY;Боғбон МФЙ;махалля Богбон;\r\n";
    const res = await postCsv("/api/v1/mahallas/import", csv);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ received: 2, created: 2 });
    const row = await db.prisma.mahalla.findUniqueOrThrow({ where: { code: "1726294-201" } });
    expect(row).toMatchObject({ nameUz: "Qoʻrgʻon; yangi MFY", nameRu: 'махалля "Курган"', households: 300 });
  });

  it("rejects a CSV with bad rows as a whole, listing row and line numbers and reasons", async () => {
    const before = await db.prisma.mahalla.count();
    const csv = [
      "code,districtCode,nameUz,nameUzCyrl,nameRu",
      "1726294-301,1726294,Yangi MFY,Янги МФЙ,махалля Янги",
      "1726294-302,9999999,Bad MFY,Бад МФЙ,махалля Бад",
      "1726294-303,1726294,,Бўш МФЙ,махалля Бош",
      '"1726294-304",1726294,"Two',
      'lines MFY",Икки МФЙ,махалля Две',
      "1726294-301,1726294,Again MFY,Яна МФЙ,махалля Снова",
      "1726294-305,1726294,Short MFY",
    ].join("\n");
    const res = await postCsv("/api/v1/mahallas/import", csv);
    expect(res.statusCode).toBe(422);
    const { error } = res.json();
    expect(error.code).toBe("IMPORT_REJECTED");
    expect(error.invalidRows).toBe(4);
    expect(error.receivedRows).toBe(6);
    const byRow = Object.fromEntries(
      error.rows.map((r: { row: number; line: number; problems: { code: string; field: string }[] }) => [
        r.row,
        { line: r.line, codes: r.problems.map((p) => `${p.field}:${p.code}`) },
      ]),
    );
    expect(byRow[2]).toEqual({ line: 3, codes: ["districtCode:UNKNOWN_DISTRICT"] });
    expect(byRow[3]).toEqual({ line: 4, codes: ["nameUz:REQUIRED"] });
    expect(byRow[5]).toEqual({ line: 7, codes: ["code:DUPLICATE_IN_FILE"] });
    expect(byRow[6]?.line).toBe(8);
    expect(byRow[6]?.codes).toContain("null:FIELD_COUNT");
    expect(byRow[4]).toBeUndefined();
    expect(await db.prisma.mahalla.count()).toBe(before);
  });

  it("refuses a CSV whose header has unknown or missing columns", async () => {
    const unknown = await postCsv("/api/v1/mahallas/import", "code,district,nameUz\n1,2,3\n");
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: "CSV_HEADER" });
    expect(unknown.json().error.message).toContain("district");
    const empty = await postCsv("/api/v1/mahallas/import", "");
    expect(empty.statusCode).toBe(400);
  });
});

describe("beneficiary import", () => {
  it("creates beneficiaries with masked cards, adopts a self-registered citizen by phone and keeps their language", async () => {
    const known = await makeCitizen(db.prisma, { locale: "ru" });
    const pinfl = makePinfl(new Date(Date.UTC(1985, 4, 12)), true, 4242);
    const res = await postJson("/api/v1/beneficiaries/import", [
      {
        externalId: "B-1001",
        phone: nextPhone(),
        pinfl,
        fullName: "Gulnora Saidova",
        mahallaCode: "1726294-002",
        locale: "uz-Cyrl",
        cards: [
          { externalId: "C-1001", maskedNumber: "8600 **** **** 4321", status: "active", issuedAt: "2024-12-01" },
        ],
      },
      {
        externalId: "B-1002",
        phone: known.phone,
        locale: "uz",
        cards: [{ externalId: "C-1002", maskedNumber: "7788", status: "blocked" }],
      },
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      received: 2,
      citizens: { created: 1, updated: 1, unchanged: 0 },
      cards: { created: 2, updated: 0, unchanged: 0 },
    });
    const created = await db.prisma.citizen.findUniqueOrThrow({
      where: { externalId: "B-1001" },
      include: { cards: true, mahalla: true },
    });
    expect(created).toMatchObject({ pinfl, fullName: "Gulnora Saidova", locale: "uz-Cyrl" });
    expect(created.mahalla?.code).toBe("1726294-002");
    expect(created.cards[0]).toMatchObject({ maskedNumber: "**** 4321", status: "active" });
    const adopted = await db.prisma.citizen.findUniqueOrThrow({ where: { id: known.id } });
    expect(adopted).toMatchObject({ externalId: "B-1002", locale: "ru" });

    const again = await postJson("/api/v1/beneficiaries/import", [
      {
        externalId: "B-1002",
        phone: known.phone,
        cards: [{ externalId: "C-1002", maskedNumber: "**** 7788", status: "blocked" }],
      },
    ]);
    expect(again.json()).toMatchObject({ citizens: { unchanged: 1 }, cards: { unchanged: 1 } });
  });

  it("refuses full card numbers, a phone or PINFL of someone else, and writes nothing", async () => {
    const other = await makeCitizen(db.prisma, { externalId: "B-2000" });
    const before = await db.prisma.citizen.count();
    const res = await postJson("/api/v1/beneficiaries/import", [
      {
        externalId: "B-2001",
        phone: nextPhone(),
        cards: [{ externalId: "C-2001", maskedNumber: "8600123412341234", status: "active" }],
      },
      { externalId: "B-2002", phone: other.phone },
      { externalId: "B-2003", phone: nextPhone(), pinfl: "12345678901234" },
      { externalId: "B-2004", phone: nextPhone() },
    ]);
    expect(res.statusCode).toBe(422);
    const rows = res
      .json()
      .error.rows.map((r: { row: number; problems: { code: string }[] }) => [r.row, r.problems[0]?.code]);
    expect(rows).toEqual([
      [1, "CARD_NUMBER_NOT_MASKED"],
      [2, "PHONE_TAKEN"],
      [3, "INVALID_PINFL"],
    ]);
    expect(await db.prisma.citizen.count()).toBe(before);
    expect(await db.prisma.socialCard.count({ where: { externalId: "C-2001" } })).toBe(0);
    expect(JSON.stringify(await db.prisma.auditLog.findMany())).not.toContain("8600123412341234");
  });

  it("reads a CSV with one card per line, a beneficiary repeated for a second card", async () => {
    const phone = nextPhone();
    const csv = [
      "externalId,phone,fullName,cardExternalId,cardMaskedNumber,cardStatus",
      `B-3001,${phone},Anvar Qodirov,C-3001,**** 1111,active`,
      `B-3001,${phone},Anvar Qodirov,C-3002,**** 2222,closed`,
    ].join("\n");
    const res = await postCsv("/api/v1/beneficiaries/import", csv);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ received: 2, citizens: { created: 1 }, cards: { created: 2 } });
    const cards = await db.prisma.socialCard.findMany({
      where: { citizen: { externalId: "B-3001" } },
      orderBy: { externalId: "asc" },
    });
    expect(cards.map((c) => [c.maskedNumber, c.status])).toEqual([
      ["**** 1111", "active"],
      ["**** 2222", "closed"],
    ]);
  });
});

describe("payment import", () => {
  let linked: { id: number; phone: string };
  let plain: { id: number; phone: string };

  beforeAll(async () => {
    linked = await makeCitizen(db.prisma, { externalId: "P-CIT-1", telegramChatId: 777001n, locale: "ru" });
    plain = await makeCitizen(db.prisma, { externalId: "P-CIT-2", locale: "uz" });
    await db.prisma.socialCard.create({
      data: { externalId: "P-CARD-1", citizenId: linked.id, maskedNumber: "**** 5555", status: "active" },
    });
  });

  const batch = [
    {
      externalId: "PAY-1",
      citizenExternalId: "P-CIT-1",
      cardExternalId: "P-CARD-1",
      benefitCode: "CHILD_ALLOWANCE",
      amountTiyin: 45_000_000,
      period: "2025-03",
      creditedAt: "2025-03-05",
    },
    {
      externalId: "PAY-2",
      phone: "",
      citizenExternalId: "P-CIT-2",
      benefitCode: "AGE_PENSION",
      amount: "1 250 000,50",
      period: "2025-03",
      creditedAt: "2025-03-05T10:00:00+05:00",
    },
  ];

  it("creates payments and queues one notification each, in the citizen's channel and language", async () => {
    const res = await postJson("/api/v1/payments/import", batch);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: 2, created: 2, duplicates: 0, notifications: 2 });
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { externalId: "PAY-2" } });
    expect(payment.amountTiyin).toBe(125_000_050n);
    const rows = await db.prisma.outbox.findMany({
      where: { dedupeKey: { in: ["payment:PAY-1", "payment:PAY-2"] } },
      orderBy: { id: "asc" },
    });
    expect(rows.map((r) => [r.channel, r.locale, r.templateKey])).toEqual([
      ["telegram", "ru", "notify.payment_credited"],
      ["sms", "uz", "notify.payment_credited"],
    ]);
    expect(rows[0]?.recipientChatId).toBe(777001n);
    expect(rows[1]?.recipientPhone).toBe(plain.phone);
    expect(rows[0]?.params).toMatchObject({ amount: { money: 45_000_000 }, period: "03.2025" });
    const params = rows[0]?.params as { benefit?: { names?: { ru?: string } } } | undefined;
    expect(params?.benefit?.names?.ru?.length).toBeGreaterThan(0);
  });

  it("changes nothing and queues no second notification when the same batch is sent again", async () => {
    const payments = await db.prisma.payment.count();
    const outbox = await db.prisma.outbox.count();
    const res = await postJson("/api/v1/payments/import", batch);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: 2, created: 0, duplicates: 2, notifications: 0 });
    expect(await db.prisma.payment.count()).toBe(payments);
    expect(await db.prisma.outbox.count()).toBe(outbox);
  });

  it("refuses a known external id with different data, and unknown recipients, writing nothing", async () => {
    const payments = await db.prisma.payment.count();
    const res = await postJson("/api/v1/payments/import", [
      { ...batch[0], amountTiyin: 1 },
      { ...batch[1], externalId: "PAY-3", citizenExternalId: "NOBODY" },
      { ...batch[1], externalId: "PAY-4", cardExternalId: "P-CARD-1" },
      { ...batch[1], externalId: "PAY-5", period: "2025-13" },
      { ...batch[1], externalId: "PAY-6" },
    ]);
    expect(res.statusCode).toBe(422);
    const rows = res
      .json()
      .error.rows.map((r: { row: number; problems: { code: string }[] }) => [r.row, r.problems.map((p) => p.code)]);
    expect(rows).toEqual([
      [1, ["CONFLICT"]],
      [2, ["CITIZEN_NOT_FOUND"]],
      [3, ["CARD_OWNER_MISMATCH"]],
      [4, ["INVALID"]],
    ]);
    expect(await db.prisma.payment.count()).toBe(payments);
  });

  it("streams a large CSV in batches and rejects it whole when one row deep inside is bad", async () => {
    const header = "externalId,citizenExternalId,benefitCode,amountTiyin,period,creditedAt";
    const lines = (n: number, bad?: number) =>
      Array.from({ length: n }, (_, i) =>
        i + 1 === bad
          ? `BULK-${i},P-CIT-2,NO_SUCH_BENEFIT,100000,2025-04,2025-04-05`
          : `BULK-${i},P-CIT-2,LOW_INCOME_ASSISTANCE,${100_000 + i},2025-04,2025-04-05`,
      );
    const payments = await db.prisma.payment.count();
    const rejected = await postCsv("/api/v1/payments/import", [header, ...lines(2_500, 1_800)].join("\n"));
    expect(rejected.statusCode).toBe(422);
    expect(rejected.json().error.rows).toEqual([
      {
        row: 1_800,
        line: 1_801,
        problems: [{ field: "benefitCode", code: "UNKNOWN_BENEFIT", message: "no benefit type NO_SUCH_BENEFIT" }],
      },
    ]);
    expect(await db.prisma.payment.count()).toBe(payments);

    const accepted = await postCsv("/api/v1/payments/import", [header, ...lines(2_500)].join("\n"));
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toEqual({ received: 2_500, created: 2_500, duplicates: 0, notifications: 2_500 });
    expect(await db.prisma.outbox.count({ where: { dedupeKey: { startsWith: "payment:BULK-" } } })).toBe(2_500);
    const audit = await db.prisma.auditLog.findMany({ where: { action: "payment.import", actor: "api:backoffice" } });
    const logged = audit.flatMap((a) => (a.after as { externalIds: string[] }).externalIds);
    expect(logged.filter((id) => id.startsWith("BULK-"))).toHaveLength(2_500);
  });

  it("writes a batch sent several times at once once: one payment and one notice per row", async () => {
    const header = "externalId,citizenExternalId,benefitCode,amountTiyin,period,creditedAt";
    const rows = Array.from(
      { length: 1_500 },
      (_, i) => `SAME-${i},P-CIT-2,LOW_INCOME_ASSISTANCE,${200_000 + i},2025-05,2025-05-05`,
    );
    const csv = [header, ...rows].join("\n");
    const answers = await Promise.all(Array.from({ length: 6 }, () => postCsv("/api/v1/payments/import", csv)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    const bodies = answers.map((a) => a.json() as { created: number; duplicates: number; notifications: number });
    for (const b of bodies) expect(b.created + b.duplicates).toBe(1_500);
    expect(bodies.reduce((sum, b) => sum + b.created, 0)).toBe(1_500);
    expect(bodies.reduce((sum, b) => sum + b.notifications, 0)).toBe(1_500);
    expect(await db.prisma.payment.count({ where: { externalId: { startsWith: "SAME-" } } })).toBe(1_500);
    expect(await db.prisma.outbox.count({ where: { dedupeKey: { startsWith: "payment:SAME-" } } })).toBe(1_500);
  });

  it("refuses a CSV larger than the configured limit with 413", async () => {
    const big = `externalId,benefitCode,period,creditedAt\n${"X,AGE_PENSION,2025-01,2025-01-01\n".repeat(150_000)}`;
    const res = await postCsv("/api/v1/payments/import", big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("PAYLOAD_TOO_LARGE");
  });
});
