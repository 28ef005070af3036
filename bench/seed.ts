/**
 * Seeds a benchmark database before the server starts (run as its own process, so the embedded
 * database's single handle is closed again before the server opens it):
 *   node --import tsx bench/seed.ts <citizens> <postgresql://… | embedded data directory>
 * Prints one JSON line: what was written and how long it took.
 */
import { openDatabase, type PrismaClient } from "../core/db/database.js";
import { startEmbeddedServer } from "../core/db/embedded-server.js";
import { makePinfl } from "../core/domain/pinfl.js";
import { dammDigit } from "../core/domain/reference.js";
import { seedReferenceData } from "../core/reference/seed.js";
import {
  BENCH_DISTRICT_CODE,
  BENCH_MAHALLAS,
  BENCH_WORKER_CAPACITY,
  BENCH_WORKERS,
  localeOf,
  paydayPhoneOf,
  phoneOf,
  poolSizes,
  pools,
  telegramIdOf,
} from "./population.js";

const reference = (kind: "A", n: number) => {
  const body = String(n).padStart(7, "0");
  const digits = `${body}${dammDigit(body)}`;
  return `${kind}-${digits.slice(0, 4)}-${digits.slice(4)}`;
};

async function seed(prisma: PrismaClient, citizens: number, paydaySms: number) {
  await seedReferenceData(prisma, { demo: false });
  const district = await prisma.district.findUniqueOrThrow({ where: { code: BENCH_DISTRICT_CODE } });
  const benefits = await prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" } });
  const benefit = (code: string) => {
    const found = benefits.find((b) => b.code === code);
    if (!found) throw new Error(`benefit ${code} is not seeded`);
    return found.id;
  };

  await prisma.mahalla.createMany({
    data: Array.from({ length: BENCH_MAHALLAS }, (_, i) => ({
      code: `BENCH-${String(i + 1).padStart(4, "0")}`,
      districtId: district.id,
      nameUz: `Bench ${i + 1} MFY`,
      nameUzCyrl: `Бенч ${i + 1} МФЙ`,
      nameRu: `Махалля Бенч ${i + 1}`,
      households: 800 + (i % 400),
    })),
  });
  const mahallas = await prisma.mahalla.findMany({
    where: { code: { startsWith: "BENCH-" } },
    orderBy: { code: "asc" },
    select: { id: true },
  });
  const perWorker = Math.ceil(BENCH_MAHALLAS / BENCH_WORKERS);
  for (let w = 0; w < BENCH_WORKERS; w++) {
    await prisma.staff.create({
      data: {
        fullName: `Bench Worker ${w + 1}`,
        phone: `+99891${String(2_000_000 + w)}`,
        role: "social_worker",
        districtId: district.id,
        dailyCapacity: BENCH_WORKER_CAPACITY,
        mahallas: {
          create: mahallas.slice(w * perWorker, (w + 1) * perWorker).map((m) => ({ mahallaId: m.id })),
        },
      },
    });
  }

  // Bulk rows go in as a few set-based statements: row-by-row ORM inserts would take minutes.
  const index = Array.from({ length: citizens }, (_, i) => i);
  await prisma.$executeRawUnsafe(
    `insert into "Citizen" (phone, "telegramUserId", "telegramChatId", pinfl, "fullName", locale, "mahallaId",
       "externalId", "updatedAt")
     select phone, tg, tg, pinfl, 'Bench Citizen ' || n, locale, mahalla, 'bench-citizen-' || n, now()
     from unnest($1::int[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[])
       as u(n, phone, tg, pinfl, locale, mahalla)`,
    index,
    index.map(phoneOf),
    index.map((i) => String(telegramIdOf(i))),
    index.map((i) => makePinfl(new Date(Date.UTC(1950 + (i % 50), i % 12, 1 + (i % 28))), i % 2 === 1, i % 1_000_000)),
    index.map(localeOf),
    index.map((i) => mahallas[i % mahallas.length]?.id ?? null),
  );
  // Payment day's feature-phone citizens: a phone and no Telegram, so their notice goes by SMS.
  const sms = Array.from({ length: paydaySms }, (_, i) => i);
  await prisma.$executeRawUnsafe(
    `insert into "Citizen" (phone, "fullName", locale, "mahallaId", "externalId", "updatedAt")
     select phone, 'Payday Citizen ' || n, locale, mahalla, 'payday-citizen-' || n, now()
     from unnest($1::int[], $2::text[], $3::text[], $4::int[]) as u(n, phone, locale, mahalla)`,
    sms,
    sms.map(paydayPhoneOf),
    sms.map(localeOf),
    sms.map((i) => mahallas[i % mahallas.length]?.id ?? null),
  );
  const benchCitizens = `select id, locale, substring("externalId" from 15)::int as n from "Citizen"
     where "externalId" like 'bench-citizen-%'`;
  // Every citizen holds a social card with three credited payments.
  const cards = await prisma.$executeRawUnsafe(
    `insert into "SocialCard" ("externalId", "citizenId", "maskedNumber", status, "updatedAt")
     select 'bench-card-' || c.n, c.id, '**** ' || (1000 + c.n % 9000), 'active', now() from (${benchCitizens}) c`,
  );
  const payments = await prisma.$executeRawUnsafe(
    `insert into "Payment" ("externalId", "citizenId", "cardId", "benefitTypeId", "amountTiyin", period, "creditedAt")
     select 'bench-pay-' || c.n || '-' || k, c.id, s.id, ($1::int[])[1 + c.n % 3],
       50000000 + (c.n::bigint * 7919 + k * 104729) % 150000000, '2025-0' || (k + 2),
       make_timestamp(2025, k + 2, 5, 6, 0, 0)
     from (${benchCitizens}) c join "SocialCard" s on s."citizenId" = c.id cross join generate_series(0, 2) k`,
    [benefit("AGE_PENSION"), benefit("CHILD_ALLOWANCE"), benefit("LOW_INCOME_ASSISTANCE")],
  );

  // Citizens who check their applications have two: one just submitted, one under review. Both
  // are recent, inside every service deadline: overdue ones would have the deadline tick queue
  // escalations and late notices at start, whose delivery would run beside every measured point.
  const status = pools(poolSizes(citizens)).status;
  const ns = Array.from({ length: status.size }, (_, k) => status.first + k);
  const insertApplications = (refs: string[], benefitId: number, answers: object, state: string, daysAgo: number) =>
    prisma.$executeRawUnsafe(
      `insert into "Application" (reference, "citizenId", "benefitTypeId", answers, status, channel, locale,
         "submittedAt", "updatedAt")
       select u.ref, c.id, $3, $4::jsonb, $5, 'ussd', c.locale, now() - make_interval(days => $6::int, mins => c.n % 600), now()
       from unnest($1::text[], $2::int[]) as u(ref, n) join (${benchCitizens}) c on c.n = u.n`,
      refs,
      ns,
      benefitId,
      JSON.stringify(answers),
      state,
      daysAgo,
    );
  const applications =
    (await insertApplications(
      ns.map((_, k) => reference("A", 2 * k + 1)),
      benefit("CHILD_ALLOWANCE"),
      { household_size: 5, children_under_18: 3, monthly_income: 150_000_000 },
      "submitted",
      1,
    )) +
    (await insertApplications(
      ns.map((_, k) => reference("A", 2 * k + 2)),
      benefit("LOW_INCOME_ASSISTANCE"),
      { household_size: 5, monthly_income: 150_000_000 },
      "under_review",
      2,
    ));
  await prisma.$executeRawUnsafe(
    `insert into "ApplicationStatusChange" ("applicationId", "fromStatus", "toStatus", actor, "createdAt")
     select id, null, 'submitted', 'citizen', "submittedAt" from "Application"
     union all
     select id, 'submitted', 'under_review', 'api:bench', "submittedAt" + interval '2 hours' from "Application"
     where status = 'under_review'`,
  );

  return {
    mahallas: mahallas.length,
    workers: BENCH_WORKERS,
    citizens,
    paydaySms,
    cards,
    payments,
    applications,
  };
}

async function main() {
  const citizens = Number(process.argv[2]);
  const target = process.argv[3];
  const paydaySms = Number(process.argv[4] ?? 0);
  if (!Number.isInteger(citizens) || citizens < 100 || !target) {
    throw new Error("usage: seed.ts <citizens ≥ 100> <postgresql://… | data directory> [payment-day SMS citizens]");
  }
  const started = performance.now();
  // A data directory: the embedded server the product will run on it, stopped again once seeded.
  const embedded = /^postgres(ql)?:\/\//.test(target) ? undefined : await startEmbeddedServer({ dataDir: target });
  const db = await openDatabase({ kind: "postgres", url: embedded?.url ?? target, poolSize: 4 });
  try {
    const written = await seed(db.prisma, citizens, Number.isInteger(paydaySms) && paydaySms > 0 ? paydaySms : 0);
    process.stdout.write(`${JSON.stringify({ ...written, seconds: (performance.now() - started) / 1000 })}\n`);
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench seed failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
