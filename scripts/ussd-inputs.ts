// `npm run ussd:inputs` drives every citizen task through the real conversation engine and USSD
// channel at the default screen budget, in each language, and writes the table of inputs each one
// takes into README.md (between the ussd-inputs markers). test/ussd-inputs.test.ts checks that the
// README still says what the engine does.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../app/config.js";
import { createCore } from "../app/core.js";
import { startDatabase } from "../app/database.js";
import { createLogger } from "../app/logger.js";
import type { Database } from "../core/db/database.js";
import { openDatabase } from "../core/db/database.js";
import { makePinfl } from "../core/domain/pinfl.js";
import { newReference } from "../core/domain/reference.js";
import type { Locale } from "../core/domain/vocabulary.js";
import { LOCALES } from "../core/domain/vocabulary.js";
import type { Screen } from "../core/engine/types.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { UssdChannel } from "../ussd/channel.js";

export const TASKS = [
  { item: "apply", number: 1, label: "apply for a benefit (child allowance, 3 questions)" },
  { item: "status", number: 2, label: "application status" },
  { item: "payments", number: 3, label: "social-card payments" },
  { item: "visit", number: 4, label: "book a social worker visit" },
  { item: "myVisits", number: 5, label: "my visits" },
  { item: "appeal", number: 6, label: "appeal a rejection" },
  { item: "help", number: 7, label: "help and contacts" },
] as const;

export type Mode = "first" | "returning" | "shortcut";
export const MODES: Mode[] = ["first", "returning", "shortcut"];

export interface Count {
  /** Requests after the dial: every answer typed, page turns included (round trips = inputs + 1). */
  inputs: number;
  /** Of which "98" (next page). */
  pageTurns: number;
}

const DISTRICT = "1727259";
let serial = 0;

/**
 * One citizen task on one USSD session, as a person does it. A first-time caller (a number that has
 * never used the service) chooses a language, reads each page up to the option it wants (and every
 * page of a question), and gives its PINFL and mahalla where the task asks. A returning caller
 * (language, PINFL and mahalla known) types the option numbers it knows, which hold on every page.
 * Everyone reads a result to its last page.
 */
async function runTask(
  db: Pick<Database, "prisma" | "sql">,
  channel: UssdChannel,
  task: (typeof TASKS)[number],
  locale: Locale,
  mode: Mode,
): Promise<Count> {
  const { prisma } = db;
  serial += 1;
  const phone = `+99895${String(7_000_000 + serial).slice(-7)}`;
  const known = mode !== "first";
  const district = await prisma.district.findUniqueOrThrow({ where: { code: DISTRICT } });
  const mahalla = await prisma.mahalla.findFirstOrThrow({
    where: { districtId: district.id },
    orderBy: { code: "asc" },
  });
  const citizen = await prisma.citizen.create({
    data: {
      phone,
      locale: known ? locale : null,
      pinfl: known ? makePinfl(new Date(Date.UTC(1980, 4, 1)), serial % 2 === 0, 500_000 + serial) : null,
      mahallaId: known ? mahalla.id : null,
    },
  });
  await recordsFor(db, task.item, citizen.id, mahalla.id, phone);

  const sessionId = `inputs-${serial}`;
  const inputs: string[] = [];
  let count: Count = { inputs: 0, pageTurns: 0 };
  const send = async () =>
    channel.handle({
      sessionId,
      serviceCode: "*1146#",
      phoneNumber: phone,
      networkCode: "63902",
      text: inputs.join("*"),
    });
  if (mode === "shortcut") inputs.push(String(task.number));
  let answer = await send();
  const press = async (input: string) => {
    inputs.push(input);
    count = { inputs: count.inputs + 1, pageTurns: count.pageTurns + (input === "98" ? 1 : 0) };
    answer = await send();
  };

  for (let guard = 0; guard < 80; guard++) {
    const session = await prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: { channel: "ussd", sessionKey: sessionId } },
    });
    const screen = session.lastScreen as unknown as Screen;
    const last = answer.page >= answer.pages;
    // A final screen, or one with nothing to answer (an application's details): the result, read to the end.
    if (screen.end || (screen.options.length === 0 && screen.input.kind === "none")) {
      if (last) return count;
      await press("98");
      continue;
    }
    const next = chooseOrType(screen, task.item, locale, { regionId: district.regionId, district, mahalla });
    if (next.kind === "choose") {
      const number = screen.options.findIndex((o) => o.key === next.key) + 1;
      if (number === 0) throw new Error(`no option ${next.key} on ${JSON.stringify(screen.body)}`);
      // Someone new looks for the option page by page; someone who has used the service knows its number.
      if (
        !known &&
        !answer.text.split("\n").some((line) => line.replace(/^(CON|END) /, "").startsWith(`${number}. `))
      ) {
        await press("98");
        continue;
      }
      await press(String(number));
    } else {
      if (!known && !last) {
        await press("98");
        continue;
      }
      await press(next.value);
    }
  }
  throw new Error(`${task.item} in ${locale} (${mode}) did not finish`);
}

