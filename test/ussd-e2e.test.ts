import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCore } from "../app/core.js";
import { makePinfl } from "../core/domain/pinfl.js";
import type { Locale } from "../core/domain/vocabulary.js";
import type { ConversationEngine } from "../core/engine/engine.js";
import { isGsm7 } from "../core/i18n/gsm.js";
import { namesOf as names, shortNamesOf as shortNames } from "../core/services/names.js";
import {
  nextPhone,
  shown,
  shownName,
  startApp,
  type TestApp,
  translator,
  UssdPhone,
  ussdOnly,
} from "./ussd-support.js";

let t: TestApp;
let core: ReturnType<typeof createCore>;

beforeAll(async () => {
  // The flows are followed here on the widest budget, where each screen is one page; the default
  // (80 on Cyrillic screens) is covered screen by screen in ussd-budget and task by task in ussd-inputs.
  t = await startApp({ USSD_MAX_CHARS_UCS2: "182" });
  core = createCore(t.db);
});
afterAll(() => t.close());

async function benefit(code: string) {
  return t.db.prisma.benefitType.findUniqueOrThrow({ where: { code } });
}

async function citizenOf(phone: string) {
  return t.db.prisma.citizen.findUniqueOrThrow({ where: { phone } });
}

/** A new number dials, chooses its language and lands on the main menu. */
async function onboard(locale: Locale): Promise<UssdPhone> {
  const phone = new UssdPhone(t.app, nextPhone());
  const first = await phone.dial();
  expect(first).toContain("1. O'zbekcha (lotin)");
  await phone.send(String(["uz", "uz-Cyrl", "ru"].indexOf(locale) + 1));
  expect(phone.screen).toContain(shown(locale, "menu.title"));
  expect(phone.screen).toContain(`8. ${shown(locale, "menu.item.language")}`);
  return phone;
}

const pinflFor = (serial: number) => makePinfl(new Date(Date.UTC(1961, 2, 15)), serial % 2 === 0, serial);
const reference = (kind: string, text: string) => new RegExp(`${kind}-\\d{4}-\\d{4}`).exec(text)?.[0];

