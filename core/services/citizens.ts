import type { PrismaClient } from "../db/database.js";
import type { Locale } from "../engine/types.js";
import { isLocale } from "../engine/types.js";

export interface CitizenRecord {
  id: number;
  phone: string;
  telegramUserId: bigint | null;
  telegramChatId: bigint | null;
  pinfl: string | null;
  fullName: string | null;
  locale: Locale | null;
  mahallaId: number | null;
}

const select = {
  id: true,
  phone: true,
  telegramUserId: true,
  telegramChatId: true,
  pinfl: true,
  fullName: true,
  locale: true,
  mahallaId: true,
} as const;

type Row = Omit<CitizenRecord, "locale"> & { locale: string | null };
const toRecord = (row: Row): CitizenRecord => ({ ...row, locale: isLocale(row.locale) ? row.locale : null });
const orNull = (row: Row | null) => (row ? toRecord(row) : null);

export class CitizenService {
  constructor(private readonly prisma: PrismaClient) {}

  findById(id: number) {
    return this.prisma.citizen.findUnique({ where: { id }, select }).then(orNull);
  }

  findByPhone(phone: string) {
    return this.prisma.citizen.findUnique({ where: { phone }, select }).then(orNull);
  }

  findByTelegram(telegramUserId: bigint) {
    return this.prisma.citizen.findUnique({ where: { telegramUserId }, select }).then(orNull);
  }

  /** Creates the citizen for a phone number seen for the first time (concurrent first steps are safe). */
  async create(data: { phone: string; locale?: Locale }): Promise<CitizenRecord> {
    return toRecord(
      await this.prisma.citizen.upsert({
        where: { phone: data.phone },
        create: { phone: data.phone, locale: data.locale ?? null },
        update: {},
        select,
      }),
    );
  }

  /**
   * A Telegram user proved this phone is theirs (a contact they shared themselves). Links the
   * account, moving the link away from any other citizen record that held it.
   */
  async findOrCreateForTelegram(
    phone: string,
    telegramUserId?: bigint,
    telegramChatId?: bigint,
  ): Promise<CitizenRecord> {
    return this.prisma.$transaction(async (tx) => {
      if (telegramUserId !== undefined) {
        await tx.citizen.updateMany({
          where: { telegramUserId, NOT: { phone } },
          data: { telegramUserId: null, telegramChatId: null },
        });
      }
      const link = telegramUserId !== undefined ? { telegramUserId, telegramChatId: telegramChatId ?? null } : {};
      return toRecord(await tx.citizen.upsert({ where: { phone }, create: { phone, ...link }, update: link, select }));
    });
  }

  linkTelegram(id: number, telegramUserId: bigint, telegramChatId?: bigint) {
    return this.prisma.citizen
      .update({ where: { id }, data: { telegramUserId, telegramChatId: telegramChatId ?? null }, select })
      .then(toRecord);
  }

  async setLocale(id: number, locale: Locale): Promise<void> {
    await this.prisma.citizen.update({ where: { id }, data: { locale } });
  }

  async setMahalla(id: number, mahallaId: number): Promise<void> {
    await this.prisma.citizen.update({ where: { id }, data: { mahallaId } });
  }

  /** Records the PINFL; false when another citizen already holds it. */
  async setPinfl(id: number, pinfl: string): Promise<boolean> {
    const holder = await this.prisma.citizen.findUnique({ where: { pinfl }, select: { id: true } });
    if (holder && holder.id !== id) return false;
    await this.prisma.citizen.update({ where: { id }, data: { pinfl } });
    return true;
  }
}
