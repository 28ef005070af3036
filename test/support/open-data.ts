import type { PrismaClient } from "../../core/db/database.js";
import { random } from "../../core/reference/random.js";
import { seedReferenceData } from "../../core/reference/seed.js";

/**
 * Generated activity for the open-data tests: thousands of citizens over several districts in three
 * regions and seven months, with every status, channel and language, written with createMany. The
 * returned records are what was written, so tests can compute every expected figure on their own.
 */

export interface WorldMahalla {
  id: number;
  districtId: number;
  households: number | null;
  active: boolean;
}
export interface WorldCitizen {
  id: number;
  mahallaId: number | null;
  locale: string | null;
}
export interface WorldApplication {
  id: number;
  citizenId: number;
  benefitTypeId: number;
  status: string;
  channel: string;
  locale: string;
  submittedAt: Date;
  decidedAt: Date | null;
}
export interface WorldAppeal {
  citizenId: number;
  status: string;
  createdAt: Date;
}
export interface WorldVisit {
  id: number;
  citizenId: number;
  mahallaId: number;
  reasonId: number;
  status: string;
  channel: string;
  createdAt: Date;
  /** Status changes written for the visit (toStatus, at). */
  history: { toStatus: string; at: Date }[];
}
export interface OpenDataWorld {
  now: Date;
  regions: { id: number; code: string }[];
  districts: { id: number; code: string; regionId: number }[];
  mahallas: WorldMahalla[];
  citizens: WorldCitizen[];
  benefitTypes: { id: number; code: string }[];
  visitReasons: { id: number; code: string }[];
  applications: WorldApplication[];
  appeals: WorldAppeal[];
  visits: WorldVisit[];
}

export { random };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TASHKENT_OFFSET = 5 * HOUR;

/** Start of the Tashkent calendar month `back` months before the one containing `now`, as a UTC instant. */
function tashkentMonthStart(now: Date, back: number): Date {
  const local = new Date(now.getTime() + TASHKENT_OFFSET);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - back, 1) - TASHKENT_OFFSET);
}

export interface WorldOptions {
  seed?: number;
  /** Citizens per generated district, in order: see DISTRICT_PLAN. */
  citizens?: number[];
  now?: Date;
}

/**
 * Districts used, with citizens each: two Tashkent city districts and Yangiyoʻl (demo mahallas with
 * households), a Samarqand district with households, one without, and two small Andijon districts
 * near and under the threshold.
 */
const DISTRICT_PLAN = ["1726266", "1726294", "1727259", "1718203", "1718206", "1703202", "1703203"];
const DEFAULT_CITIZENS = [1100, 650, 750, 260, 45, 14, 4];

