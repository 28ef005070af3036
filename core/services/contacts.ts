import { Prisma } from "../../generated/prisma/client.js";
import type { PrismaClient } from "../db/database.js";
import { LOCK_BY_CODE as LOCK_BENEFIT_TYPE } from "../db/sql/benefit-type.js";
import { LOCK_BY_CODE as LOCK_DISTRICT } from "../db/sql/district.js";
import { ENSURE_SINGLETON, LOCK_SINGLETON } from "../db/sql/service-contact.js";
import { executeIn, runIn } from "../db/sql/statement.js";
import { InvalidInputError, NotFoundError } from "../domain/errors.js";
import { formatUzPhone, normalizeUzPhone } from "../domain/phone.js";
import type { Names } from "../domain/vocabulary.js";
import { audit } from "../notifications/outbox.js";
import { namesOf } from "./names.js";

/**
 * Contact data a citizen is shown: the national hotline, the USSD code and each district's "Inson"
 * centre. All of it is reference data the agency sets through the API; nothing here has a default,
 * because a made-up number on a help screen sends people nowhere. Unset means "not shown".
 */
export interface ServiceContacts {
  /** A phone line (a short number such as 1148, or +998 …), shown as "hotline". */
  hotline: string | null;
  /** What citizens dial on a feature phone, e.g. *1146#. Never presented as a phone line. */
  ussdCode: string | null;
  updatedAt: Date | null;
}

export interface InsonCentre {
  districtCode: string;
  names: Names;
  /** E.164, or null when the agency has not set it. */
  phone: string | null;
  address: Names | null;
}

const SINGLETON = 1;

/** A short national number (3–5 digits, e.g. 1148) or an Uzbek phone number in E.164. */
export function normalizeHotline(input: string): string | null {
  const compact = input.replace(/[\s\-().]/g, "");
  if (/^\d{3,5}$/.test(compact)) return compact;
  return normalizeUzPhone(input);
}

/** *1146# or *1146*3#: a star, digits, optional *digits groups, and the closing hash. */
export function normalizeUssdCode(input: string): string | null {
  const compact = input.replace(/\s/g, "");
  return /^\*\d{2,6}(\*\d{1,4})*#$/.test(compact) ? compact : null;
}

/** A phone as a screen shows it: +998 71 123 45 67; short numbers as they are. */
export const displayPhone = (value: string): string => (value.startsWith("+998") ? formatUzPhone(value) : value);

export class ContactService {
  constructor(private readonly prisma: PrismaClient) {}

  /** Read on each help screen and SMS help answer (rare steps): always what the agency last set. */
  async contacts(): Promise<ServiceContacts> {
    const row = await this.prisma.serviceContact.findUnique({ where: { id: SINGLETON } });
    return { hotline: row?.hotline ?? null, ussdCode: row?.ussdCode ?? null, updatedAt: row?.updatedAt ?? null };
  }

  async insonCentre(districtCode: string): Promise<InsonCentre> {
    const d = await this.prisma.district.findUnique({ where: { code: districtCode } });
    if (!d) throw new NotFoundError(`no district ${districtCode}`);
    return centreOf(d);
  }

  /**
   * Sets the hotline and/or the USSD code (a field left out is kept; null clears it). The row is
   * locked while it is read for the audit entry, so concurrent writes each record the value they
   * replaced. A hotline that is the USSD code's own number is refused: dialling it as a phone
   * number reaches nobody.
   */
  async setContacts(
    change: { hotline?: string | null | undefined; ussdCode?: string | null | undefined },
    actor: string,
  ): Promise<ServiceContacts> {
    const hotline =
      change.hotline === undefined || change.hotline === null ? change.hotline : normalizeHotline(change.hotline);
    if (hotline === null && change.hotline) {
      throw new InvalidInputError(
        "INVALID_HOTLINE",
        "hotline must be a 3–5 digit short number or an Uzbek phone number",
        "hotline",
      );
    }
    const ussdCode =
      change.ussdCode === undefined || change.ussdCode === null ? change.ussdCode : normalizeUssdCode(change.ussdCode);
    if (ussdCode === null && change.ussdCode) {
      throw new InvalidInputError("INVALID_USSD_CODE", "ussdCode must look like *1146#", "ussdCode");
    }
    return this.prisma.$transaction(async (tx) => {
      await executeIn(tx, ENSURE_SINGLETON, [SINGLETON]);
      await runIn(tx, LOCK_SINGLETON, [SINGLETON]);
      const before = await tx.serviceContact.findUniqueOrThrow({ where: { id: SINGLETON } });
      const next = {
        hotline: hotline === undefined ? before.hotline : hotline,
        ussdCode: ussdCode === undefined ? before.ussdCode : ussdCode,
      };
      if (next.hotline && next.ussdCode && next.hotline === /^\*(\d+)/.exec(next.ussdCode)?.[1]) {
        throw new InvalidInputError(
          "HOTLINE_IS_USSD_CODE",
          "the hotline must be a phone line, not the number of the USSD code",
          "hotline",
        );
      }
      const after = await tx.serviceContact.update({ where: { id: SINGLETON }, data: next });
      await audit(tx, {
        actor,
        action: "contacts.update",
        entity: "ServiceContact",
        entityId: String(SINGLETON),
        before: { hotline: before.hotline, ussdCode: before.ussdCode },
        after: next,
      });
      return { hotline: after.hotline, ussdCode: after.ussdCode, updatedAt: after.updatedAt };
    });
  }