describe.each<[Locale, number]>([
  ["uz", 1],
  ["uz-Cyrl", 2],
  ["ru", 3],
])("a feature phone in %s", (locale, serial) => {
  let phone: UssdPhone;
  beforeAll(async () => {
    phone = await onboard(locale);
  });

  it("applies for a benefit with a PINFL and gets the reference, with an SMS in the outbox", async () => {
    const pension = await benefit("AGE_PENSION");
    await phone.dial();
    await phone.send("1");
    expect(phone.screen).toContain(shown(locale, "apply.choose_benefit"));
    await phone.pick(shownName(locale, shortNames(pension)));
    expect(phone.screen).toContain(shown(locale, "pinfl.prompt"));
    await phone.send(pinflFor(serial));
    expect(phone.screen).toContain(shown(locale, "apply.q.work_years.prompt"));
    // "0" is an answer on a number question, not Back.
    expect(phone.screen).not.toMatch(/\n0\. /);
    await phone.send("0");
    expect(phone.screen).toContain(shown(locale, "apply.q.work_years.summary", { value: 0 }));
    await phone.send("1");
    expect(phone.ended).toBe(true);
    const ref = reference("A", phone.screen);
    expect(ref).toBeDefined();
    expect(phone.screen).toContain(shown(locale, "apply.submitted", { reference: ref ?? "" }));

    const citizen = await citizenOf(phone.phoneNumber);
    // Issue 12: a typed PINFL is the caller's claim, kept apart from the register's.
    expect([citizen.pinfl, citizen.claimedPinfl]).toEqual([null, pinflFor(serial)]);
    const app = await t.db.prisma.application.findUniqueOrThrow({ where: { reference: ref ?? "" } });
    expect(app).toMatchObject({ citizenId: citizen.id, channel: "ussd", locale, status: "submitted" });
    expect(app.answers).toEqual({ work_years: 0 });
    const sms = await t.db.prisma.outbox.findMany({
      where: { citizenId: citizen.id, templateKey: "notify.application_submitted" },
    });
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ channel: "sms", recipientPhone: phone.phoneNumber, locale });
  });

  it("shows the status of the application", async () => {
    const citizen = await citizenOf(phone.phoneNumber);
    const [app] = await t.db.prisma.application.findMany({ where: { citizenId: citizen.id } });
    await phone.dial();
    await phone.send("2");
    expect(phone.screen).toContain(shown(locale, "status.list_title", { count: 1 }));
    await phone.send("1");
    expect(phone.screen).toContain(app?.reference);
    expect(phone.screen).toContain(shown(locale, "status.application.submitted"));
  });

  it("shows social-card payments imported for the citizen", async () => {
    const citizen = await citizenOf(phone.phoneNumber);
    const pension = await benefit("AGE_PENSION");
    const card = await t.db.prisma.socialCard.create({
      data: { externalId: `card-${locale}`, citizenId: citizen.id, maskedNumber: "**** 4417", status: "active" },
    });
    await t.db.prisma.payment.createMany({
      data: [
        {
          externalId: `pay-${locale}-1`,
          citizenId: citizen.id,
          cardId: card.id,
          benefitTypeId: pension.id,
          amountTiyin: 125_000_000n,
          period: "2025-03",
          creditedAt: new Date("2025-03-05T06:00:00Z"),
        },
        {
          externalId: `pay-${locale}-2`,
          citizenId: citizen.id,
          cardId: card.id,
          benefitTypeId: pension.id,
          amountTiyin: 98_765_450n,
          period: "2025-04",
          creditedAt: new Date("2025-04-05T06:00:00Z"),
        },
      ],
    });
    await phone.dial("3");
    expect(phone.ended).toBe(true);
    expect(phone.screen).toContain("**** 4417");
    expect(phone.screen).toContain("1 250 000");
    expect(phone.screen).toContain("987 654,50");
    expect(phone.screen).toContain("05.04.2025");
    expect(phone.screen).toContain(shown(locale, "status.card.active"));
  });

  it("books a social worker visit, with an address typed with a star", async () => {
    const district = await t.db.prisma.district.findUniqueOrThrow({
      where: { code: "1727259" },
      include: { region: true },
    });
    const mahallas = await t.db.prisma.mahalla.findMany({
      where: { districtId: district.id },
      orderBy: { nameUz: "asc" },
    });
    const chosen = mahallas[10];
    if (!chosen) throw new Error("the demo set has 12 mahallas in Yangiyo'l");
    await phone.dial();
    await phone.send("4");
    expect(phone.screen).toContain(shown(locale, "mahalla.choose_region"));
    await phone.pick(shownName(locale, names(district.region)));
    await phone.pick(shownName(locale, names(district)));
    expect(phone.screen).toContain(shown(locale, "mahalla.choose"));
    // The 11th mahalla is on a later page and keeps its number 11.
    expect(phone.numberOf(shownName(locale, names(chosen)))).toBeUndefined();
    await phone.pick(shownName(locale, names(chosen)));
    expect(phone.inputs.at(-1)).toBe("11");
    expect(phone.screen).toContain(shown(locale, "visit.choose_reason"));
    await phone.send("1");
    expect(phone.screen).toContain(shown(locale, "visit.choose_slot"));
    await phone.send("1");
    expect(phone.screen).toContain(shown(locale, "visit.enter_address"));
    await phone.send("Navoiy 12*3");
    expect(phone.screen).toContain("Navoiy 12*3");
    await phone.send("1");
    expect(phone.ended).toBe(true);
    const ref = reference("V", phone.screen);
    expect(ref).toBeDefined();
    const visit = await t.db.prisma.visitRequest.findUniqueOrThrow({ where: { reference: ref ?? "" } });
    expect(visit).toMatchObject({ address: "Navoiy 12*3", mahallaId: chosen.id, channel: "ussd", status: "requested" });
    const citizen = await citizenOf(phone.phoneNumber);
    expect(citizen.mahallaId).toBe(chosen.id);
    expect(
      await t.db.prisma.outbox.count({
        where: { citizenId: citizen.id, templateKey: "notify.visit_booked", channel: "sms" },
      }),
    ).toBe(1);
  });

  it("lists the visits and cancels one", async () => {
    const citizen = await citizenOf(phone.phoneNumber);
    const visit = await t.db.prisma.visitRequest.findFirstOrThrow({ where: { citizenId: citizen.id } });
    await phone.dial();
    await phone.send("5");
    expect(phone.screen).toContain(shown(locale, "my_visits.title", { count: 1 }));
    await phone.send("1");
    expect(phone.screen).toContain(visit.reference);
    await phone.pick(shown(locale, "my_visits.cancel_option"));
    expect(phone.screen).toContain(shown(locale, "my_visits.cancel_confirm", { reference: visit.reference }));
    await phone.send("1");
    expect(phone.ended).toBe(true);
    expect(phone.screen).toContain(shown(locale, "my_visits.cancelled", { reference: visit.reference }));
    const after = await t.db.prisma.visitRequest.findUniqueOrThrow({ where: { id: visit.id } });
    expect(after.status).toBe("cancelled");
  });

  it("appeals a rejected application", async () => {
    const citizen = await citizenOf(phone.phoneNumber);
    const child = await benefit("CHILD_ALLOWANCE");
    const rejected = await core.services.applications.submit({
      citizenId: citizen.id,
      benefitTypeId: child.id,
      answers: { household_size: 4 },
      channel: "ussd",
      locale,
    });
    await core.services.applications.changeStatus({
      reference: rejected,
      status: "rejected",
      reason: "income above threshold",
      actor: "api:test",
    });
    await phone.dial();
    // The call after a decision opens on the question how it went (issue 15); "0" skips it.
    expect(phone.screen).toContain(rejected);
    await phone.send("0");
    await phone.send("6");
    expect(phone.screen).toContain(shown(locale, "appeal.choose"));
    await phone.pick(rejected);
    expect(phone.screen).toContain(shown(locale, "appeal.enter_reason"));
    await phone.send("Daromad noto'g'ri hisoblangan");
    expect(phone.screen).toContain(rejected);
    await phone.send("1");
    expect(phone.ended).toBe(true);
    const ref = reference("P", phone.screen);
    expect(ref).toBeDefined();
    const appeal = await t.db.prisma.appeal.findUniqueOrThrow({ where: { reference: ref ?? "" } });
    expect(appeal).toMatchObject({ citizenId: citizen.id, channel: "ussd", reason: "Daromad noto'g'ri hisoblangan" });
  });

  it("writes every screen in the budget, Uzbek Latin in the 7-bit alphabet", async () => {
    await phone.dial();
    expect(phone.screen.length).toBeLessThanOrEqual(182);
    expect(isGsm7(phone.screen)).toBe(locale === "uz");
    expect(phone.last.headers["x-ussd-locale"]).toBe(locale);
  });
});

