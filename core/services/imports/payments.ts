import type { SqlDatabase, SqlExecutor } from "../../db/adapters.js";
import type { PrismaClient } from "../../db/database.js";
import { PAYMENT_MATCHES, type PaymentMatchRow } from "../../db/sql/citizen.js";
import { INSERT_BATCH as INSERT_NOTIFICATIONS } from "../../db/sql/outbox.js";
import { IMPORTED, INSERT_BATCH as INSERT_PAYMENTS } from "../../db/sql/payment.js";
import { BY_EXTERNAL_IDS as CARDS } from "../../db/sql/social-card.js";
import { run, type Statement } from "../../db/sql/statement.js";
import type { Names } from "../../domain/vocabulary.js";
import { type AuditEntry, outboxData, type Recipient } from "../../notifications/outbox.js";
import { shortNamesOf } from "../names.js";
import { EXTERNAL_ID, EXTERNAL_ID_HINT, type ImportPart, type Records, runImport } from "./pipeline.js";
import { type PaceOptions, type RawRecord, RowReader } from "./rows.js";

/** Rows looked up and written per round trip. */
export const PAYMENT_BATCH = 1_000;

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

export interface PaymentImportResult {
  received: number;
  /** Payments written by this request. */
  created: number;
  /** Payments already imported with the same data (a re-sent batch): nothing changed for them. */
  duplicates: number;
  /** Notifications queued for the new payments (one each, never a second for a re-sent one). */
  notifications: number;
}

/**
 * A validated payment, kept compact: a 200,000-row import holds these, not the file, until every
 * row is checked. The credit time is kept as epoch ms and the period is the import's one copy of
 * that text: a Date and a string per row were a quarter of a plan (19 of 76 MB at 200,000 rows).
 */
interface PaymentPlan {
  externalId: string;
  citizenId: number;
  cardId: number | null;
  benefitTypeId: number;
  amountTiyin: bigint;
  period: string;
  creditedMs: number;
}

interface ParsedPayment {
  record: RawRecord;
  externalId: string;
  citizenExternalId: string | undefined;
  phone: string | undefined;
  pinfl: string | undefined;
  cardExternalId: string | undefined;
  benefitCode: string;
  amountTiyin: bigint;
  period: string;
  creditedAt: Date;
}

/** so'm with up to two decimals ("1250000", "1 250 000,50") to tiyin. */
export function parseSum(text: string): bigint | null {
  const m = /^(\d{1,13})(?:[.,](\d{1,2}))?$/.exec(text.replace(/[\s\u00A0]/g, ""));
  if (!m) return null;
  return BigInt(m[1] as string) * 100n + BigInt((m[2] ?? "0").padEnd(2, "0"));
}

function parsePayment(record: RawRecord, r: RowReader): ParsedPayment | undefined {
  const externalId = r.text("externalId", {
    required: true,
    pattern: EXTERNAL_ID,
    hint: `externalId ${EXTERNAL_ID_HINT}`,
  });
  const citizenExternalId = r.text("citizenExternalId", {
    pattern: EXTERNAL_ID,
    hint: "citizenExternalId has an invalid format",
  });
  const phone = r.phone("phone");
  const pinfl = r.pinfl("pinfl");
  const cardExternalId = r.text("cardExternalId", {
    pattern: EXTERNAL_ID,
    hint: "cardExternalId has an invalid format",
  });
  const benefitCode = r.text("benefitCode", {
    required: true,
    pattern: /^[A-Z0-9_]{2,40}$/,
    hint: "benefitCode must be a benefit code such as CHILD_ALLOWANCE",
  });
  const period = r.text("period", { required: true, pattern: PERIOD, hint: "period must be YYYY-MM" });
  const creditedAt = r.instant("creditedAt", true);
  let amountTiyin: bigint | undefined;
  if (r.has("amountTiyin") && r.has("amount")) r.note("amount", "AMBIGUOUS", "give amountTiyin or amount, not both");
  else if (r.has("amountTiyin")) {
    const n = r.integer("amountTiyin", { min: 1, max: 1e15 });
    if (n !== undefined) amountTiyin = BigInt(n);
  } else if (r.has("amount")) {
    const text = r.text("amount", { max: 24 });
    const parsed = text === undefined ? null : parseSum(text);
    if (parsed === null || parsed <= 0n)
      r.note("amount", "INVALID", "amount must be a positive sum in so'm, e.g. 1250000 or 1250000.50");
    else amountTiyin = parsed;
  } else {
    r.note("amountTiyin", "REQUIRED", "amountTiyin (or amount in so'm) is required");
  }
  if (!r.has("citizenExternalId") && !r.has("phone") && !r.has("pinfl")) {
    r.note("citizenExternalId", "REQUIRED", "identify the recipient by citizenExternalId, phone or pinfl");
  }
  if (r.problems.length > 0 || !externalId || !benefitCode || !period || !creditedAt || amountTiyin === undefined) {
    return undefined;
  }
  return {
    record,
    externalId,
    citizenExternalId,
    phone,
    pinfl,
    cardExternalId,
    benefitCode,
    amountTiyin,
    period,
    creditedAt,
  };
}

