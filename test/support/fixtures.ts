import type { PrismaClient } from "../../core/db/database.js";
import { makePinfl } from "../../core/domain/pinfl.js";
import type { Locale } from "../../core/domain/vocabulary.js";
import { seedReferenceData } from "../../core/reference/seed.js";

/** The pilot district used by most flow tests: Yangiyoʻl, Tashkent region (12 demo mahallas). */
export const PILOT_DISTRICT = "1727259";

export interface World {
  districtId: number;
  regionId: number;
  mahallaId: number;
  otherMahallaId: number;
  workerId: number;
}

/** Reference data, the demo mahallas, and a social worker (on Telegram) serving the first mahalla. */
export async function setupWorld(prisma: PrismaClient): Promise<World> {
  await seedReferenceData(prisma, { demo: true });
  const district = await prisma.district.findUniqueOrThrow({ where: { code: PILOT_DISTRICT } });
  const [first, second] = await prisma.mahalla.findMany({
    where: { districtId: district.id },
    orderBy: { code: "asc" },
  });
  if (!first || !second) throw new Error("demo mahallas missing");
  const worker = await prisma.staff.create({
    data: {
      fullName: "Dilnoza Karimova",
      phone: "+998711112233",
      role: "social_worker",
      districtId: district.id,
      telegramUserId: 7001n,
      telegramChatId: 7001n,
      dailyCapacity: 2,
      mahallas: { create: [{ mahallaId: first.id }] },
    },
  });
  return {
    districtId: district.id,
    regionId: district.regionId,
    mahallaId: first.id,
    otherMahallaId: second.id,
    workerId: worker.id,
  };
}

let serial = 1;
export const nextPinfl = () => makePinfl(new Date(Date.UTC(1985, 4, 17)), serial % 2 === 0, 100_000 + serial++);

let phoneCounter = 1_000_000;
/** A fresh Uzbek mobile number per call. */
export const nextPhone = () => `+99890${String(phoneCounter++).padStart(7, "0")}`;

export async function createCitizen(
  prisma: PrismaClient,
  data: { locale?: Locale; mahallaId?: number; pinfl?: string; phone?: string } = {},
) {
  return prisma.citizen.create({
    data: {
      phone: data.phone ?? nextPhone(),
      locale: data.locale ?? "uz",
      mahallaId: data.mahallaId ?? null,
      pinfl: data.pinfl ?? null,
    },
  });
}