  /** Sets (or, with null, clears) a district "Inson" centre's phone and address; audited. */
  async setInsonCentre(
    districtCode: string,
    change: { phone: string | null; address: Names | null },
    actor: string,
  ): Promise<InsonCentre> {
    const phone = change.phone === null ? null : normalizeUzPhone(change.phone);
    if (phone === null && change.phone !== null) {
      throw new InvalidInputError("INVALID_PHONE", "phone must be an Uzbek phone number", "phone");
    }
    const address = change.address ? trimNames(change.address) : null;
    return this.prisma.$transaction(async (tx) => {
      const locked = await runIn(tx, LOCK_DISTRICT, [districtCode]);
      const id = locked[0]?.id;
      if (id === undefined) throw new NotFoundError(`no district ${districtCode}`);
      const before = await tx.district.findUniqueOrThrow({ where: { id } });
      const after = await tx.district.update({
        where: { id },
        data: { insonPhone: phone, insonAddress: address ? { ...address } : Prisma.DbNull },
      });
      await audit(tx, {
        actor,
        action: "district.inson_centre",
        entity: "District",
        entityId: districtCode,
        before: { phone: before.insonPhone, address: before.insonAddress },
        after: { phone, address },
      });
      return centreOf(after);
    });
  }

  /** Sets a benefit type's start date on the social card (null: no start date) and whether it is offered. */
  async setBenefitType(
    code: string,
    change: { availableFrom?: string | null | undefined; active?: boolean | undefined },
    actor: string,
  ) {
    const availableFrom =
      change.availableFrom === undefined || change.availableFrom === null
        ? change.availableFrom
        : new Date(`${change.availableFrom}T00:00:00Z`);
    // new Date() rolls 2025-02-30 over to 2 March: a day is real only if it reads back the same.
    if (availableFrom && (Number.isNaN(availableFrom.getTime()) || day(availableFrom) !== change.availableFrom)) {
      throw new InvalidInputError("INVALID_DATE", "availableFrom must be a real day (YYYY-MM-DD)", "availableFrom");
    }
    return this.prisma.$transaction(async (tx) => {
      const locked = await runIn(tx, LOCK_BENEFIT_TYPE, [code]);
      const id = locked[0]?.id;
      if (id === undefined) throw new NotFoundError(`no benefit type ${code}`);
      const before = await tx.benefitType.findUniqueOrThrow({ where: { id } });
      const after = await tx.benefitType.update({
        where: { id },
        data: {
          ...(availableFrom !== undefined ? { availableFrom } : {}),
          ...(change.active !== undefined ? { active: change.active } : {}),
        },
      });
      await audit(tx, {
        actor,
        action: "benefit_type.update",
        entity: "BenefitType",
        entityId: code,
        before: { availableFrom: day(before.availableFrom), active: before.active },
        after: { availableFrom: day(after.availableFrom), active: after.active },
      });
      return benefitTypeOf(after);
    });
  }

  async benefitTypes() {
    const rows = await this.prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" } });
    return rows.map(benefitTypeOf);
  }
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);

function benefitTypeOf(b: {
  code: string;
  sortOrder: number;
  active: boolean;
  availableFrom: Date | null;
  nameUz: string;
  nameUzCyrl: string;
  nameRu: string;
}) {
  return {
    code: b.code,
    sortOrder: b.sortOrder,
    active: b.active,
    availableFrom: day(b.availableFrom),
    names: namesOf(b),
  };
}

function centreOf(d: {
  code: string;
  nameUz: string;
  nameUzCyrl: string;
  nameRu: string;
  insonPhone: string | null;
  insonAddress: unknown;
}): InsonCentre {
  return { districtCode: d.code, names: namesOf(d), phone: d.insonPhone, address: asNames(d.insonAddress) };
}

/** The stored JSON address, when it holds the three languages. */
export function asNames(value: unknown): Names | null {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  return typeof v.uz === "string" && typeof v["uz-Cyrl"] === "string" && typeof v.ru === "string"
    ? { uz: v.uz, "uz-Cyrl": v["uz-Cyrl"], ru: v.ru }
    : null;
}

const trimNames = (n: Names): Names => ({ uz: n.uz.trim(), "uz-Cyrl": n["uz-Cyrl"].trim(), ru: n.ru.trim() });