interface CitizenRow extends Recipient {
  id: number;
}

const recipientOf = (c: PaymentMatchRow): CitizenRow => ({
  id: c.id,
  phone: c.phone,
  telegramChatId: c.telegramChatId === null ? null : BigInt(c.telegramChatId),
  locale: c.locale,
});

async function paymentPart(
  { prisma, sql }: { prisma: PrismaClient; sql: SqlDatabase },
  actor: string,
  result: PaymentImportResult,
): Promise<ImportPart<ParsedPayment, PaymentPlan>> {
  const benefits = new Map(
    (
      await prisma.benefitType.findMany({
        select: { id: true, code: true, shortUz: true, shortUzCyrl: true, shortRu: true },
      })
    ).map((b) => [b.code, b]),
  );
  // Short names keep a payment SMS within its segments.
  const benefitNames = new Map([...benefits.values()].map((b) => [b.id, shortNamesOf(b)]));
  const recipients = new Map<number, CitizenRow>();
  // A file's rows share a handful of periods: each plan points at one copy of its text.
  const periods = new Map<string, string>();
  const period = (text: string) => {
    const known = periods.get(text);
    if (known !== undefined) return known;
    periods.set(text, text);
    return text;
  };
  const inFile = new Map<string, { row: number; fingerprint: string }>();
  return {
    read(record, reader) {
      const parsed = parsePayment(record, reader);
      if (!parsed) return undefined;
      const fingerprint = [
        parsed.citizenExternalId,
        parsed.phone,
        parsed.pinfl,
        parsed.cardExternalId,
        parsed.benefitCode,
        parsed.amountTiyin,
        parsed.period,
        parsed.creditedAt.getTime(),
      ].join("|");
      const seen = inFile.get(parsed.externalId);
      if (seen) {
        if (seen.fingerprint === fingerprint) result.duplicates++;
        else {
          reader.note(
            "externalId",
            "DUPLICATE_IN_FILE",
            `externalId ${parsed.externalId} appears in row ${seen.row} with other data`,
          );
        }
        return undefined;
      }
      inFile.set(parsed.externalId, { row: record.row, fingerprint });
      return parsed;
    },

    // Each batch of rows is checked against the database as it arrives and kept only as plans.
    resolveEvery: PAYMENT_BATCH,

    // Plain SQL, not Prisma: a query with a thousand values is compiled and its rows mapped on the
    // event loop, which held the process's USSD steps for tens of milliseconds per batch.
    async resolve(current, reject) {
      const unique = <T>(values: (T | undefined)[]) => [...new Set(values.filter((v): v is T => v !== undefined))];
      const [citizens, cards, existing] = await Promise.all([
        // Only the register's links: a phone the register gave a beneficiary, the register's PINFL
        // (never one a caller typed, which is kept in claimedPinfl).
        run(sql, PAYMENT_MATCHES, [
          unique(current.map((p) => p.citizenExternalId)),
          unique(current.map((p) => p.phone)),
          unique(current.map((p) => p.pinfl)),
        ]),
        run(sql, CARDS, [unique(current.map((p) => p.cardExternalId))]),
        run(sql, IMPORTED, [current.map((p) => p.externalId)]),
      ]);
      const extMap = new Map<string, CitizenRow>();
      const phoneMap = new Map<string, CitizenRow>();
      const pinflMap = new Map<string, CitizenRow>();
      for (const c of citizens) {
        const citizen = recipientOf(c);
        if (c.byExternalId && c.externalId !== null) extMap.set(c.externalId, citizen);
        if (c.byPhone) phoneMap.set(c.phone, citizen);
        if (c.byPinfl && c.pinfl !== null) pinflMap.set(c.pinfl, citizen);
      }
      const cardMap = new Map(cards.map((c) => [c.externalId, c]));
      const existingMap = new Map(existing.map((p) => [p.externalId, p]));
      const plans: PaymentPlan[] = [];
      for (const p of current) {
        const r = new RowReader({});
        const found = [
          p.citizenExternalId !== undefined
            ? { field: "citizenExternalId", citizen: extMap.get(p.citizenExternalId) }
            : null,
          p.phone !== undefined ? { field: "phone", citizen: phoneMap.get(p.phone) } : null,
          p.pinfl !== undefined ? { field: "pinfl", citizen: pinflMap.get(p.pinfl) } : null,
        ].filter((f) => f !== null);
        for (const f of found) {
          if (!f.citizen) r.note(f.field, "CITIZEN_NOT_FOUND", `no beneficiary of the register with this ${f.field}`);
        }
        const ids = new Set(found.flatMap((f) => (f.citizen ? [f.citizen.id] : [])));
        if (ids.size > 1)
          r.note(null, "CITIZEN_MISMATCH", "citizenExternalId, phone and pinfl name different citizens");
        const citizen = found.find((f) => f.citizen)?.citizen;
        const benefit = benefits.get(p.benefitCode);
        if (!benefit) r.note("benefitCode", "UNKNOWN_BENEFIT", `no benefit type ${p.benefitCode}`);
        let cardId: number | null = null;
        if (p.cardExternalId !== undefined) {
          const card = cardMap.get(p.cardExternalId);
          if (!card) r.note("cardExternalId", "CARD_NOT_FOUND", `no social card ${p.cardExternalId}`);
          else if (citizen && card.citizenId !== citizen.id) {
            r.note("cardExternalId", "CARD_OWNER_MISMATCH", "the card belongs to another citizen");
          } else cardId = card.id;
        }
        if (r.problems.length > 0 || !citizen || !benefit) {
          reject(p.record, r.problems);
          continue;
        }
        const plan: PaymentPlan = {
          externalId: p.externalId,
          citizenId: citizen.id,
          cardId,
          benefitTypeId: benefit.id,
          amountTiyin: p.amountTiyin,
          period: period(p.period),
          creditedMs: p.creditedAt.getTime(),
        };
        const before = existingMap.get(p.externalId);
        if (before) {
          const same =
            before.citizenId === plan.citizenId &&
            before.benefitTypeId === plan.benefitTypeId &&
            before.amountTiyin === plan.amountTiyin.toString() &&
            before.period === plan.period &&
            before.creditedMs === plan.creditedMs &&
            (plan.cardId === null || before.cardId === plan.cardId);
          if (same) result.duplicates++;
          else {
            reject(p.record, [
              {
                field: "externalId",
                code: "CONFLICT",
                message: `payment ${p.externalId} was already imported with different data`,
              },
            ]);
          }
          continue;
        }
        recipients.set(citizen.id, citizen);
        plans.push(plan);
      }
      return plans;
    },

    writeEvery: PAYMENT_BATCH,

    sql,
    async writeSql(tx, chunk) {
      const payments = await insertPayments(tx, chunk);
      const outbox = await insertNotifications(
        tx,
        chunk.map((p) =>
          outboxData(
            recipients.get(p.citizenId) as CitizenRow,
            { citizenId: p.citizenId },
            {
              templateKey: "notify.payment_credited",
              params: {
                amount: { money: Number(p.amountTiyin) },
                benefit: { names: benefitNames.get(p.benefitTypeId) as Names },
                period: displayPeriod(p.period),
              },
              dedupeKey: `payment:${p.externalId}`,
            },
          ),
        ),
      );
      result.created += payments;
      result.notifications += outbox;
      const audit: AuditEntry = {
        actor,
        action: "payment.import",
        entity: "Payment",
        after: { inserted: payments, externalIds: chunk.map((p) => p.externalId) },
      };
      return [audit];
    },
  };
}

