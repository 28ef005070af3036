import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PrismaClient } from "../db/database.js";
import { seedDataDir } from "../db/paths.js";

/** Names in the three languages of the product, as the seed files carry them. */
export interface Names {
  uz: string;
  "uz-Cyrl": string;
  ru: string;
}

interface RegionRecord {
  code: string;
  iso: string;
  names: Names;
  districts: { code: string; kind: "district" | "city"; names: Names }[];
}
interface CatalogueRecord {
  code: string;
  sortOrder: number;
  active?: boolean;
  availableFrom?: string;
  names: Names;
  shortNames: Names;
}
interface DemoMahallas {
  demo: true;
  mahallas: { code: string; districtCode: string; names: Names; households?: number }[];
}
export interface ReferenceData {
  regions: RegionRecord[];
  benefitTypes: CatalogueRecord[];
  visitReasons: CatalogueRecord[];
}

async function readJson<T>(name: string, dir = seedDataDir): Promise<T> {
  return JSON.parse(await readFile(join(dir, name), "utf8")) as T;
}

export async function loadReferenceData(dir = seedDataDir): Promise<ReferenceData> {
  const [regions, benefitTypes, visitReasons] = await Promise.all([
    readJson<RegionRecord[]>("regions.json", dir),
    readJson<CatalogueRecord[]>("benefit-types.json", dir),
    readJson<CatalogueRecord[]>("visit-reasons.json", dir),
  ]);
  return { regions, benefitTypes, visitReasons };
}

export const loadDemoMahallas = (dir = seedDataDir) => readJson<DemoMahallas>("demo-mahallas.json", dir);

interface HolidayFile {
  fixed: { monthDay: string; name: string }[];
}

/**
 * The fixed-date public holidays of `years` (Labour Code, article 208), with the rule that a holiday
 * on a Saturday or Sunday gives the next working day off. Pure, so the rule is tested apart.
 */
export function fixedHolidays(
  fixed: HolidayFile["fixed"],
  years: number[],
): { date: string; kind: "holiday"; name: string }[] {
  const out = new Map<string, { date: string; kind: "holiday"; name: string }>();
  const dates = years.flatMap((y) => fixed.map((h) => ({ date: `${y}-${h.monthDay}`, name: h.name })));
  for (const h of dates) out.set(h.date, { ...h, kind: "holiday" });
  for (const h of dates) {
    const day = new Date(`${h.date}T00:00:00Z`);
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) continue;
    // The next Monday–Friday day that is not itself a holiday takes the day off.
    do day.setUTCDate(day.getUTCDate() + 1);
    while (day.getUTCDay() === 0 || day.getUTCDay() === 6 || out.has(day.toISOString().slice(0, 10)));
    const moved = day.toISOString().slice(0, 10);
    out.set(moved, { date: moved, kind: "holiday", name: `${h.name} (ko'chirilgan dam olish kuni)` });
  }
  return [...out.values()].sort((a, b) => a.date.localeCompare(b.date));
}

/**
 * Seeds the fixed-date holidays of last, this and next year (Tashkent). Only missing dates are
 * added: a date the agency has set through the API (a transfer, a correction) is never overwritten.
 */
export async function seedHolidays(prisma: PrismaClient, now: Date, dir = seedDataDir): Promise<number> {
  const file = await readJson<HolidayFile>("holidays.json", dir);
  const year = new Date(now.getTime() + 5 * 3600_000).getUTCFullYear();
  const rows = fixedHolidays(file.fixed, [year - 1, year, year + 1]);
  await prisma.holiday.createMany({
    data: rows.map((h) => ({ date: new Date(`${h.date}T00:00:00Z`), kind: h.kind, name: h.name })),
    skipDuplicates: true,
  });
  return rows.length;
}

const nameColumns = (n: Names) => ({ nameUz: n.uz, nameUzCyrl: n["uz-Cyrl"], nameRu: n.ru });
const shortColumns = (n: Names) => ({ shortUz: n.uz, shortUzCyrl: n["uz-Cyrl"], shortRu: n.ru });

export interface SeedReport {
  regions: number;
  districts: number;
  benefitTypes: number;
  visitReasons: number;
  demoMahallas: number;
  /** Fixed-date public holidays (and their moved days off) known for last, this and next year. */
  holidays: number;
}

/**
 * Makes a table's rows match `desired`, matched by stable code: missing rows are inserted in one
 * statement, changed ones updated, unchanged ones left alone. A start-up on an already seeded
 * database therefore costs one read per table. Columns named in `initialOnly` are written when a
 * row is created and never again: the agency owns them afterwards (through the API), so a restart
 * must not put the seed file's value back.
 */
