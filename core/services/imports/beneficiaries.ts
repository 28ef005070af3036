import type { PrismaClient } from "../../db/database.js";
import { LOCALES, type Locale } from "../../domain/vocabulary.js";
import { type AuditEntry, auditMany } from "../../notifications/outbox.js";
import { IMPORT_TX, inChunks, type RawRecord, RowErrors, RowReader, readerFor, yieldToOthers } from "./rows.js";

export type { RawRecord, RowError, RowProblem } from "./rows.js";
export { ImportRejectedError, recordsOf } from "./rows.js";

type Records = AsyncIterable<RawRecord> | Iterable<RawRecord>;

export interface UpsertCounts {
  created: number;
  updated: number;
  unchanged: number;
}

const MAHALLA_CODE = /^[0-9A-Za-z][0-9A-Za-z._-]{1,39}$/;
const EXTERNAL_ID = /^[0-9A-Za-z][0-9A-Za-z._:/-]{0,63}$/;
const EXTERNAL_ID_HINT = "must be 1–64 letters, digits or . _ : / -";

/** The fields of `after` whose values differ from `before`. */
const changed = <W extends object>(before: object, after: W): Partial<W> => {
  const diff: Partial<W> = {};
  for (const key of Object.keys(after) as (keyof W & string)[]) {
    const a = after[key];
    const b = (before as Record<string, unknown>)[key];
    const same = a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
    if (!same) diff[key] = a;
  }
  return diff;
};

const pick = <T extends object, K extends keyof T>(value: T, keys: K[]): Pick<T, K> =>
  Object.fromEntries(keys.map((k) => [k, value[k]])) as Pick<T, K>;

// ---------------------------------------------------------------------------------------------
// Mahallas

interface MahallaInput {
  code: string;
  districtCode: string;
  nameUz: string;
  nameUzCyrl: string;
  nameRu: string;
  households: number | null | undefined;
  active: boolean | undefined;
}

/**
 * The mahalla register, imported by code: new codes are created, known ones updated where they
 * differ, identical ones left alone, so sending the same file twice changes nothing. Imported
 * mahallas are real (`isDemo` false), also when they replace a demo mahalla with the same code.
 */
export async function importMahallas(prisma: PrismaClient, records: Records, actor: string) {
  const errors = new RowErrors();
  const inputs: MahallaInput[] = [];
  const seen = new Map<string, number>();
  let received = 0;
  const pending: { record: RawRecord; input: MahallaInput }[] = [];
  for await (const record of records) {
    received++;
    const r = readerFor(record);
    const code = r.text("code", { required: true, pattern: MAHALLA_CODE, hint: "code must be 2–40 letters or digits" });
    const districtCode = r.text("districtCode", {
      required: true,
      pattern: /^\d{4,10}$/,
      hint: "districtCode must be a SOATO code",
    });
    const nameUz = r.text("nameUz", { required: true, max: 200 });
    const nameUzCyrl = r.text("nameUzCyrl", { required: true, max: 200 });
    const nameRu = r.text("nameRu", { required: true, max: 200 });
    const households = r.integer("households", { min: 0, max: 100_000 });
    const active = r.boolean("active");
    if (code !== undefined) {
      const first = seen.get(code);
      if (first !== undefined) r.note("code", "DUPLICATE_IN_FILE", `code ${code} already appears in row ${first}`);
      else seen.set(code, record.row);
    }
    if (r.problems.length > 0 || !code || !districtCode || !nameUz || !nameUzCyrl || !nameRu) {
      errors.add(record, r.problems);
      continue;
    }
    pending.push({ record, input: { code, districtCode, nameUz, nameUzCyrl, nameRu, households, active } });
  }

  const districts = new Map(
    (
      await prisma.district.findMany({
        where: { code: { in: [...new Set(pending.map((p) => p.input.districtCode))] } },
        select: { id: true, code: true },
      })
    ).map((d) => [d.code, d.id]),
  );
  for (const p of pending) {
    if (!districts.has(p.input.districtCode)) {
      errors.add(p.record, [
        { field: "districtCode", code: "UNKNOWN_DISTRICT", message: `no district ${p.input.districtCode}` },
      ]);
    } else {
      inputs.push(p.input);
    }
  }
  errors.throwIfAny(received);

  const existing = new Map(
    (
      await inChunks(
        inputs.map((i) => i.code),
        1_000,
        (codes) => prisma.mahalla.findMany({ where: { code: { in: codes } } }),
      )
    ).map((m) => [m.code, m]),
  );
  const fields = ["districtId", "nameUz", "nameUzCyrl", "nameRu", "households", "active", "isDemo"] as const;
  const creates: (MahallaInput & { districtId: number })[] = [];
  const updates: { id: number; code: string; before: object; data: object }[] = [];
  let unchanged = 0;
  for (const input of inputs) {
    const districtId = districts.get(input.districtCode) as number;
    const current = existing.get(input.code);
    if (!current) {
      creates.push({ ...input, districtId });
      continue;
    }
    const wanted = {
      districtId,
      nameUz: input.nameUz,
      nameUzCyrl: input.nameUzCyrl,
      nameRu: input.nameRu,
      isDemo: false,
      ...(input.households !== undefined ? { households: input.households } : {}),
      ...(input.active !== undefined ? { active: input.active } : {}),
    };
    const diff = changed(current, wanted);
    if (Object.keys(diff).length === 0) unchanged++;
    else updates.push({ id: current.id, code: current.code, before: pick(current, [...fields]), data: diff });
  }

  await prisma.$transaction(async (tx) => {
    const audits: AuditEntry[] = [];
    if (creates.length > 0) {
      await tx.mahalla.createMany({
        data: creates.map((c) => ({
          code: c.code,
          districtId: c.districtId,
          nameUz: c.nameUz,
          nameUzCyrl: c.nameUzCyrl,
          nameRu: c.nameRu,
          households: c.households ?? null,
          active: c.active ?? true,
          isDemo: false,
        })),
      });
      for (const c of creates) {
        const { districtCode: _, ...after } = c;
        audits.push({ actor, action: "mahalla.create", entity: "Mahalla", entityId: c.code, after });
      }
    }
    for (const u of updates) {
      await tx.mahalla.update({ where: { id: u.id }, data: u.data });
      audits.push({
        actor,
        action: "mahalla.update",
        entity: "Mahalla",
        entityId: u.code,
        before: u.before,
        after: u.data,
      });
    }
    await auditMany(tx, audits);
  }, IMPORT_TX);

  return { received, created: creates.length, updated: updates.length, unchanged } satisfies UpsertCounts & {
    received: number;
  };
}