describe("dialled shortcuts", () => {
  it("open the menu item directly, after the language choice for a new number", async () => {
    const phone = new UssdPhone(t.app, nextPhone());
    await phone.dial("3");
    expect(phone.screen).toContain("1. O'zbekcha (lotin)");
    await phone.send("1");
    expect(phone.ended).toBe(true);
    expect(phone.screen).toBe(`END ${shown("uz", "payments.no_card")}`);
  });

  it("open the menu item at once for a known number", async () => {
    const phone = await onboard("ru");
    await phone.dial("2");
    expect(phone.screen).toBe(`END ${shown("ru", "status.none")}`);
  });
});

describe("navigation", () => {
  it("0 goes back one screen and 00 to the main menu", async () => {
    const phone = await onboard("uz");
    const region = await t.db.prisma.region.findFirstOrThrow({ where: { districts: { some: { code: "1727259" } } } });
    await phone.send("4");
    const regions = phone.screen;
    await phone.pick(shownName("uz", names(region)));
    expect(phone.screen).toContain(shown("uz", "mahalla.choose_district"));
    expect(phone.screen).toContain(`0. ${shown("uz", "ussd.nav.back")}`);
    expect(phone.screen).toContain(`00. ${shown("uz", "ussd.nav.home")}`);
    await phone.send("0");
    expect(phone.screen).toBe(regions);
    await phone.pick(shownName("uz", names(region)));
    await phone.send("00");
    expect(phone.screen).toContain(shown("uz", "menu.title"));
    expect(phone.screen).toContain("1. Ariza berish");
  });

  it("98 and 0 turn the pages of a long list, with numbers stable across pages", async () => {
    const phone = await onboard("uz");
    const benefits = await t.db.prisma.benefitType.findMany({ where: { active: true }, orderBy: { sortOrder: "asc" } });
    await phone.send("1");
    const first = phone.screen;
    expect(first).toContain(`1. ${shownName("uz", shortNames(benefits[0]!))}`);
    expect(first).toContain("98. Keyingi");
    expect(first).toContain("0. Orqaga");
    const onFirst = first.split("\n").filter((l) => /^\d+\. /.test(l) && !/^(0|00|98)\. /.test(l)).length;
    await phone.send("98");
    const second = phone.screen;
    expect(second).toContain(`${onFirst + 1}. ${shownName("uz", shortNames(benefits[onFirst]!))}`);
    expect(second.split("\n").some((line) => line.startsWith("1. "))).toBe(false);
    expect(second).toContain("0. Orqaga");
    await phone.send("98");
    const third = phone.screen;
    expect(third).toContain(`${benefits.length}. `);
    await phone.send("0");
    expect(phone.screen).toBe(second);
    await phone.send("0");
    expect(phone.screen).toBe(first);
    // A number from another page still chooses by its position in the whole list.
    await phone.send("98");
    await phone.send("5");
    expect(phone.screen).toContain(shown("uz", "pinfl.prompt"));
    const stored = await t.db.prisma.draft.findFirstOrThrow({
      where: { citizen: { phone: phone.phoneNumber } },
    });
    expect(JSON.stringify(stored.data)).toContain(benefits[4]?.code);
  });

  it("a wrong input shows the reason first, and the third in a row ends the session", async () => {
    const phone = await onboard("uz");
    await phone.send("9");
    expect(phone.screen.split("\n")[0]).toBe(`CON ${shown("uz", "errors.choose_option")}`);
    await phone.send("abc");
    expect(phone.screen.split("\n")[0]).toBe(`CON ${shown("uz", "errors.choose_option")}`);
    await phone.send("77");
    expect(phone.ended).toBe(true);
    expect(phone.screen).toContain(shown("uz", "errors.too_many_invalid"));
  });
});