async function syncByCode<Row extends { code: string }>(
  existing: ({ id: number } & Record<string, unknown>)[],
  desired: Row[],
  createMany: (rows: Row[]) => Promise<unknown>,
  update: (id: number, row: Row) => Promise<unknown>,
  initialOnly: readonly (keyof Row)[] = [],
): Promise<void> {
  const byCode = new Map(existing.map((row) => [row.code as string, row]));
  const missing: Row[] = [];
  for (const row of desired) {
    const current = byCode.get(row.code);
    if (!current) {
      missing.push(row);
      continue;
    }
    const owned = Object.fromEntries(Object.entries(row).filter(([key]) => !initialOnly.includes(key as keyof Row)));
    if (Object.entries(owned).some(([key, value]) => JSON.stringify(current[key]) !== JSON.stringify(value))) {
      await update(current.id, owned as Row);
    }
  }
  if (missing.length) await createMany(missing);
}

/**
 * Brings reference data in line with the seed files. Idempotent: rows are matched by their stable
 * code, so running it again changes nothing, and edited names in the files reach the database.
 */
export async function seedReferenceData(
  prisma: PrismaClient,
  options: { demo?: boolean; data?: ReferenceData; now?: Date } = {},
): Promise<SeedReport> {
  const data = options.data ?? (await loadReferenceData());

  await syncByCode(
    await prisma.region.findMany(),
    data.regions.map((r) => ({ code: r.code, iso: r.iso, ...nameColumns(r.names) })),
    (rows) => prisma.region.createMany({ data: rows }),
    (id, { code: _code, ...row }) => prisma.region.update({ where: { id }, data: row }),
  );
  const regionIds = new Map(
    (await prisma.region.findMany({ select: { id: true, code: true } })).map((r) => [r.code, r.id]),
  );
  // The "Inson" centres' phones and addresses are not seed data: the agency sets them through the
  // API, and the seed never touches those columns.
  const districts = data.regions.flatMap((region) =>
    region.districts.map((d) => ({
      code: d.code,
      kind: d.kind,
      regionId: regionIds.get(region.code) as number,
      ...nameColumns(d.names),
    })),
  );
  await syncByCode(
    await prisma.district.findMany(),
    districts,
    (rows) => prisma.district.createMany({ data: rows }),
    (id, { code: _code, ...row }) => prisma.district.update({ where: { id }, data: row }),
  );
  await syncByCode(
    await prisma.benefitType.findMany(),
    data.benefitTypes.map((b) => ({
      code: b.code,
      sortOrder: b.sortOrder,
      active: b.active ?? true,
      availableFrom: b.availableFrom ? new Date(`${b.availableFrom}T00:00:00Z`) : null,
      ...nameColumns(b.names),
      ...shortColumns(b.shortNames),
    })),
    (rows) => prisma.benefitType.createMany({ data: rows }),
    (id, { code: _code, ...row }) => prisma.benefitType.update({ where: { id }, data: row }),
    // Each type's start date on the social card is the agency's (PUT /api/v1/benefit-types/{code}).
    ["availableFrom"],
  );
  await syncByCode(
    await prisma.visitReason.findMany(),
    data.visitReasons.map((r) => ({
      code: r.code,
      sortOrder: r.sortOrder,
      active: r.active ?? true,
      ...nameColumns(r.names),
      ...shortColumns(r.shortNames),
    })),
    (rows) => prisma.visitReason.createMany({ data: rows }),
    (id, { code: _code, ...row }) => prisma.visitReason.update({ where: { id }, data: row }),
  );
  const demoMahallas = options.demo ? await seedDemoMahallas(prisma) : 0;
  const holidays = await seedHolidays(prisma, options.now ?? new Date());
  return {
    holidays,
    regions: data.regions.length,
    districts: districts.length,
    benefitTypes: data.benefitTypes.length,
    visitReasons: data.visitReasons.length,
    demoMahallas,
  };
}

/** The demo mahalla set for the pilot areas; marked `isDemo` so it can be told from the real register. */
export async function seedDemoMahallas(prisma: PrismaClient): Promise<number> {
  const demo = await loadDemoMahallas();
  const districtIds = new Map(
    (await prisma.district.findMany({ select: { id: true, code: true } })).map((d) => [d.code, d.id]),
  );
  const desired = demo.mahallas.map((m) => {
    const districtId = districtIds.get(m.districtCode);
    if (districtId === undefined) throw new Error(`demo mahalla ${m.code}: unknown district ${m.districtCode}`);
    return { code: m.code, districtId, ...nameColumns(m.names), households: m.households ?? null, isDemo: true };
  });
  await syncByCode(
    await prisma.mahalla.findMany({ where: { code: { in: desired.map((m) => m.code) } } }),
    desired,
    (rows) => prisma.mahalla.createMany({ data: rows }),
    (id, { code: _code, ...row }) => prisma.mahalla.update({ where: { id }, data: row }),
  );
  return desired.length;
}