export async function generateOpenDataWorld(prisma: PrismaClient, options: WorldOptions = {}): Promise<OpenDataWorld> {
  const rnd = random(options.seed ?? 20_250_801);
  const now = options.now ?? new Date();
  const plan = options.citizens ?? DEFAULT_CITIZENS;
  await seedReferenceData(prisma, { demo: true });

  const districtRows = await prisma.district.findMany({ where: { code: { in: DISTRICT_PLAN } } });
  const districtId = (code: string) => (districtRows.find((d) => d.code === code) as { id: number }).id;
  // Extra mahallas: Samarqand A with households, Samarqand B without, Andijon with; plus a Tashkent
  // city mahalla without a household count and an inactive Yangiyoʻl mahalla that still has one.
  const extra: { code: string; district: string; households: number | null; active?: boolean }[] = [
    { code: "T-1718203-1", district: "1718203", households: 3100 },
    { code: "T-1718203-2", district: "1718203", households: 2450 },
    { code: "T-1718206-1", district: "1718206", households: null },
    { code: "T-1703202-1", district: "1703202", households: 1800 },
    { code: "T-1703203-1", district: "1703203", households: 950 },
    { code: "T-1726266-X", district: "1726266", households: null },
    { code: "T-1727259-X", district: "1727259", households: 4000, active: false },
  ];
  await prisma.mahalla.createMany({
    data: extra.map((m) => ({
      code: m.code,
      districtId: districtId(m.district),
      nameUz: m.code,
      nameUzCyrl: m.code,
      nameRu: m.code,
      households: m.households,
      active: m.active ?? true,
    })),
  });
  const mahallas = (
    await prisma.mahalla.findMany({
      where: { districtId: { in: districtRows.map((d) => d.id) } },
      orderBy: { id: "asc" },
    })
  ).map((m) => ({ id: m.id, districtId: m.districtId, households: m.households, active: m.active }));

  // Citizens: spread over each planned district's mahallas, plus some without a mahalla.
  const citizenData: { phone: string; mahallaId: number | null; locale: string | null }[] = [];
  let phone = 0;
  const nextPhone = () => `+99899${String(1_000_000 + phone++).padStart(7, "0")}`;
  const locales = [
    ["uz", 60],
    ["ru", 25],
    ["uz-Cyrl", 13],
    [null, 2],
  ] as const;
  plan.forEach((count, i) => {
    const inDistrict = mahallas.filter((m) => m.districtId === districtId(DISTRICT_PLAN[i] as string));
    for (let n = 0; n < count; n++) {
      citizenData.push({ phone: nextPhone(), mahallaId: rnd.pick(inDistrict).id, locale: rnd.weighted(locales) });
    }
  });
  for (let n = 0; n < 40; n++) citizenData.push({ phone: nextPhone(), mahallaId: null, locale: "uz" });
  const citizens = (
    await prisma.citizen.createManyAndReturn({ data: citizenData, select: { id: true, mahallaId: true, locale: true } })
  ).map((c) => ({ id: c.id, mahallaId: c.mahallaId, locale: c.locale }));

  const benefitTypes = (await prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" } })).map((b) => ({
    id: b.id,
    code: b.code,
  }));
  const visitReasons = (await prisma.visitReason.findMany({ orderBy: { sortOrder: "asc" } })).map((r) => ({
    id: r.id,
    code: r.code,
  }));
  // Uneven demand: the first benefit types are common, the last ones rare.
  const benefitWeights = benefitTypes.map((b, i) => [b.id, Math.max(1, 24 - i * 2.5)] as const);
  const reasonWeights = visitReasons.map((r, i) => [r.id, 12 - i * 1.5] as const);

  /** A moment in one of the last seven Tashkent months, never after `now`. */
  const moment = () => {
    const back = rnd.int(0, 6);
    const start = tashkentMonthStart(now, back).getTime();
    const end = Math.min(tashkentMonthStart(now, back - 1).getTime(), now.getTime() - HOUR);
    return new Date(start + Math.floor(rnd.next() * Math.max(1, end - start)));
  };
  const clampToNow = (t: number) => new Date(Math.min(t, now.getTime() - 60_000));

  let refCounter = 0;
  const reference = (kind: string) => `${kind}-T${String(refCounter++).padStart(8, "0")}`;
  const appData: (Omit<WorldApplication, "id"> & { reference: string })[] = [];
  for (const c of citizens) {
    const n = rnd.weighted([
      [0, 20],
      [1, 45],
      [2, 25],
      [3, 10],
    ] as const);
    for (let k = 0; k < n; k++) {
      const submittedAt = moment();
      const status = rnd.weighted([
        ["submitted", 14],
        ["under_review", 10],
        ["approved", 33],
        ["paid", 10],
        ["rejected", 23],
        ["withdrawn", 10],
      ] as const);
      const decided = status === "approved" || status === "paid" || status === "rejected";
      // Some applications back under review after an upheld appeal keep their earlier decision time.
      const reopened = status === "under_review" && rnd.next() < 0.3;
      const decidedAt =
        decided || reopened ? clampToNow(submittedAt.getTime() + Math.floor(rnd.next() * 40 * DAY) + HOUR) : null;
      appData.push({
        reference: reference("A"),
        citizenId: c.id,
        benefitTypeId: rnd.weighted(benefitWeights),
        status,
        channel: rnd.weighted([
          ["telegram", 55],
          ["ussd", 40],
          ["api", 5],
        ] as const),
        locale: rnd.weighted([
          ["uz", 60],
          ["ru", 25],
          ["uz-Cyrl", 15],
        ] as const),
        submittedAt,
        decidedAt,
      });
    }
  }
  const createdApps = await prisma.application.createManyAndReturn({
    data: appData.map((a) => ({ ...a, answers: {} })),
    select: { id: true, reference: true },
  });
  const appIds = new Map(createdApps.map((a) => [a.reference, a.id]));
  const applications: WorldApplication[] = appData.map(({ reference: ref, ...a }) => ({
    id: appIds.get(ref) as number,
    ...a,
  }));
  await prisma.applicationStatusChange.createMany({
    data: applications.map((a) => ({
      applicationId: a.id,
      toStatus: "submitted",
      actor: "citizen",
      createdAt: a.submittedAt,
    })),
  });

  // Appeals against a share of rejected applications.
  const appealData: (WorldAppeal & { reference: string; applicationId: number; reason: string; channel: string })[] =
    [];
  for (const a of applications) {
    if (a.status !== "rejected" || !a.decidedAt || rnd.next() > 0.45) continue;
    appealData.push({
      reference: reference("P"),
      applicationId: a.id,
      citizenId: a.citizenId,
      reason: "test",
      channel: a.channel === "api" ? "telegram" : a.channel,
      status: rnd.weighted([
        ["received", 25],
        ["under_review", 20],
        ["upheld", 20],
        ["dismissed", 35],
      ] as const),
      createdAt: clampToNow(a.decidedAt.getTime() + rnd.int(1, 10) * DAY),
    });
  }
  await prisma.appeal.createMany({ data: appealData });
  const appeals = appealData.map((a) => ({ citizenId: a.citizenId, status: a.status, createdAt: a.createdAt }));

  // Visit requests: usually in the citizen's own mahalla, sometimes elsewhere (a relative's home).
  const visitData: (Omit<WorldVisit, "id" | "history"> & { reference: string; slotDate: Date; slotPart: string })[] =
    [];
  const visitMahallas = mahallas.filter((m) => m.active);
  for (const c of citizens) {
    const n = rnd.weighted([
      [0, 55],
      [1, 35],
      [2, 10],
    ] as const);
    for (let k = 0; k < n; k++) {
      const createdAt = moment();
      const mahallaId = c.mahallaId === null || rnd.next() < 0.04 ? rnd.pick(visitMahallas).id : c.mahallaId;
      visitData.push({
        reference: reference("V"),
        citizenId: c.id,
        mahallaId,
        reasonId: rnd.weighted(reasonWeights),
        status: rnd.weighted([
          ["requested", 8],
          ["accepted", 8],
          ["rescheduled", 4],
          ["done", 55],
          ["not_home", 10],
          ["cancelled", 15],
        ] as const),
        channel: rnd.weighted([
          ["telegram", 60],
          ["ussd", 40],
        ] as const),
        createdAt,
        slotDate: new Date(Date.UTC(2025, 0, 1)),
        slotPart: "morning",
      });
    }
  }
  const createdVisits = await prisma.visitRequest.createManyAndReturn({
    data: visitData,
    select: { id: true, reference: true },
  });
  const visitIds = new Map(createdVisits.map((v) => [v.reference, v.id]));
  const visits: WorldVisit[] = visitData.map(({ reference: ref, slotDate: _d, slotPart: _p, ...v }) => {
    const history: { toStatus: string; at: Date }[] = [{ toStatus: "requested", at: v.createdAt }];
    if (v.status === "done" && rnd.next() > 0.05) {
      // Mostly within days; some take weeks. A few done visits carry no history (imported).
      const hours = rnd.weighted([
        [rnd.int(1, 30), 35],
        [rnd.int(30, 120), 45],
        [rnd.int(120, 500), 20],
      ] as const);
      history.push({ toStatus: "accepted", at: new Date(v.createdAt.getTime() + 30 * 60_000) });
      history.push({
        toStatus: "done",
        at: clampToNow(v.createdAt.getTime() + hours * HOUR + rnd.int(0, 59) * 60_000),
      });
    }
    if (v.status === "cancelled") history.push({ toStatus: "cancelled", at: clampToNow(v.createdAt.getTime() + DAY) });
    return { id: visitIds.get(ref) as number, ...v, history };
  });
  await prisma.visitStatusChange.createMany({
    data: visits.flatMap((v) =>
      v.history.map((h) => ({ visitId: v.id, toStatus: h.toStatus, actor: "test", createdAt: h.at })),
    ),
  });

  const regionIds = [...new Set(districtRows.map((d) => d.regionId))];
  const regions = (await prisma.region.findMany({ where: { id: { in: regionIds } } })).map((r) => ({
    id: r.id,
    code: r.code,
  }));
  return {
    now,
    regions,
    districts: districtRows.map((d) => ({ id: d.id, code: d.code, regionId: d.regionId })),
    mahallas,
    citizens,
    benefitTypes,
    visitReasons,
    applications,
    appeals,
    visits,
  };
}
