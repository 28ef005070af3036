import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDemoMahallas, loadReferenceData, seedReferenceData } from "../core/reference/seed.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const LATIN_UZ_FORBIDDEN = /['`\u2018\u2019]/;

describe("reference data seed", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.close());

  it("covers all 14 regions and the 208 districts and cities, each under its region's code", async () => {
    const data = await loadReferenceData();
    expect(data.regions).toHaveLength(14);
    const districts = data.regions.flatMap((r) => r.districts.map((d) => ({ ...d, region: r.code })));
    expect(districts).toHaveLength(208);
    for (const d of districts) expect(d.code.startsWith(d.region)).toBe(true);
    const codes = [...data.regions.map((r) => r.code), ...districts.map((d) => d.code)];
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("names every region, district, benefit and visit reason in all three languages with correct Uzbek letters", async () => {
    const data = await loadReferenceData();
    const named = [
      ...data.regions,
      ...data.regions.flatMap((r) => r.districts),
      ...data.benefitTypes,
      ...data.visitReasons,
      ...(await loadDemoMahallas()).mahallas,
    ];
    for (const item of named) {
      for (const locale of ["uz", "uz-Cyrl", "ru"] as const) expect(item.names[locale].trim()).not.toBe("");
      expect(item.names.uz).not.toMatch(LATIN_UZ_FORBIDDEN);
      expect(item.names["uz-Cyrl"]).not.toMatch(/[A-Za-z]/);
    }
    expect(data.benefitTypes.map((b) => b.code)).toHaveLength(11);
  });

  it("is idempotent: a second run changes no row and adds none", async () => {
    const first = await seedReferenceData(db.prisma, { demo: true });
    const snapshot = async () => ({
      regions: await db.prisma.region.findMany({ orderBy: { id: "asc" } }),
      districts: await db.prisma.district.findMany({ orderBy: { id: "asc" } }),
      benefits: await db.prisma.benefitType.findMany({ orderBy: { id: "asc" } }),
      reasons: await db.prisma.visitReason.findMany({ orderBy: { id: "asc" } }),
      mahallas: await db.prisma.mahalla.findMany({ orderBy: { id: "asc" }, omit: { updatedAt: true } }),
    });
    const before = await snapshot();
    const second = await seedReferenceData(db.prisma, { demo: true });
    expect(second).toEqual(first);
    expect(await snapshot()).toEqual(before);
    expect(before.regions).toHaveLength(14);
    expect(before.districts).toHaveLength(208);
  });

  it("brings an edited name in the seed files into the database without touching other rows", async () => {
    const data = await loadReferenceData();
    const [first, ...rest] = data.regions;
    if (!first) throw new Error("no regions");
    const edited = {
      ...data,
      regions: [{ ...first, names: { ...first.names, ru: `${first.names.ru} (edited)` } }, ...rest],
    };
    const before = await db.prisma.district.findMany({ orderBy: { id: "asc" } });
    await seedReferenceData(db.prisma, { data: edited });
    expect((await db.prisma.region.findUniqueOrThrow({ where: { code: first.code } })).nameRu).toBe(
      `${first.names.ru} (edited)`,
    );
    expect(await db.prisma.district.findMany({ orderBy: { id: "asc" } })).toEqual(before);
    await seedReferenceData(db.prisma, { data });
    expect((await db.prisma.region.findUniqueOrThrow({ where: { code: first.code } })).nameRu).toBe(first.names.ru);
  });

  it("leaves every region with districts and marks demo mahallas as demo", async () => {
    const regions = await db.prisma.region.findMany({ include: { _count: { select: { districts: true } } } });
    for (const r of regions) expect(r._count.districts).toBeGreaterThan(0);
    const mahallas = await db.prisma.mahalla.findMany();
    expect(mahallas.length).toBeGreaterThan(0);
    expect(mahallas.every((m) => m.isDemo)).toBe(true);
  });
});
