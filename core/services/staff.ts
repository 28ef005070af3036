import { randomInt } from "node:crypto";
import type { PrismaClient } from "../db/database.js";
import { ConflictError, InvalidInputError, NotFoundError } from "../domain/errors.js";
import type { Locale, Names } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import { audit } from "../notifications/outbox.js";
import { isUniqueViolation } from "./references.js";
// The bot redeems codes (linkTelegram in staff-visits.ts); both sides must hash them the same way.
import { hashInviteCode, INVITE_TTL_HOURS } from "./staff-visits.js";

export const STAFF_ROLES = ["social_worker", "district_admin"] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** An invite code works for three days, once. */
export const INVITE_TTL_MS = INVITE_TTL_HOURS * 3_600_000;

/** Letters and digits nobody confuses when reading a code aloud or typing it (no 0/O, 1/I/L, U/V). */
const INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789";
const INVITE_LENGTH = 10;

/** A fresh one-time code (about 48 bits), e.g. "K7M2QX9PTR"; sent to the bot as `/start K7M2QX9PTR`. */
export function newInviteCode(): string {
  let code = "";
  for (let i = 0; i < INVITE_LENGTH; i++) code += INVITE_ALPHABET[randomInt(INVITE_ALPHABET.length)];
  return code;
}

export interface StaffView {
  id: number;
  fullName: string;
  phone: string;
  role: StaffRole;
  district: { code: string; names: Names };
  mahallaCodes: string[];
  active: boolean;
  telegramLinked: boolean;
  locale: Locale;
  dailyCapacity: number;
  createdAt: Date;
  /** The newest unused, unexpired invite, if any (never its code). */
  pendingInviteExpiresAt: Date | null;
}

export interface NewStaff {
  fullName: string;
  phone: string;
  role: StaffRole;
  districtCode: string;
  mahallaCodes?: string[] | undefined;
  locale?: Locale | undefined;
  dailyCapacity?: number | undefined;
}

export interface Invite {
  code: string;
  expiresAt: Date;
}

const include = (now: Date) =>
  ({
    district: { select: { code: true, nameUz: true, nameUzCyrl: true, nameRu: true } },
    mahallas: { select: { mahalla: { select: { code: true } } } },
    invites: {
      where: { usedAt: null, expiresAt: { gt: now } },
      orderBy: { expiresAt: "desc" },
      take: 1,
      select: { expiresAt: true },
    },
  }) as const;

type StaffRow = NonNullable<
  Awaited<ReturnType<PrismaClient["staff"]["findUnique"]>> & {
    district: { code: string; nameUz: string; nameUzCyrl: string; nameRu: string };
    mahallas: { mahalla: { code: string } }[];
    invites: { expiresAt: Date }[];
  }
>;

function view(s: StaffRow): StaffView {
  return {
    id: s.id,
    fullName: s.fullName,
    phone: s.phone,
    role: s.role as StaffRole,
    district: {
      code: s.district.code,
      names: { uz: s.district.nameUz, "uz-Cyrl": s.district.nameUzCyrl, ru: s.district.nameRu },
    },
    mahallaCodes: s.mahallas.map((m) => m.mahalla.code).sort(),
    active: s.active,
    telegramLinked: s.telegramUserId !== null,
    locale: isLocale(s.locale) ? s.locale : "uz",
    dailyCapacity: s.dailyCapacity,
    createdAt: s.createdAt,
    pendingInviteExpiresAt: s.invites[0]?.expiresAt ?? null,
  };
}

