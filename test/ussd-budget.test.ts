import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCore } from "../app/core.js";
import type { PrismaClient } from "../core/db/database.js";
import { makePinfl } from "../core/domain/pinfl.js";
import { newReference } from "../core/domain/reference.js";
import type { Locale, Text } from "../core/domain/vocabulary.js";
import { isLocale, LOCALES } from "../core/domain/vocabulary.js";
import type { ConversationEvent, Screen } from "../core/engine/types.js";
import { formatDate } from "../core/i18n/format.js";
import { isGsm7 } from "../core/i18n/gsm.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { closingScreen } from "../ussd/channel.js";
import { GSM7_BUDGET, pageCount, renderPages, renderScreen } from "../ussd/render.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { translator } from "./ussd-support.js";

/**
 * Every screen of every flow, in every language, rendered for USSD: a walker takes each option
 * and a set of good and bad answers at every screen (to a bounded depth), then every page of
 * every screen it met (also with every error line it met) must fit the budget.
 */

const MAX_DEPTH = 12;
/** The default of USSD_MAX_CHARS_UCS2: what one UCS-2 USSD message carries on the air. */
const DEFAULT_UCS2 = 80;
const UCS2_BUDGETS = [DEFAULT_UCS2, 182, 70];

let db: TestDatabase;
let core: ReturnType<typeof createCore>;
let serial = 100;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  core = createCore(db, { idleSeconds: { ussd: 3600 } });
  // Contact data as long as the agency may set it, so the help screen is measured at its longest.
  await core.services.contacts.setContacts({ hotline: "+998 71 200 00 00", ussdCode: "*1146#" }, "test");
  await core.services.contacts.setInsonCentre(
    "1727259",
    {
      phone: "+998 70 123 45 67",
      address: {
        uz: "Yangiyoʻl shahri, Samarqand koʻchasi 12-uy, tuman hokimligi binosi",
        "uz-Cyrl": "Янгийўл шаҳри, Самарқанд кўчаси 12-уй, туман ҳокимлиги биноси",
        ru: "г. Янгиюль, ул. Самарканд, дом 12, здание хокимията района",
      },
    },
    "test",
  );
  // Someone else's PINFL, to meet "taken".
  await db.prisma.citizen.create({ data: { phone: "+998935559999", pinfl: takenPinfl, locale: "uz" } });
});
afterAll(() => db.close());

const takenPinfl = makePinfl(new Date(Date.UTC(1970, 0, 1)), false, 999_001);
const nextPinfl = () => makePinfl(new Date(Date.UTC(1975, 5, 20)), true, serial++);

/** Words up to `length` characters: a realistic long answer (addresses, reasons). */
const words = (length: number) =>
  "Yunusobod tumani Amir Temur shoh ko'chasi uy 108 xonadon 45 ikkinchi qavat darvoza yonida chap tomonda "
    .repeat(10)
    .slice(0, length)
    .trim();

function futureDay(days: number): string {
  return formatDate(new Date(Date.now() + days * 86_400_000));
}

/** Answers to try on a screen: each option, a wrong choice, and good and bad typed values. */
function eventsFor(screen: Screen, locale: Locale, references: string[]): ConversationEvent[] {
  const events: ConversationEvent[] = [];
  for (const option of screen.options) {
    // Choosing another language would switch the rest of the walk to it.
    if (isLocale(option.key) && option.key !== locale) continue;
    events.push({ type: "choose", key: option.key });
  }
  const typed = (values: string[]) => {
    for (const value of values) events.push({ type: "text", value });
  };
  const input = screen.input;
  if (input.kind === "choice" || input.kind === "none") typed(["99"]);
  if (input.kind === "choice-or-text") typed(input.format === "filter" ? ["Bo", "Qqq"] : ["99", ...references]);
  if (input.kind === "text") {
    switch (input.format) {
      case "digits":
        typed(["3", "0", "12345678", "abc"]);
        break;
      case "pinfl":
        typed(["123", takenPinfl, "31503610000410", nextPinfl()]);
        break;
      case "date":
        typed(["31.02.2025", futureDay(400), futureDay(40)]);
        break;
      case "reference":
        typed(["123", newReference("A"), ...references]);
        break;
      default:
        typed(["ab", words(input.maxLength + 1), words(input.maxLength)]);
    }
  }
  return events;
}

interface Met {
  screen: Screen;
  locale: Locale;
}