describe("gateway retries and dropped sessions", () => {
  it("a retried step answers the same screen and changes nothing", async () => {
    const phone = await onboard("uz");
    const citizen = await citizenOf(phone.phoneNumber);
    await phone.send("1");
    const list = await phone.retry();
    await phone.send("1");
    const session = () =>
      t.db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "ussd", sessionKey: phone.sessionId } },
      });
    const before = await session();
    const again = await phone.retry();
    expect(again).toBe(phone.screen);
    expect((await session()).stepCount).toBe(before.stepCount);
    expect(list).toContain(shown("uz", "apply.choose_benefit"));
    // CHILD_ALLOWANCE: PINFL, household, children, income, then confirm.
    await phone.send(pinflFor(41));
    await phone.send("5");
    await phone.send("3");
    await phone.send("2500000");
    expect(phone.screen).toContain(shown("uz", "apply.confirm"));
    const done = await phone.send("1");
    expect(await phone.retry()).toBe(done);
    expect(await phone.retry()).toBe(done);
    expect(await t.db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(1);
    expect(
      await t.db.prisma.outbox.count({ where: { citizenId: citizen.id, templateKey: "notify.application_submitted" } }),
    ).toBe(1);
  });

  it("a retried visit confirmation books one visit", async () => {
    const phone = await onboard("ru");
    const citizen = await citizenOf(phone.phoneNumber);
    const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { isDemo: true } });
    await t.db.prisma.citizen.update({ where: { id: citizen.id }, data: { mahallaId: mahalla.id } });
    await phone.send("4");
    expect(phone.screen).toContain(shown("ru", "visit.choose_reason"));
    await phone.send("2");
    await phone.send("2");
    await phone.send("ул. Навои, 5");
    const done = await phone.send("1");
    expect(await phone.retry()).toBe(done);
    expect(await t.db.prisma.visitRequest.count({ where: { citizenId: citizen.id } })).toBe(1);
  });

  it("a dropped session offers to continue the application draft in the next one", async () => {
    const phone = await onboard("uz");
    const child = await benefit("CHILD_ALLOWANCE");
    await phone.send("1");
    await phone.pick(shownName("uz", shortNames(child)));
    await phone.send(pinflFor(43));
    await phone.send("6");
    expect(phone.screen).toContain(shown("uz", "apply.q.children_under_18.prompt"));
    // The network drops the call here; the citizen dials again.
    const dropped = phone.sessionId;
    await phone.dial();
    expect(phone.sessionId).not.toBe(dropped);
    await phone.send("1");
    expect(phone.screen).toContain(shown("uz", "apply.resume", { benefit: { names: shortNames(child) } }));
    await phone.send("1");
    expect(phone.screen).toContain(shown("uz", "apply.q.children_under_18.prompt"));
    await phone.send("0");
    await phone.send("1800000");
    expect(phone.screen).toContain(shown("uz", "apply.q.household_size.summary", { value: 6 }));
    await phone.send("1");
    const ref = reference("A", phone.screen) ?? "";
    const app = await t.db.prisma.application.findUniqueOrThrow({ where: { reference: ref } });
    expect(app.answers).toEqual({ household_size: 6, children_under_18: 0, monthly_income: 180_000_000 });
  });
});

