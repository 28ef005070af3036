import type { Prisma, PrismaClient } from "../../db/database.js";
import { LOCALES, type Locale } from "../../domain/vocabulary.js";
import type { AuditEntry } from "../../notifications/outbox.js";
import {
  EXTERNAL_ID,
  EXTERNAL_ID_HINT,
  type ImportPart,
  MAHALLA_CODE,
  noCounts,
  type Records,
  runImport,
  type UpsertCounts,
  updateChanged,
} from "./pipeline.js";
import { inChunks, type PaceOptions, type RawRecord, RowReader } from "./rows.js";

export const CARD_STATUSES = ["active", "blocked", "closed"] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

interface CardInput {
  externalId: string;
  maskedNumber: string;
  status: CardStatus;
  issuedAt: Date | undefined;
}

interface BeneficiaryInput {
  externalId: string;
  phone: string;
  pinfl: string | undefined;
  fullName: string | undefined;
  mahallaCode: string | undefined;
  locale: Locale | undefined;
  cards: CardInput[];
}

/**
 * "**** 1234" from what the register sends. Only the last four digits are ever kept; a number
 * that arrives unmasked (more than four digits and no mask) is refused, so a full card number
 * never reaches the database.
 */
export function maskCardNumber(input: string): { ok: true; masked: string } | { ok: false; reason: string } {
  const digits = input.replace(/\D/g, "");
  const masked = /[*•xX]/.test(input);
  if (digits.length < 4) return { ok: false, reason: "must end with the card's last four digits" };
  if (digits.length > 4 && !masked) {
    return { ok: false, reason: "send only the last four digits (or a masked number); full card numbers are refused" };
  }
  if (digits.length > 10) return { ok: false, reason: "too many digits for a masked card number" };
  return { ok: true, masked: `**** ${digits.slice(-4)}` };
}

function readCard(r: RowReader, prefix: string | null): CardInput | undefined {
  const f = (name: string) => (prefix ? `${prefix}${name.charAt(0).toUpperCase()}${name.slice(1)}` : name);
  const externalId = r.text(f("externalId"), {
    required: true,
    pattern: EXTERNAL_ID,
    hint: `${f("externalId")} ${EXTERNAL_ID_HINT}`,
  });
  const number = r.text(f("maskedNumber"), { required: true, max: 40 });
  const status = r.oneOf(f("status"), CARD_STATUSES, true);
  const issuedAt = r.instant(f("issuedAt"));
  let maskedNumber: string | undefined;
  if (number !== undefined) {
    const m = maskCardNumber(number);
    if (m.ok) maskedNumber = m.masked;
    else r.note(f("maskedNumber"), "CARD_NUMBER_NOT_MASKED", `${f("maskedNumber")} ${m.reason}`);
  }
  if (!externalId || !maskedNumber || !status) return undefined;
  return { externalId, maskedNumber, status, issuedAt };
}

/** Cards of one beneficiary in one record: the register's card history is not that long. */
export const MAX_CARDS = 20;

/** Beneficiaries written per transaction: between batches USSD and Telegram get the database. */
export const BENEFICIARY_BATCH = 1_000;

/** CSV carries one card per line in `card…` columns; JSON a `cards` array. */
function readBeneficiary(record: RawRecord, r: RowReader): BeneficiaryInput | undefined {
  const externalId = r.text("externalId", {
    required: true,
    pattern: EXTERNAL_ID,
    hint: `externalId ${EXTERNAL_ID_HINT}`,
  });
  const phone = r.phone("phone", true);
  const pinfl = r.pinfl("pinfl");
  const fullName = r.text("fullName", { max: 200 });
  const mahallaCode = r.text("mahallaCode", { pattern: MAHALLA_CODE, hint: "mahallaCode has an invalid format" });
  const locale = r.oneOf("locale", LOCALES);
  const cards: CardInput[] = [];
  const list = record.data.cards;
  if (list !== undefined && list !== null && list !== "") {
    if (!Array.isArray(list)) r.note("cards", "INVALID", "cards must be a list");
    else if (list.length > MAX_CARDS) r.note("cards", "TOO_MANY", `at most ${MAX_CARDS} cards per beneficiary`);
    else {
      for (const [i, item] of list.entries()) {
        const cr = new RowReader((item ?? {}) as Record<string, unknown>);
        const card = readCard(cr, null);
        for (const p of cr.problems) r.note(`cards[${i}].${p.field}`, p.code, p.message);
        if (card) cards.push(card);
      }
    }
  } else if (["cardExternalId", "cardMaskedNumber", "cardStatus"].some((f) => r.has(f))) {
    const card = readCard(r, "card");
    if (card) cards.push(card);
  }
  if (r.problems.length > 0 || !externalId || !phone) return undefined;
  return { externalId, phone, pinfl, fullName, mahallaCode, locale, cards };
}