/** Copies a session so that each answer is tried from the same point. */
async function fork(prisma: PrismaClient, from: string, to: string) {
  const row = await prisma.conversationSession.findUniqueOrThrow({
    where: { channel_sessionKey: { channel: "ussd", sessionKey: from } },
  });
  await prisma.conversationSession.create({
    data: {
      channel: "ussd",
      sessionKey: to,
      citizenId: row.citizenId,
      state: row.state as object,
      stepCount: row.stepCount,
      lastScreen: row.lastScreen as object,
      expiresAt: row.expiresAt,
    },
  });
}

async function walk(locale: Locale, phone: string, references: () => Promise<string[]>, pass = 1): Promise<Met[]> {
  const met = new Map<string, Met>();
  const explored = new Set<string>();
  let branches = 0;
  const step = async (sessionKey: string, event: ConversationEvent) => {
    const reply = await core.engine.step({ channel: "ussd", sessionKey, identity: { phone }, event });
    return { screen: reply.screen, locale: reply.locale };
  };
  const visit = async (sessionKey: string, at: Met, depth: number): Promise<void> => {
    const signature = JSON.stringify(at);
    met.set(signature, at);
    // A refused answer shows the same screen again: nothing new lies behind it.
    if (at.screen.error || at.screen.end || explored.has(signature) || depth >= MAX_DEPTH) return;
    explored.add(signature);
    for (const event of eventsFor(at.screen, locale, await references())) {
      const branch = `${sessionKey.split("/")[0]}/${++branches}`;
      await fork(db.prisma, sessionKey, branch);
      await visit(branch, await step(branch, event), depth + 1);
    }
  };
  const root = `walk-${locale}-${phone}-${pass}`;
  await visit(root, await step(root, { type: "start" }), 0);
  // Three wrong answers in a row end the conversation.
  const stubborn = `${root}-stubborn`;
  await step(stubborn, { type: "start" });
  for (let i = 0; i < 3; i++) {
    const reply = await step(stubborn, { type: "text", value: "xyz" });
    met.set(JSON.stringify(reply), reply);
  }
  return [...met.values()];
}

/** A citizen with a lot on record: long lists, long reasons, several cards. */
async function heavyCitizen(prisma: PrismaClient, locale: Locale, phone: string): Promise<number> {
  const mahalla = await prisma.mahalla.findFirstOrThrow({
    where: { district: { code: "1727259" } },
    orderBy: { code: "desc" },
    skip: LOCALES.indexOf(locale),
  });
  const citizen = await prisma.citizen.create({
    data: { phone, locale, mahallaId: mahalla.id, pinfl: nextPinfl(), fullName: "Test Fuqaro" },
  });
  const benefits = await prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" } });
  // Written directly: the service allows five applications a day, a long list needs nine.
  const statuses = ["rejected", "rejected", "approved", "paid", "rejected", "under_review", "submitted"] as const;
  for (const [i, b] of benefits.slice(0, 9).entries()) {
    const status = statuses[i] ?? "submitted";
    const decided = status === "rejected" || status === "approved" || status === "paid";
    await prisma.application.create({
      data: {
        reference: newReference("A"),
        citizenId: citizen.id,
        benefitTypeId: b.id,
        answers: {},
        status,
        statusReason: status === "rejected" ? words(300) : null,
        decidedAt: decided ? new Date() : null,
        channel: "ussd",
        locale,
        history: {
          create: [
            { toStatus: "submitted", actor: "citizen", createdAt: new Date(Date.now() - 3 * 86_400_000) },
            {
              fromStatus: "submitted",
              toStatus: "under_review",
              actor: "t",
              createdAt: new Date(Date.now() - 2 * 86_400_000),
            },
            ...(status === "paid"
              ? [
                  {
                    fromStatus: "under_review",
                    toStatus: "approved",
                    actor: "t",
                    createdAt: new Date(Date.now() - 86_400_000),
                  },
                ]
              : []),
            { fromStatus: "under_review", toStatus: status, actor: "t" },
          ],
        },
      },
    });
  }
  for (const [i, masked] of ["**** 1234", "**** 9876"].entries()) {
    const card = await prisma.socialCard.create({
      data: {
        externalId: `${phone}-card-${i}`,
        citizenId: citizen.id,
        maskedNumber: masked,
        status: i ? "blocked" : "active",
      },
    });
    for (let p = 0; p < 3; p++) {
      const longest = benefits.reduce((a, b) => (b.shortRu.length > a.shortRu.length ? b : a));
      await prisma.payment.create({
        data: {
          externalId: `${phone}-pay-${i}-${p}`,
          citizenId: citizen.id,
          cardId: card.id,
          benefitTypeId: longest.id,
          amountTiyin: 1_234_567_899n,
          period: `2025-0${p + 1}`,
          creditedAt: new Date(Date.UTC(2025, p, 28)),
        },
      });
    }
  }
  const reasons = await prisma.visitReason.findMany();
  const slots = await core.services.visits.freeSlots(mahalla.id, new Date());
  for (const [i, slot] of slots.slice(0, 8).entries()) {
    await core.services.visits.book({
      citizenId: citizen.id,
      mahallaId: mahalla.id,
      reasonId: (reasons[i % reasons.length] as { id: number }).id,
      slot,
      address: words(120),
      location: null,
      channel: "ussd",
    });
  }
  await prisma.visitRequest.updateMany({
    where: { citizenId: citizen.id, slotPart: "afternoon" },
    data: { status: "rescheduled" },
  });
  return citizen.id;
}