describe("the callback contract", () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const valid = {
    sessionId: "ATUid_contract",
    serviceCode: "*1146#",
    phoneNumber: "+998935550001",
    networkCode: "63902",
    text: "",
  };
  const rows = async () =>
    (await t.db.prisma.conversationSession.count()) +
    (await t.db.prisma.citizen.count()) +
    (await t.db.prisma.outbox.count());

  it("refuses a missing or malformed field with 400 and writes nothing", async () => {
    const before = await rows();
    const bodies: Record<string, string>[] = [];
    for (const field of Object.keys(valid)) {
      const { [field]: _dropped, ...rest } = valid as Record<string, string>;
      bodies.push(rest);
    }
    bodies.push({ ...valid, sessionId: "bad id; drop" });
    bodies.push({ ...valid, phoneNumber: "call me" });
    bodies.push({ ...valid, text: "1".repeat(2001) });
    for (const body of bodies) {
      const res = await t.app.inject({
        method: "POST",
        url: "/ussd",
        payload: form(body),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    const empty = await t.app.inject({ method: "POST", url: "/ussd" });
    expect(empty.statusCode).toBeGreaterThanOrEqual(400);
    expect(empty.statusCode).toBeLessThan(500);
    expect(await rows()).toBe(before);
  });

  it("answers a non-Uzbek number with END and a message, creating no citizen", async () => {
    const phone = new UssdPhone(t.app, "+254711082000");
    await phone.dial();
    expect(phone.screen).toBe(`END ${shown("uz", "errors.phone_not_uz")}`);
    expect(await t.db.prisma.citizen.count({ where: { phone: { contains: "254711082000" } } })).toBe(0);
  });

  it("records the gateway's session-end notification on the session", async () => {
    const phone = await onboard("uz");
    await phone.send("1");
    const res = await t.app.inject({
      method: "POST",
      url: "/ussd/events",
      payload: form({
        sessionId: phone.sessionId,
        serviceCode: "*1146#",
        networkCode: "63902",
        phoneNumber: phone.phoneNumber,
        status: "Incomplete",
        hopsCount: "3",
        durationInMillis: "41250",
        input: "31503610000413",
        errorMessage: "User timed out",
        cost: "UZS 0.0000",
        date: "2025-04-01 10:00:00",
      }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.statusCode).toBe(200);
    const session = await t.db.prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: { channel: "ussd", sessionKey: phone.sessionId } },
    });
    expect(session.endedAt).toBeInstanceOf(Date);
    expect(session.endStatus).toBe("Incomplete");
    expect(session.endInfo).toMatchObject({ hopsCount: 3, durationInMillis: 41250, errorMessage: "User timed out" });
    expect(JSON.stringify(session.endInfo)).not.toContain("31503610000413");
    const bad = await t.app.inject({
      method: "POST",
      url: "/ussd/events",
      payload: form({ status: "Success" }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(bad.statusCode).toBe(400);
  });

  it("serves the web phone unless the simulator is disabled", async () => {
    const on = await t.app.inject({ method: "GET", url: "/simulator?lang=ru" });
    expect(on.statusCode).toBe(200);
    expect(on.headers["content-type"]).toMatch(/^text\/html/);
    expect(on.body).toContain(translator.t("ru", "ussd.simulator.title"));
    const off = await startApp({ SIMULATOR_ENABLED: "false" }, t.db);
    try {
      expect((await off.app.inject({ method: "GET", url: "/simulator" })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe("the callback token", () => {
  it("is required on every gateway callback when configured (403 otherwise)", async () => {
    const guarded = await startApp({ USSD_CALLBACK_TOKEN: "s3cret-callback-token" }, t.db);
    try {
      const payload = new URLSearchParams({
        sessionId: "ATUid_token",
        serviceCode: "*1146#",
        phoneNumber: "+998935550002",
        networkCode: "63902",
        text: "",
      }).toString();
      const post = (url: string) =>
        guarded.app.inject({
          method: "POST",
          url,
          payload,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
      const before = await t.db.prisma.citizen.count();
      for (const url of [
        "/ussd",
        "/ussd?token=wrong",
        "/ussd?token=s3cret-callback-tokeN",
        "/ussd/events",
        "/sms/inbound?token=x",
      ]) {
        const res = await post(url);
        expect(res.statusCode, url).toBe(403);
      }
      expect(await t.db.prisma.citizen.count()).toBe(before);
      const ok = await post("/ussd?token=s3cret-callback-token");
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toMatch(/^CON /);
    } finally {
      await guarded.close();
    }
  });
});

describe("load shedding", () => {
  it("answers a number over its step limit with END and a request to wait", async () => {
    const limited = await startApp({ RATE_LIMIT_STEPS_PER_MINUTE: "3" }, t.db);
    try {
      const phone = new UssdPhone(limited.app, nextPhone());
      await phone.dial();
      await phone.send("1");
      await phone.send("1");
      expect(phone.ended).toBe(false);
      await phone.send("98");
      expect(phone.screen).toBe(`END ${shown("uz", "errors.rate_limited")}`);
    } finally {
      await limited.close();
    }
  });
});

describe("failures", () => {
  it("never answer 5xx on /ussd: the caller gets END and an apology in their language", async () => {
    const phone = await onboard("ru");
    const broken = {
      engine: {
        step: async () => {
          throw new Error("database went away");
        },
      } as unknown as ConversationEngine,
      services: core.services,
    };
    const app = await ussdOnly(t.db, broken);
    try {
      const caller = new UssdPhone(app, phone.phoneNumber);
      expect(await caller.dial()).toBe(`END ${shown("ru", "errors.unavailable")}`);
    } finally {
      await app.close();
    }
  });
});