/**
 * Social-card payments from the agency, idempotent by external id: a payment already imported
 * with the same data is skipped, with the same data under the same id nothing changes, and no
 * second notification is queued (the Outbox dedupe key is `payment:<externalId>`). The input is
 * read once, in batches: each batch of rows is checked against the database as it arrives and
 * kept only in compact form. If any row is bad the import is refused whole and nothing is
 * written; otherwise the payments and their notifications are written batch by batch, each batch
 * in one transaction. (A crash midway leaves whole batches written; sending the import again
 * completes it, as it is idempotent.)
 */
export async function importPayments(
  db: { prisma: PrismaClient; sql: SqlDatabase },
  records: Records,
  actor: string,
  pace: PaceOptions = {},
): Promise<PaymentImportResult> {
  const result: PaymentImportResult = { received: 0, created: 0, duplicates: 0, notifications: 0 };
  const { received, plans } = await runImport(db.prisma, records, await paymentPart(db, actor, result), pace);
  // Rows another request imported between the check and the write count as duplicates.
  result.duplicates += plans.length - result.created;
  return { ...result, received };
}

/*
 * The write phase inserts a batch with one set-based statement per table (unnest over column
 * arrays): about ten times faster than Prisma's createMany here, which matters on the embedded
 * database, where a batch's transaction holds the only connection while USSD and Telegram wait.
 * Timestamps travel as ISO strings and are stored as UTC, as Prisma stores them. Existing rows
 * (same externalId / dedupeKey) are skipped, so concurrent imports of one batch stay idempotent.
 */