/** Mahalla staff as the back office manages them: create, list, deactivate, invite to the bot. */
export class StaffService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async list(filter: { districtCode?: string; active?: boolean; role?: StaffRole } = {}): Promise<StaffView[]> {
    const rows = await this.prisma.staff.findMany({
      where: {
        ...(filter.districtCode ? { district: { code: filter.districtCode } } : {}),
        ...(filter.active !== undefined ? { active: filter.active } : {}),
        ...(filter.role ? { role: filter.role } : {}),
      },
      orderBy: { id: "asc" },
      include: include(this.clock()),
    });
    return rows.map(view);
  }

  async get(id: number): Promise<StaffView> {
    const row = await this.prisma.staff.findUnique({ where: { id }, include: include(this.clock()) });
    if (!row) throw new NotFoundError(`no staff member ${id}`);
    return view(row);
  }

  /** Creates the staff member and a first invite code, returned once. */
  async create(input: NewStaff, actor: string): Promise<{ staff: StaffView; invite: Invite }> {
    const district = await this.prisma.district.findUnique({ where: { code: input.districtCode } });
    if (!district) throw new InvalidInputError("UNKNOWN_DISTRICT", `no district ${input.districtCode}`, "districtCode");
    const codes = [...new Set(input.mahallaCodes ?? [])];
    if (input.role === "district_admin" && codes.length > 0) {
      throw new InvalidInputError("MAHALLAS_NOT_ALLOWED", "a district admin serves the whole district", "mahallaCodes");
    }
    const mahallas = await this.prisma.mahalla.findMany({
      where: { code: { in: codes } },
      select: { id: true, code: true, districtId: true },
    });
    const missing = codes.filter((c) => !mahallas.some((m) => m.code === c));
    if (missing.length > 0)
      throw new InvalidInputError("UNKNOWN_MAHALLA", `no mahalla ${missing.join(", ")}`, "mahallaCodes");
    const foreign = mahallas.filter((m) => m.districtId !== district.id).map((m) => m.code);
    if (foreign.length > 0) {
      throw new InvalidInputError(
        "MAHALLA_OUTSIDE_DISTRICT",
        `not in district ${district.code}: ${foreign.join(", ")}`,
        "mahallaCodes",
      );
    }
    if (await this.prisma.staff.findUnique({ where: { phone: input.phone }, select: { id: true } })) {
      throw new ConflictError("STAFF_EXISTS", "a staff member with this phone number exists");
    }
    const code = newInviteCode();
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + INVITE_TTL_MS);
    try {
      const id = await this.prisma.$transaction(async (tx) => {
        const staff = await tx.staff.create({
          data: {
            fullName: input.fullName,
            phone: input.phone,
            role: input.role,
            districtId: district.id,
            locale: input.locale ?? "uz",
            ...(input.dailyCapacity !== undefined ? { dailyCapacity: input.dailyCapacity } : {}),
            mahallas: { create: mahallas.map((m) => ({ mahallaId: m.id })) },
          },
        });
        const invite = await tx.staffInvite.create({
          data: { staffId: staff.id, codeHash: hashInviteCode(code), expiresAt },
        });
        await audit(tx, {
          actor,
          action: "staff.create",
          entity: "Staff",
          entityId: String(staff.id),
          after: {
            fullName: staff.fullName,
            phone: staff.phone,
            role: staff.role,
            districtCode: district.code,
            mahallaCodes: codes,
            locale: staff.locale,
            dailyCapacity: staff.dailyCapacity,
          },
        });
        await audit(tx, {
          actor,
          action: "staff.invite",
          entity: "StaffInvite",
          entityId: String(invite.id),
          after: { staffId: staff.id, expiresAt },
        });
        return staff.id;
      });
      return { staff: await this.get(id), invite: { code, expiresAt } };
    } catch (err) {
      if (isUniqueViolation(err, "phone"))
        throw new ConflictError("STAFF_EXISTS", "a staff member with this phone number exists");
      throw err;
    }
  }

  /** Stops a staff member from using the bot; unused invites stop working. Repeating it changes nothing. */
  async deactivate(id: number, actor: string): Promise<StaffView> {
    await this.prisma.$transaction(async (tx) => {
      const staff = await tx.staff.findUnique({ where: { id } });
      if (!staff) throw new NotFoundError(`no staff member ${id}`);
      if (!staff.active) return;
      const now = this.clock();
      await tx.staff.update({ where: { id }, data: { active: false } });
      await tx.staffInvite.updateMany({
        where: { staffId: id, usedAt: null, expiresAt: { gt: now } },
        data: { expiresAt: now },
      });
      await audit(tx, {
        actor,
        action: "staff.deactivate",
        entity: "Staff",
        entityId: String(id),
        before: { active: true },
        after: { active: false },
      });
    });
    return this.get(id);
  }

  /** A new one-time code for an active staff member; earlier unused codes stop working. */
  async invite(id: number, actor: string): Promise<Invite> {
    const code = newInviteCode();
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + INVITE_TTL_MS);
    await this.prisma.$transaction(async (tx) => {
      const staff = await tx.staff.findUnique({ where: { id }, select: { active: true } });
      if (!staff) throw new NotFoundError(`no staff member ${id}`);
      if (!staff.active) throw new ConflictError("STAFF_INACTIVE", "the staff member is deactivated");
      await tx.staffInvite.updateMany({
        where: { staffId: id, usedAt: null, expiresAt: { gt: now } },
        data: { expiresAt: now },
      });
      const invite = await tx.staffInvite.create({ data: { staffId: id, codeHash: hashInviteCode(code), expiresAt } });
      await audit(tx, {
        actor,
        action: "staff.invite",
        entity: "StaffInvite",
        entityId: String(invite.id),
        after: { staffId: id, expiresAt },
      });
    });
    return { code, expiresAt };
  }

  async findIdByPhone(phone: string): Promise<number | null> {
    return (await this.prisma.staff.findUnique({ where: { phone }, select: { id: true } }))?.id ?? null;
  }
}