const NAV_NUMBERS = new Set(["0", "00", "98"]);

function checkPages(met: Met, budgetUcs2: number, problems: string[], long: Map<string, number>) {
  const { screen, locale } = met;
  const options = { translator, maxCharsUcs2: budgetUcs2 };
  const pages = renderPages(screen, locale, options);
  const numbers: number[] = [];
  pages.forEach((page, i) => {
    const last = i === pages.length - 1;
    const where = `${locale} ${JSON.stringify(screen.body)} page ${i + 1}/${pages.length}`;
    expect(page.page, where).toBe(i + 1);
    expect(page.length, where).toBeLessThanOrEqual(page.budget);
    const measured = page.encoding === "gsm7" ? page.length : page.text.length;
    expect(measured, where).toBeLessThanOrEqual(page.encoding === "gsm7" ? GSM7_BUDGET : budgetUcs2);
    expect(page.text.startsWith(screen.end && last ? "END " : "CON "), where).toBe(true);
    if (locale === "uz") expect(isGsm7(page.text), `${where}\n${page.text}`).toBe(true);
    for (const line of page.text.slice(4).split("\n")) {
      const m = /^(\d+)\. /.exec(line);
      if (m && !NAV_NUMBERS.has(m[1] as string)) numbers.push(Number(m[1]));
    }
  });
  // Every option appears once, numbered by its place in the whole list, in order.
  const expected = screen.options.map((_, i) => i + 1);
  if (JSON.stringify(numbers) !== JSON.stringify(expected)) {
    problems.push(`${locale}: options ${JSON.stringify(numbers)} instead of ${JSON.stringify(expected)}`);
  }
  if (pages.length > 1 && budgetUcs2 === DEFAULT_UCS2) {
    const keys = [...(screen.error ? [screen.error] : []), ...screen.body]
      .map((t) => ("key" in t ? t.key : "names"))
      .join("+");
    const label = `${locale} ${keys}${screen.options.length ? ` (${screen.options.length} options)` : ""}`;
    long.set(label, Math.max(long.get(label) ?? 0, pages.length));
  }
}