const sameBeneficiary = (a: BeneficiaryInput, b: BeneficiaryInput) =>
  a.phone === b.phone &&
  a.pinfl === b.pinfl &&
  a.fullName === b.fullName &&
  a.mahallaCode === b.mahallaCode &&
  a.locale === b.locale;

const citizenSelect = {
  id: true,
  externalId: true,
  phone: true,
  pinfl: true,
  fullName: true,
  mahallaId: true,
  locale: true,
} as const;

type StoredCitizen = Prisma.CitizenGetPayload<{ select: typeof citizenSelect }>;
const cardInclude = { citizen: { select: { externalId: true } } } as const;
type StoredCard = Prisma.SocialCardGetPayload<{ include: typeof cardInclude }>;

interface BeneficiaryRow {
  input: BeneficiaryInput;
  record: RawRecord;
}

interface BeneficiaryPlan {
  input: BeneficiaryInput;
  target: StoredCitizen | null;
  mahallaId: number | undefined;
  cards: { card: CardInput; stored: StoredCard | undefined }[];
}

type Owners = Map<string, { externalId: string; row: number }>;

function beneficiaryPart(
  prisma: PrismaClient,
  actor: string,
  counts: { citizens: UpsertCounts; cards: UpsertCounts },
): ImportPart<BeneficiaryRow, BeneficiaryPlan> {
  const byExternal = new Map<string, BeneficiaryRow>();
  const phoneOwner: Owners = new Map();
  const pinflOwner: Owners = new Map();
  const cardOwner: Owners = new Map();
  return {
    // A beneficiary's further rows (more cards) are merged into the first, so the whole file is
    // read before anything is resolved.
    read(record, reader) {
      const input = readBeneficiary(record, reader);
      if (!input) return undefined;
      const previous = byExternal.get(input.externalId);
      if (previous && !sameBeneficiary(previous.input, input)) {
        reader.note(
          "externalId",
          "DUPLICATE_IN_FILE",
          `externalId ${input.externalId} appears in row ${previous.record.row} with other data`,
        );
      }
      const owners: [Owners, string | undefined, string][] = [
        [phoneOwner, input.phone, "phone"],
        [pinflOwner, input.pinfl, "pinfl"],
      ];
      for (const [map, value, field] of owners) {
        if (value === undefined) continue;
        const owner = map.get(value);
        if (owner && owner.externalId !== input.externalId) {
          reader.note(field, "DUPLICATE_IN_FILE", `${field} also given for ${owner.externalId} in row ${owner.row}`);
        }
      }
      for (const card of input.cards) {
        const owner = cardOwner.get(card.externalId);
        if (owner && owner.externalId !== input.externalId) {
          reader.note(
            "cards",
            "DUPLICATE_IN_FILE",
            `card ${card.externalId} also given for ${owner.externalId} in row ${owner.row}`,
          );
        }
      }
      if (reader.problems.length > 0) return undefined;
      phoneOwner.set(input.phone, { externalId: input.externalId, row: record.row });
      if (input.pinfl) pinflOwner.set(input.pinfl, { externalId: input.externalId, row: record.row });
      for (const card of input.cards) cardOwner.set(card.externalId, { externalId: input.externalId, row: record.row });
      if (previous) {
        const known = new Set(previous.input.cards.map((c) => c.externalId));
        previous.input.cards.push(...input.cards.filter((c) => !known.has(c.externalId)));
        return undefined;
      }
      const row = { input, record };
      byExternal.set(input.externalId, row);
      return row;
    },

    async resolve(entries, reject) {
      const [byExt, byPhone, byPinfl, mahallas, cards] = await Promise.all([
        inChunks([...byExternal.keys()], 1_000, (ids) =>
          prisma.citizen.findMany({ where: { externalId: { in: ids } }, select: citizenSelect }),
        ),
        inChunks([...phoneOwner.keys()], 1_000, (phones) =>
          prisma.citizen.findMany({ where: { phone: { in: phones } }, select: citizenSelect }),
        ),
        inChunks([...pinflOwner.keys()], 1_000, (pinfls) =>
          prisma.citizen.findMany({ where: { pinfl: { in: pinfls } }, select: citizenSelect }),
        ),
        inChunks(
          [...new Set(entries.flatMap((e) => (e.input.mahallaCode ? [e.input.mahallaCode] : [])))],
          1_000,
          (codes) => prisma.mahalla.findMany({ where: { code: { in: codes } }, select: { id: true, code: true } }),
        ),
        inChunks([...cardOwner.keys()], 1_000, (ids) =>
          prisma.socialCard.findMany({
            where: { externalId: { in: ids } },
            include: cardInclude,
          }),
        ),
      ]);
      const extMap = new Map(byExt.map((c) => [c.externalId as string, c]));
      const phoneMap = new Map(byPhone.map((c) => [c.phone, c]));
      const pinflMap = new Map(byPinfl.map((c) => [c.pinfl as string, c]));
      const mahallaMap = new Map(mahallas.map((m) => [m.code, m.id]));
      const cardMap = new Map(cards.map((c) => [c.externalId, c]));

      const plans: BeneficiaryPlan[] = [];
      for (const { input, record } of entries) {
        const r = new RowReader({});
        const a = extMap.get(input.externalId);
        const b = phoneMap.get(input.phone);
        const c = input.pinfl ? pinflMap.get(input.pinfl) : undefined;
        const target = a ?? b ?? null;
        if (b && target && b.id !== target.id)
          r.note("phone", "PHONE_TAKEN", "this phone number belongs to another citizen");
        if (!a && b?.externalId && b.externalId !== input.externalId) {
          r.note("phone", "PHONE_TAKEN", `this phone number belongs to beneficiary ${b.externalId}`);
        }
        if (c && c.id !== target?.id) r.note("pinfl", "PINFL_TAKEN", "this PINFL belongs to another citizen");
        let mahallaId: number | undefined;
        if (input.mahallaCode) {
          mahallaId = mahallaMap.get(input.mahallaCode);
          if (mahallaId === undefined) r.note("mahallaCode", "UNKNOWN_MAHALLA", `no mahalla ${input.mahallaCode}`);
        }
        const planned: BeneficiaryPlan["cards"] = [];
        for (const card of input.cards) {
          const stored = cardMap.get(card.externalId);
          if (stored && stored.citizen.externalId !== input.externalId) {
            r.note("cards", "CARD_OWNER_MISMATCH", `card ${card.externalId} belongs to another beneficiary`);
          }
          planned.push({ card, stored });
        }
        reject(record, r.problems);
        if (r.problems.length === 0) plans.push({ input, target, mahallaId, cards: planned });
      }
      return plans;
    },

    writeEvery: BENEFICIARY_BATCH,

    async write(tx, batch) {
      const audits: AuditEntry[] = [];
      const citizenIds = new Map<string, number>();
      for (const { input, target, mahallaId } of batch) {
        const wanted = {
          externalId: input.externalId,
          phone: input.phone,
          ...(input.pinfl !== undefined ? { pinfl: input.pinfl } : {}),
          ...(input.fullName !== undefined ? { fullName: input.fullName } : {}),
          ...(mahallaId !== undefined ? { mahallaId } : {}),
        };
        if (!target) {
          const created = await tx.citizen.create({
            data: { ...wanted, locale: input.locale ?? null },
            select: { id: true },
          });
          citizenIds.set(input.externalId, created.id);
          counts.citizens.created++;
          audits.push({
            actor,
            action: "citizen.import",
            entity: "Citizen",
            entityId: String(created.id),
            after: { ...wanted, locale: input.locale ?? null },
          });
          continue;
        }
        citizenIds.set(input.externalId, target.id);
        // The citizen's own language choice is kept; the register's only fills a gap.
        const entry = await updateChanged(
          target,
          { ...wanted, ...(target.locale === null && input.locale ? { locale: input.locale } : {}) },
          (data) => tx.citizen.update({ where: { id: target.id }, data }),
          counts.citizens,
          { actor, action: "citizen.import", entity: "Citizen", entityId: String(target.id) },
        );
        if (entry) audits.push(entry);
      }
      for (const { input, cards } of batch) {
        const citizenId = citizenIds.get(input.externalId) as number;
        for (const { card, stored } of cards) {
          const wanted = {
            maskedNumber: card.maskedNumber,
            status: card.status,
            ...(card.issuedAt ? { issuedAt: card.issuedAt } : {}),
          };
          if (!stored) {
            await tx.socialCard.create({ data: { externalId: card.externalId, citizenId, ...wanted } });
            counts.cards.created++;
            audits.push({
              actor,
              action: "card.import",
              entity: "SocialCard",
              entityId: card.externalId,
              after: { citizenId, ...wanted },
            });
            continue;
          }
          const entry = await updateChanged(
            stored,
            wanted,
            (data) => tx.socialCard.update({ where: { id: stored.id }, data }),
            counts.cards,
            { actor, action: "card.import", entity: "SocialCard", entityId: card.externalId },
          );
          if (entry) audits.push(entry);
        }
      }
      return audits;
    },
  };
}

/**
 * Beneficiaries of the agency's register and their social cards. A beneficiary is matched by
 * external id, else by phone (a citizen who already used the service gets the register's id);
 * a phone or PINFL that belongs to someone else is a row error, never a silent merge. The
 * citizen's own language choice is kept; the register's locale only fills a gap.
 */
export async function importBeneficiaries(
  prisma: PrismaClient,
  records: Records,
  actor: string,
  pace: PaceOptions = {},
) {
  const counts = { citizens: noCounts(), cards: noCounts() };
  const { received } = await runImport(prisma, records, beneficiaryPart(prisma, actor, counts), pace);
  return { received, citizens: counts.citizens, cards: counts.cards };
}