// ---------------------------------------------------------------------------------------------
// Beneficiaries and social cards

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
function readBeneficiary(record: RawRecord): { input?: BeneficiaryInput; reader: RowReader } {
  const r = readerFor(record);
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
  if (r.problems.length > 0 || !externalId || !phone) return { reader: r };
  return { reader: r, input: { externalId, phone, pinfl, fullName, mahallaCode, locale, cards } };
}

const sameBeneficiary = (a: BeneficiaryInput, b: BeneficiaryInput) =>
  a.phone === b.phone &&
  a.pinfl === b.pinfl &&
  a.fullName === b.fullName &&
  a.mahallaCode === b.mahallaCode &&
  a.locale === b.locale;

/**
 * Beneficiaries of the agency's register and their social cards. A beneficiary is matched by
 * external id, else by phone (a citizen who already used the service gets the register's id);
 * a phone or PINFL that belongs to someone else is a row error, never a silent merge. The
 * citizen's own language choice is kept; the register's locale only fills a gap.
 */
export async function importBeneficiaries(prisma: PrismaClient, records: Records, actor: string) {
  const errors = new RowErrors();
  const byExternal = new Map<string, { input: BeneficiaryInput; record: RawRecord }>();
  const phoneOwner = new Map<string, { externalId: string; row: number }>();
  const pinflOwner = new Map<string, { externalId: string; row: number }>();
  const cardOwner = new Map<string, { externalId: string; row: number }>();
  let received = 0;
  for await (const record of records) {
    received++;
    const { input, reader } = readBeneficiary(record);
    if (!input) {
      errors.add(record, reader.problems);
      continue;
    }
    const previous = byExternal.get(input.externalId);
    if (previous && !sameBeneficiary(previous.input, input)) {
      reader.note(
        "externalId",
        "DUPLICATE_IN_FILE",
        `externalId ${input.externalId} appears in row ${previous.record.row} with other data`,
      );
    }
    const owners: [Map<string, { externalId: string; row: number }>, string | undefined, string][] = [
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
    if (reader.problems.length > 0) {
      errors.add(record, reader.problems);
      continue;
    }
    phoneOwner.set(input.phone, { externalId: input.externalId, row: record.row });
    if (input.pinfl) pinflOwner.set(input.pinfl, { externalId: input.externalId, row: record.row });
    for (const card of input.cards) cardOwner.set(card.externalId, { externalId: input.externalId, row: record.row });
    if (previous) {
      const known = new Set(previous.input.cards.map((c) => c.externalId));
      previous.input.cards.push(...input.cards.filter((c) => !known.has(c.externalId)));
    } else {
      byExternal.set(input.externalId, { input, record });
    }
  }

  const entries = [...byExternal.values()];
  const citizenSelect = {
    id: true,
    externalId: true,
    phone: true,
    pinfl: true,
    fullName: true,
    mahallaId: true,
    locale: true,
  } as const;
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
    inChunks([...new Set(entries.flatMap((e) => (e.input.mahallaCode ? [e.input.mahallaCode] : [])))], 1_000, (codes) =>
      prisma.mahalla.findMany({ where: { code: { in: codes } }, select: { id: true, code: true } }),
    ),
    inChunks([...cardOwner.keys()], 1_000, (ids) =>
      prisma.socialCard.findMany({
        where: { externalId: { in: ids } },
        include: { citizen: { select: { externalId: true } } },
      }),
    ),
  ]);
  const extMap = new Map(byExt.map((c) => [c.externalId as string, c]));
  const phoneMap = new Map(byPhone.map((c) => [c.phone, c]));
  const pinflMap = new Map(byPinfl.map((c) => [c.pinfl as string, c]));
  const mahallaMap = new Map(mahallas.map((m) => [m.code, m.id]));
  const cardMap = new Map(cards.map((c) => [c.externalId, c]));

  type Citizen = (typeof byExt)[number];
  const plans: { input: BeneficiaryInput; target: Citizen | null; mahallaId: number | undefined }[] = [];
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
    for (const card of input.cards) {
      const existing = cardMap.get(card.externalId);
      if (existing && existing.citizen.externalId !== input.externalId) {
        r.note("cards", "CARD_OWNER_MISMATCH", `card ${card.externalId} belongs to another beneficiary`);
      }
    }
    errors.add(record, r.problems);
    if (r.problems.length === 0) plans.push({ input, target, mahallaId });
  }
  errors.throwIfAny(received);

  const citizens: UpsertCounts = { created: 0, updated: 0, unchanged: 0 };
  const cardCounts: UpsertCounts = { created: 0, updated: 0, unchanged: 0 };
  // Written batch by batch, each in its own transaction, so a 100,000-row register does not hold
  // the embedded database's only connection for minutes. A crash midway leaves whole batches
  // written; sending the import again completes it (it is idempotent by external id).
  for (let i = 0; i < plans.length; i += BENEFICIARY_BATCH) {
    const batch = plans.slice(i, i + BENEFICIARY_BATCH);
    await prisma.$transaction(async (tx) => {
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
          citizens.created++;
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
        const diff = changed(target, {
          ...wanted,
          ...(target.locale === null && input.locale ? { locale: input.locale } : {}),
        });
        if (Object.keys(diff).length === 0) {
          citizens.unchanged++;
          continue;
        }
        await tx.citizen.update({ where: { id: target.id }, data: diff });
        citizens.updated++;
        audits.push({
          actor,
          action: "citizen.import",
          entity: "Citizen",
          entityId: String(target.id),
          before: pick(target, Object.keys(diff) as (keyof Citizen)[]),
          after: diff,
        });
      }
      for (const { input } of batch) {
        const citizenId = citizenIds.get(input.externalId) as number;
        for (const card of input.cards) {
          const existing = cardMap.get(card.externalId);
          const wanted = {
            maskedNumber: card.maskedNumber,
            status: card.status,
            ...(card.issuedAt ? { issuedAt: card.issuedAt } : {}),
          };
          if (!existing) {
            await tx.socialCard.create({ data: { externalId: card.externalId, citizenId, ...wanted } });
            cardCounts.created++;
            audits.push({
              actor,
              action: "card.import",
              entity: "SocialCard",
              entityId: card.externalId,
              after: { citizenId, ...wanted },
            });
            continue;
          }
          const diff = changed(existing, wanted);
          if (Object.keys(diff).length === 0) {
            cardCounts.unchanged++;
            continue;
          }
          await tx.socialCard.update({ where: { id: existing.id }, data: diff });
          cardCounts.updated++;
          audits.push({
            actor,
            action: "card.import",
            entity: "SocialCard",
            entityId: card.externalId,
            before: pick(existing, Object.keys(diff) as (keyof typeof existing)[]),
            after: diff,
          });
        }
      }
      await auditMany(tx, audits);
    }, IMPORT_TX);
    await yieldToOthers();
  }

  return { received, citizens, cards: cardCounts };
}