async function insertPayments(tx: SqlExecutor, rows: PaymentPlan[]): Promise<number> {
  return inserted(tx, INSERT_PAYMENTS, [
    rows.map((r) => r.externalId),
    rows.map((r) => r.citizenId),
    rows.map((r) => r.cardId),
    rows.map((r) => r.benefitTypeId),
    rows.map((r) => r.amountTiyin.toString()),
    rows.map((r) => r.period),
    rows.map((r) => new Date(r.creditedMs).toISOString()),
  ]);
}

async function insertNotifications(tx: SqlExecutor, rows: ReturnType<typeof outboxData>[]): Promise<number> {
  return inserted(tx, INSERT_NOTIFICATIONS, [
    rows.map((r) => r.channel),
    rows.map((r) => r.recipientPhone),
    rows.map((r) => (r.recipientChatId === null ? null : r.recipientChatId.toString())),
    rows.map((r) => r.citizenId),
    rows.map((r) => r.locale),
    rows.map((r) => r.templateKey),
    rows.map((r) => JSON.stringify(r.params)),
    rows.map((r) => r.dedupeKey),
  ]);
}

/** Runs a batch insert; returns how many rows it inserted (the rest were there already). */
async function inserted<Params extends readonly unknown[]>(
  tx: SqlExecutor,
  s: Statement<{ inserted: number }, Params>,
  params: Params,
): Promise<number> {
  const [row] = await run(tx, s, params);
  return row?.inserted ?? 0;
}

/** "2025-01" → "01.2025", the way dates are written in every language of the product. */
const displayPeriod = (period: string) => `${period.slice(5, 7)}.${period.slice(0, 4)}`;