describe("the USSD screen budget", () => {
  const all: Met[] = [];
  const errors = new Map<string, Text>();

  // Hundreds of engine steps per language: on a busy machine this takes a while.
  it.each(LOCALES)("walks every flow in %s and fits every page", { timeout: 300_000 }, async (locale) => {
    const freshPhone = `+99893${String(LOCALES.indexOf(locale) + 1).padStart(7, "0")}`;
    const heavyPhone = `+99894${String(LOCALES.indexOf(locale) + 1).padStart(7, "0")}`;
    // A new number sees the language choice first; the walk chooses this locale.
    const fresh = await walk(locale, freshPhone, async () => []);
    // A dropped application: the next visit to "apply" offers to resume it.
    const freshId = (await db.prisma.citizen.findUniqueOrThrow({ where: { phone: freshPhone } })).id;
    await core.services.drafts.save(freshId, "apply", {
      step: "question",
      data: {
        benefitCode: "ONE_TIME_ASSISTANCE",
        benefitId: null,
        question: 1,
        answers: { fund: "ayollar" },
        reference: null,
      },
    });
    fresh.push(...(await walk(locale, freshPhone, async () => [], 2)));
    const heavyId = await heavyCitizen(db.prisma, locale, heavyPhone);
    const heavyRefs = async () =>
      (await db.prisma.application.findMany({ where: { citizenId: heavyId }, take: 2 })).map((a) => a.reference);
    const heavy = await walk(locale, heavyPhone, heavyRefs);
    const met = [...fresh, ...heavy];
    for (const m of met) if (m.screen.error) errors.set(JSON.stringify(m.screen.error), m.screen.error);
    all.push(...met);

    // The walk reached every flow of the main menu.
    const keys = new Set(met.flatMap((m) => m.screen.body.map((t) => ("key" in t ? t.key : ""))));
    for (const key of [
      "onboarding.choose_language",
      "apply.choose_benefit",
      "pinfl.prompt",
      "apply.summary_title",
      "apply.submitted",
      "apply.resume",
      "status.details",
      "status.rejection_reason",
      "payments.line",
      "mahalla.choose_region",
      "mahalla.choose_filtered",
      "visit.choose_slot",
      "visit.summary",
      "visit.booked",
      "my_visits.details",
      "my_visits.cancel_confirm",
      "appeal.choose",
      "appeal.summary",
      "appeal.filed",
      "help.inson_centre",
      "language.choose",
      "errors.too_many_invalid",
    ]) {
      expect(keys, key).toContain(key);
    }
    expect(met.length).toBeGreaterThan(60);

    const problems: string[] = [];
    const long = new Map<string, number>();
    for (const m of met) for (const budget of UCS2_BUDGETS) checkPages(m, budget, problems, long);
    // USSD_DUMP=/tmp/prefix writes every page of every screen met, per language, for reading.
    if (process.env.USSD_DUMP) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        `${process.env.USSD_DUMP}-${locale}.txt`,
        met
          .map((m) =>
            renderPages(m.screen, m.locale, { translator, maxCharsUcs2: DEFAULT_UCS2 })
              .map((p) => `--- ${p.page}/${p.pages} ${p.length}/${p.budget} ${p.encoding}\n${p.text}`)
              .join("\n"),
          )
          .join("\n\n=========\n"),
      );
    }
    expect(problems).toEqual([]);
    // USSD_BUDGET_REPORT=1 lists the screens that need more than one page (the long texts to watch).
    if (process.env.USSD_BUDGET_REPORT && long.size) {
      console.info(
        `[ussd budget] ${locale}: ${met.length} screens; screens needing more than one page:\n  ${[...long]
          .map(([k, n]) => `${k}: ${n} pages`)
          .join("\n  ")}`,
      );
    }
  });

  it("fits every screen with every error line met, and the channel's own closing messages", () => {
    expect(errors.size).toBeGreaterThan(10);
    const problems: string[] = [];
    const long = new Map<string, number>();
    // Each screen once (without its own error), each kind of error once: the longest text of its key.
    const screens = new Map<string, Met>();
    for (const m of all) {
      const { error: _error, ...screen } = m.screen;
      screens.set(JSON.stringify([m.locale, screen]), { locale: m.locale, screen });
    }
    const longest = new Map<string, Text>();
    for (const error of errors.values()) {
      const key = "key" in error ? error.key : "names";
      const current = longest.get(key);
      if (!current || translator.text("ru", error).length > translator.text("ru", current).length) {
        longest.set(key, error);
      }
    }
    expect(screens.size).toBeGreaterThan(200);
    for (const m of screens.values()) {
      for (const error of longest.values()) {
        checkPages({ ...m, screen: { ...m.screen, error } }, 182, problems, long);
      }
    }
    for (const locale of LOCALES) {
      for (const key of ["errors.unavailable", "errors.phone_not_uz"]) {
        const page = renderScreen(closingScreen(key), locale, 1, { translator, maxCharsUcs2: 182 });
        expect(page.pages).toBe(1);
        expect(page.text.startsWith("END ")).toBe(true);
      }
    }
    expect(problems).toEqual([]);
  });

  // What a caller meets on every call must not page badly at the default budget: the main menu in
  // two pages, the language choice in one, a question with its error line in two, help in three.
  it("keeps the screens of every call short at the default budget", () => {
    const render = { translator, maxCharsUcs2: DEFAULT_UCS2 };
    const isMenu = (s: Screen) =>
      s.body.length === 1 && s.body[0] !== undefined && "key" in s.body[0] && s.body[0].key === "menu.title";
    const limits: [string, (s: Screen) => boolean, number][] = [
      ["main menu", (s) => isMenu(s) && !s.error, 2],
      ["language choice", (s) => s.body.some((t) => "key" in t && t.key === "onboarding.choose_language"), 1],
      ["a question", (s) => s.input.kind === "text" && s.options.length === 0 && s.body.length === 1, 2],
      ["help", (s) => s.body.some((t) => "key" in t && t.key === "help.title"), 3],
    ];
    const over: string[] = [];
    const counted = new Set<string>();
    for (const [name, matches, most] of limits) {
      for (const m of all) {
        if (!matches(m.screen)) continue;
        counted.add(name);
        const pages = pageCount(m.screen, m.locale, render);
        if (pages > most)
          over.push(`${name} (${m.locale}): ${pages} pages > ${most}\n${JSON.stringify(m.screen.body)}`);
      }
    }
    expect([...counted].sort()).toEqual(limits.map(([name]) => name).sort());
    expect(over).toEqual([]);
  });
});