type Next = { kind: "choose"; key: string } | { kind: "text"; value: string };

function chooseOrType(
  screen: Screen,
  item: string,
  locale: Locale,
  place: { regionId: number; district: { id: number }; mahalla: { id: number } },
): Next {
  const keys = screen.body.map((t) => ("key" in t ? t.key : ""));
  const has = (prefix: string) => keys.some((k) => k.startsWith(prefix));
  const first = (): Next => ({ kind: "choose", key: (screen.options[0] as { key: string }).key });
  if (has("onboarding.choose_language")) return { kind: "choose", key: locale };
  if (has("menu.title")) return { kind: "choose", key: item };
  if (has("apply.choose_benefit")) return { kind: "choose", key: "CHILD_ALLOWANCE" };
  if (has("pinfl.prompt"))
    return { kind: "text", value: makePinfl(new Date(Date.UTC(1985, 1, 2)), true, 900_000 + serial) };
  if (has("apply.q.household_size")) return { kind: "text", value: "5" };
  if (has("apply.q.children_under_18")) return { kind: "text", value: "3" };
  if (has("apply.q.monthly_income")) return { kind: "text", value: "1500000" };
  if (has("mahalla.choose_region")) return { kind: "choose", key: String(place.regionId) };
  if (has("mahalla.choose_district")) return { kind: "choose", key: String(place.district.id) };
  if (has("mahalla.choose")) return { kind: "choose", key: String(place.mahalla.id) };
  if (has("visit.enter_address")) return { kind: "text", value: "Navoiy 12" };
  if (has("appeal.enter_reason")) return { kind: "text", value: "Daromadimiz kam, qayta koʻrib chiqing" };
  if (screen.options.length > 0) return first();
  throw new Error(`no rule for the screen ${JSON.stringify(keys)}`);
}

/** What a citizen asking about their records has on file: an application (rejected), a card, a visit. */
async function recordsFor(
  db: Pick<Database, "prisma" | "sql">,
  item: string,
  citizenId: number,
  mahallaId: number,
  phone: string,
) {
  const { prisma } = db;
  if (item === "status" || item === "appeal") {
    const benefit = await prisma.benefitType.findUniqueOrThrow({ where: { code: "AGE_PENSION" } });
    await prisma.application.create({
      data: {
        reference: newReference("A"),
        citizenId,
        benefitTypeId: benefit.id,
        answers: {},
        status: "rejected",
        statusReason: "Daromad chegaradan yuqori",
        decidedAt: new Date(),
        channel: "api",
        locale: "uz",
        history: {
          create: [
            { toStatus: "submitted", actor: "api" },
            { fromStatus: "submitted", toStatus: "rejected", actor: "api" },
          ],
        },
      },
    });
  }
  if (item === "payments") {
    const benefit = await prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    const card = await prisma.socialCard.create({
      data: { externalId: `${phone}-card`, citizenId, maskedNumber: "**** 4417", status: "active" },
    });
    await prisma.payment.createMany({
      data: [1, 2].map((month) => ({
        externalId: `${phone}-pay-${month}`,
        citizenId,
        cardId: card.id,
        benefitTypeId: benefit.id,
        amountTiyin: 65_000_000n,
        period: `2025-0${month}`,
        creditedAt: new Date(Date.UTC(2025, month - 1, 5)),
      })),
    });
  }
  if (item === "myVisits") {
    const core = createCore(db);
    const reason = await prisma.visitReason.findFirstOrThrow({ orderBy: { sortOrder: "asc" } });
    const [slot] = await core.services.visits.freeSlots(mahallaId, new Date());
    if (!slot) throw new Error("no free visit slot");
    await core.services.visits.book({
      citizenId,
      mahallaId,
      reasonId: reason.id,
      slot,
      address: "Navoiy 12",
      location: null,
      channel: "ussd",
    });
  }
}

