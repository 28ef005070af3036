import type { SqlExecutor } from "../db/adapters.js";
import { type PrismaClient, prismaSql } from "../db/database.js";
import { BY_ID, BY_PHONE, BY_TELEGRAM, type CitizenRow, citizenColumns, HAS_PINFL } from "../db/sql/citizen.js";
import { run } from "../db/sql/statement.js";
import type { Locale } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";

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

/** The columns of a record, the same for Prisma's writes as for the plain-SQL reads. */
const select = citizenColumns;

type Row = Omit<CitizenRecord, "locale"> & { locale: string | null };
const toRecord = (row: Row): CitizenRecord => ({ ...row, locale: isLocale(row.locale) ? row.locale : null });
const bigintOrNull = (value: string | null) => (value === null ? null : BigInt(value));

/** A citizen whose Telegram ids travel as text (plain SQL reads, stored sessions) made a record: their one mapping. */
export const citizenFromTextIds = (row: CitizenRow): CitizenRecord =>
  toRecord({
    ...row,
    telegramUserId: bigintOrNull(row.telegramUserId),
    telegramChatId: bigintOrNull(row.telegramChatId),
  });
const fromRows = ([row]: CitizenRow[]): CitizenRecord | null => (row ? citizenFromTextIds(row) : null);

export class CitizenService {
  private readonly sql: SqlExecutor;

  constructor(
    private readonly prisma: PrismaClient,
    sql?: SqlExecutor,
  ) {
    this.sql = sql ?? prismaSql(prisma);
  }

  async findById(id: number): Promise<CitizenRecord | null> {
    return fromRows(await run(this.sql, BY_ID, [id]));
  }

  async findByPhone(phone: string): Promise<CitizenRecord | null> {
    return fromRows(await run(this.sql, BY_PHONE, [phone]));
  }

  async findByTelegram(telegramUserId: bigint): Promise<CitizenRecord | null> {
    return fromRows(await run(this.sql, BY_TELEGRAM, [telegramUserId.toString()]));
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

  /**
   * Keeps a PINFL the citizen typed as their claim. It is never checked against other citizens
   * here: the answer must not tell a caller whether a PINFL is registered, and the register alone
   * decides identity. A claim that disagrees with the register shows up in identityConflicts.
   */
  async claimPinfl(id: number, pinfl: string, now = new Date()): Promise<void> {
    await this.prisma.citizen.update({ where: { id }, data: { claimedPinfl: pinfl, pinflClaimedAt: now } });
  }

  /** Whether the citizen gave a PINFL already, so a form need not ask for it again. */
  async hasPinfl(id: number): Promise<boolean> {
    const [row] = await run(this.sql, HAS_PINFL, [id]);
    return row?.known === true;
  }
}
