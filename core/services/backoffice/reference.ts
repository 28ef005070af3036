import type { Prisma, PrismaClient } from "../../db/database.js";
import { namesOf } from "../names.js";
import { type PageRequest, pageOf } from "./paging.js";

/** The register is listed by name. */
const listedMahallas = {
  orderBy: [{ nameUz: "asc" }, { id: "asc" }],
  include: { district: { select: { code: true } } },
} satisfies Prisma.MahallaFindManyArgs;

/** Regions, districts and the mahalla register, as the back office lists them. */
export class BackOfficeReference {
  constructor(private readonly prisma: PrismaClient) {}

  async regions() {
    const rows = await this.prisma.region.findMany({ orderBy: { code: "asc" } });
    return rows.map((r) => ({ id: r.id, code: r.code, iso: r.iso, names: namesOf(r) }));
  }

  async districts(filter: { regionId?: number | undefined; regionCode?: string | undefined }) {
    const rows = await this.prisma.district.findMany({
      where: {
        ...(filter.regionId !== undefined ? { regionId: filter.regionId } : {}),
        ...(filter.regionCode ? { region: { code: filter.regionCode } } : {}),
      },
      orderBy: { code: "asc" },
      include: { region: { select: { code: true } }, _count: { select: { mahallas: true } } },
    });
    return rows.map((d) => ({
      id: d.id,
      code: d.code,
      kind: d.kind,
      regionCode: d.region.code,
      names: namesOf(d),
      insonPhone: d.insonPhone,
      mahallaCount: d._count.mahallas,
    }));
  }

  async mahallas(
    filter: { districtCode?: string | undefined; q?: string | undefined; active?: boolean | undefined } & PageRequest,
  ) {
    const q = filter.q?.trim();
    // Uzbek apostrophes are typed in several ways (ʻ ' ‘ `): search the spellings people use.
    const variants = q ? [...new Set([q, q.replace(/['‘’`ʼ]/g, "ʻ"), q.replace(/[ʻʼ‘’`]/g, "'")])] : [];
    const where: Prisma.MahallaWhereInput = {
      ...(filter.districtCode ? { district: { code: filter.districtCode } } : {}),
      ...(filter.active !== undefined ? { active: filter.active } : {}),
      ...(q
        ? {
            OR: [
              { code: { startsWith: q } },
              ...variants.flatMap((v) =>
                (["nameUz", "nameUzCyrl", "nameRu"] as const).map((field) => ({
                  [field]: { contains: v, mode: "insensitive" as const },
                })),
              ),
            ],
          }
        : {}),
    };
    return pageOf(filter, {
      rows: (window) => this.prisma.mahalla.findMany({ where, ...listedMahallas, ...window }),
      count: () => this.prisma.mahalla.count({ where }),
      item: (m) => ({
        id: m.id,
        code: m.code,
        districtCode: m.district.code,
        names: namesOf(m),
        households: m.households,
        active: m.active,
        isDemo: m.isDemo,
      }),
    });
  }
}