export type Results = Record<string, Record<Locale, Record<Mode, Count>>>;

/** Every task in every language and mode, on a seeded database, at the configured default budget. */
export async function measureInputs(db: Pick<Database, "prisma" | "sql">): Promise<Results> {
  const maxCharsUcs2 = loadConfig({ NODE_ENV: "test" }).ussd.maxCharsUcs2;
  const core = createCore(db, { idleSeconds: { ussd: 3600 } });
  const channel = new UssdChannel(core.engine, new Translator(), { maxCharsUcs2 });
  const results: Results = {};
  for (const task of TASKS) {
    const row = {} as Record<Locale, Record<Mode, Count>>;
    for (const locale of LOCALES) {
      const byMode = {} as Record<Mode, Count>;
      for (const mode of MODES) byMode[mode] = await runTask(db, channel, task, locale, mode);
      row[locale] = byMode;
    }
    results[task.item] = row;
  }
  return results;
}

const LANGUAGE = { uz: "uz (Latin)", "uz-Cyrl": "uz-Cyrl", ru: "ru" } as const;
const cell = (c: Count) => (c.pageTurns ? `${c.inputs} (${c.pageTurns}× 98)` : String(c.inputs));

/** The README table: one row per task and language. */
export function inputsTable(results: Results): string {
  const lines = [
    "| task (menu item) | language | first call | returning caller | returning, with `*1146*N#` |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const task of TASKS) {
    for (const locale of LOCALES) {
      const r = results[task.item]?.[locale];
      if (!r) continue;
      lines.push(
        `| ${task.number}. ${task.label} | ${LANGUAGE[locale]} | ${cell(r.first)} | ${cell(r.returning)} | ${cell(r.shortcut)} |`,
      );
    }
  }
  return lines.join("\n");
}

export const START = "<!-- ussd-inputs:start (generated by npm run ussd:inputs) -->";
export const END = "<!-- ussd-inputs:end -->";

/** The table as the README holds it now, or null when the markers are missing. */
export function tableInReadme(readme: string): string | null {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) return null;
  return readme.slice(from + START.length, to).trim();
}

export const readmePath = fileURLToPath(new URL("../README.md", import.meta.url));

async function main() {
  // A throw-away embedded server: the demo data it seeds must not land in any real database.
  const dir = await mkdtemp(join(tmpdir(), "mc-ussd-inputs-"));
  const database = await startDatabase({ kind: "embedded", dataDir: dir, poolSize: 4 }, createLogger("warn"));
  const db = await openDatabase(database.target);
  try {
    await seedReferenceData(db.prisma, { demo: true });
    const table = inputsTable(await measureInputs(db));
    const readme = await readFile(readmePath, "utf8");
    if (tableInReadme(readme) === null) throw new Error(`README.md has no ${START} … ${END} section`);
    const from = readme.indexOf(START) + START.length;
    await writeFile(readmePath, `${readme.slice(0, from)}\n\n${table}\n\n${readme.slice(readme.indexOf(END))}`);
    process.stdout.write(`${table}\n`);
  } finally {
    await db.close();
    await database.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
