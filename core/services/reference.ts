import type { PrismaClient } from "../db/database.js";
import type { Names } from "../domain/vocabulary.js";
import { namesOf, shortNamesOf } from "./names.js";

export interface NamedItem {
  id: number;
  code: string;
  names: Names;
}

export interface CatalogueItem extends NamedItem {
  shortNames: Names;
}

/** Uzbek letters with a modifier apostrophe compare as their plain letters when people type. */
export function foldForSearch(value: string): string {
  return value
    .toLowerCase()
    .replace(/[ʻʼ'`‘’]/g, "")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "");
}

/**
 * Reference data changes only on seed or import, and is read on almost every screen, so it is
 * cached in memory for a short while.
 */
export class ReferenceService {
  private cache = new Map<string, { at: number; value: unknown }>();
  /** Loads under way: when an entry runs out under load, the requests that find it so share one query. */
  private loading = new Map<string, Promise<unknown>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = 60_000,
  ) {}

  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value as T;
    const pending = this.loading.get(key);
    if (pending) return pending as Promise<T>;
    const loaded = load().then(
      (value) => {
        // A load that started before an invalidation is handed to its callers but not kept.
        if (this.loading.get(key) === loaded) {
          this.cache.set(key, { at: Date.now(), value });
          this.loading.delete(key);
        }
        return value;
      },
      (err: unknown) => {
        if (this.loading.get(key) === loaded) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, loaded);
    return loaded;
  }

  /** Forget cached lists (after an import). */
  invalidate(): void {
    this.cache.clear();
    this.loading.clear();
  }

  regions(): Promise<NamedItem[]> {
    return this.cached("regions", async () =>
      (await this.prisma.region.findMany({ orderBy: { code: "asc" } })).map((r) => ({
        id: r.id,
        code: r.code,
        names: namesOf(r),
      })),
    );
  }

  /** Districts of a region that have at least one active mahalla (others cannot be chosen yet). */
  districts(regionId: number): Promise<NamedItem[]> {
    return this.cached(`districts:${regionId}`, async () =>
      (
        await this.prisma.district.findMany({
          where: { regionId, mahallas: { some: { active: true } } },
          orderBy: { nameUz: "asc" },
        })
      ).map((d) => ({ id: d.id, code: d.code, names: namesOf(d) })),
    );
  }

  regionsWithMahallas(): Promise<NamedItem[]> {
    return this.cached("regions:with-mahallas", async () =>
      (
        await this.prisma.region.findMany({
          where: { districts: { some: { mahallas: { some: { active: true } } } } },
          orderBy: { code: "asc" },
        })
      ).map((r) => ({ id: r.id, code: r.code, names: namesOf(r) })),
    );
  }

  async mahallas(districtId: number, filter?: string): Promise<NamedItem[]> {
    const all = await this.cached(`mahallas:${districtId}`, async () =>
      (await this.prisma.mahalla.findMany({ where: { districtId, active: true }, orderBy: { nameUz: "asc" } })).map(
        (m) => ({ id: m.id, code: m.code, names: namesOf(m) }),
      ),
    );
    if (!filter) return all;
    const needle = foldForSearch(filter.trim());
    return all.filter((m) => Object.values(m.names).some((n) => foldForSearch(n).startsWith(needle)));
  }

  async mahalla(id: number) {
    const m = await this.prisma.mahalla.findUnique({ where: { id }, include: { district: true } });
    if (!m) return null;
    return {
      id: m.id,
      code: m.code,
      names: namesOf(m),
      district: {
        id: m.district.id,
        names: namesOf(m.district),
        insonPhone: m.district.insonPhone,
        insonAddress: (m.district.insonAddress as Names | null) ?? null,
      },
    };
  }

  benefitTypes(now: Date): Promise<CatalogueItem[]> {
    return this.cached(`benefits:${now.toISOString().slice(0, 10)}`, async () =>
      (
        await this.prisma.benefitType.findMany({
          where: { active: true, OR: [{ availableFrom: null }, { availableFrom: { lte: now } }] },
          orderBy: { sortOrder: "asc" },
        })
      ).map((b) => ({ id: b.id, code: b.code, names: namesOf(b), shortNames: shortNamesOf(b) })),
    );
  }

  visitReasons(): Promise<CatalogueItem[]> {
    return this.cached("reasons", async () =>
      (await this.prisma.visitReason.findMany({ where: { active: true }, orderBy: { sortOrder: "asc" } })).map((r) => ({
        id: r.id,
        code: r.code,
        names: namesOf(r),
        shortNames: shortNamesOf(r),
      })),
    );
  }
}
