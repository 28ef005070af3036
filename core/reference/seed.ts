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
interface InsonCentres {
  hotline: string;
  centres: { districtCode: string; phone: string; address: Names }[];
}

export interface ReferenceData {
  regions: RegionRecord[];
  benefitTypes: CatalogueRecord[];
  visitReasons: CatalogueRecord[];
  insonCentres: InsonCentres;
}

async function readJson<T>(name: string, dir = seedDataDir): Promise<T> {
  return JSON.parse(await readFile(join(dir, name), "utf8")) as T;
}

export async function loadReferenceData(dir = seedDataDir): Promise<ReferenceData> {
  const [regions, benefitTypes, visitReasons, insonCentres] = await Promise.all([
    readJson<RegionRecord[]>("regions.json", dir),
    readJson<CatalogueRecord[]>("benefit-types.json", dir),
    readJson<CatalogueRecord[]>("visit-reasons.json", dir),
    readJson<InsonCentres>("inson-centres.json", dir),
  ]);
  return { regions, benefitTypes, visitReasons, insonCentres };
}

export const loadDemoMahallas = (dir = seedDataDir) => readJson<DemoMahallas>("demo-mahallas.json", dir);

const nameColumns = (n: Names) => ({ nameUz: n.uz, nameUzCyrl: n["uz-Cyrl"], nameRu: n.ru });
const shortColumns = (n: Names) => ({ shortUz: n.uz, shortUzCyrl: n["uz-Cyrl"], shortRu: n.ru });

export interface SeedReport {
  regions: number;
  districts: number;
  benefitTypes: number;
  visitReasons: number;
  demoMahallas: number;
}

/**
 * Brings reference data in line with the seed files. Idempotent: rows are matched by their stable
 * code, so running it again changes nothing, and edited names in the files reach the database.
 */
export async function seedReferenceData(
  prisma: PrismaClient,
  options: { demo?: boolean; data?: ReferenceData } = {},
): Promise<SeedReport> {
  const data = options.data ?? (await loadReferenceData());
  const centres = new Map(data.insonCentres.centres.map((c) => [c.districtCode, c]));
  let districts = 0;
  for (const region of data.regions) {
    const row = await prisma.region.upsert({
      where: { code: region.code },
      create: { code: region.code, iso: region.iso, ...nameColumns(region.names) },
      update: { iso: region.iso, ...nameColumns(region.names) },
    });
    for (const d of region.districts) {
      const centre = centres.get(d.code);
      const columns = {
        kind: d.kind,
        regionId: row.id,
        ...nameColumns(d.names),
        ...(centre ? { insonPhone: centre.phone, insonAddress: { ...centre.address } } : {}),
      };
      await prisma.district.upsert({ where: { code: d.code }, create: { code: d.code, ...columns }, update: columns });
      districts++;
    }
  }
  for (const b of data.benefitTypes) {
    const columns = {
      sortOrder: b.sortOrder,
      active: b.active ?? true,
      availableFrom: b.availableFrom ? new Date(`${b.availableFrom}T00:00:00Z`) : null,
      ...nameColumns(b.names),
      ...shortColumns(b.shortNames),
    };
    await prisma.benefitType.upsert({ where: { code: b.code }, create: { code: b.code, ...columns }, update: columns });
  }
  for (const r of data.visitReasons) {
    const columns = {
      sortOrder: r.sortOrder,
      active: r.active ?? true,
      ...nameColumns(r.names),
      ...shortColumns(r.shortNames),
    };
    await prisma.visitReason.upsert({ where: { code: r.code }, create: { code: r.code, ...columns }, update: columns });
  }
  const demoMahallas = options.demo ? await seedDemoMahallas(prisma) : 0;
  return {
    regions: data.regions.length,
    districts,
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
  for (const m of demo.mahallas) {
    const districtId = districtIds.get(m.districtCode);
    if (districtId === undefined) throw new Error(`demo mahalla ${m.code}: unknown district ${m.districtCode}`);
    const columns = { districtId, ...nameColumns(m.names), households: m.households ?? null, isDemo: true };
    await prisma.mahalla.upsert({ where: { code: m.code }, create: { code: m.code, ...columns }, update: columns });
  }
  return demo.mahallas.length;
}
