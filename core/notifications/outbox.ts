import type { SqlExecutor } from "../db/adapters.js";
import type { Tx } from "../db/database.js";
import { INSERT_BATCH as INSERT_AUDIT } from "../db/sql/audit-log.js";
import { FIGURES, type FiguresRow, type OutboxRowParams, PURGE_TEXTS } from "../db/sql/outbox.js";
import { run } from "../db/sql/statement.js";
import type { Locale, Params } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";

/** A message to deliver later: a template in locales/ (under `notify.`) and its parameters. */
export interface Notification {
  templateKey: string;
  params: Params;
  /** Same key, same notification: a second write is ignored (idempotent imports, retries). */
  dedupeKey?: string;
}

export type DeliveryChannel = "telegram" | "sms";

export interface Recipient {
  phone: string;
  telegramChatId: bigint | null;
  locale: string | null;
}

/**
 * The Outbox row for a notification (for bulk writers such as imports, which insert many at
 * once). The channel is chosen now: Telegram when linked, SMS otherwise (or when asked).
 */
export function outboxData(
  recipient: Recipient,
  ids: { citizenId?: number; staffId?: number },
  notification: Notification,
  preferSms = false,
) {
  const channel: DeliveryChannel = recipient.telegramChatId !== null && !preferSms ? "telegram" : "sms";
  const locale: Locale = isLocale(recipient.locale) ? recipient.locale : "uz";
  return {
    channel,
    recipientPhone: recipient.phone,
    recipientChatId: channel === "telegram" ? recipient.telegramChatId : null,
    citizenId: ids.citizenId ?? null,
    staffId: ids.staffId ?? null,
    locale,
    templateKey: notification.templateKey,
    params: notification.params as object,
    dedupeKey: notification.dedupeKey ?? null,
  };
}

/**
 * The Outbox row for a notification as the parameters of OUTBOX_ROWS_INSERT (core/db/sql/outbox.ts),
 * for a statement that queues it beside the change that caused it (an application's submission):
 * the same row outboxData describes, channel and language chosen by the same rule.
 */
export function outboxRowParams(
  recipient: Recipient,
  ids: { citizenId?: number; staffId?: number },
  notification: Notification,
  preferSms = false,
): OutboxRowParams {
  const row = outboxData(recipient, ids, notification, preferSms);
  return [
    row.channel,
    row.recipientPhone,
    row.recipientChatId === null ? null : row.recipientChatId.toString(),
    row.citizenId,
    row.staffId,
    row.locale,
    row.templateKey,
    JSON.stringify(row.params),
    row.dedupeKey,
  ];
}

/**
 * Writes the notification in the caller's transaction, so it exists exactly when the change that
 * caused it does.
 */
async function enqueue(
  tx: Tx,
  recipient: Recipient,
  ids: { citizenId?: number; staffId?: number },
  notification: Notification,
  preferSms: boolean,
): Promise<void> {
  const data = outboxData(recipient, ids, notification, preferSms);
  if (notification.dedupeKey) {
    await tx.outbox.upsert({ where: { dedupeKey: notification.dedupeKey }, create: data, update: {} });
  } else {
    await tx.outbox.create({ data });
  }
}

export async function notifyCitizen(
  tx: Tx,
  citizenId: number,
  notification: Notification,
  options: { preferSms?: boolean } = {},
): Promise<void> {
  const citizen = await tx.citizen.findUniqueOrThrow({
    where: { id: citizenId },
    select: { phone: true, telegramChatId: true, locale: true },
  });
  await enqueue(tx, citizen, { citizenId }, notification, options.preferSms ?? false);
}

export async function notifyStaff(tx: Tx, staffId: number, notification: Notification): Promise<void> {
  const staff = await tx.staff.findUniqueOrThrow({
    where: { id: staffId },
    select: { phone: true, telegramChatId: true, locale: true },
  });
  await enqueue(tx, staff, { staffId }, notification, false);
}

export async function audit(
  tx: Tx,
  entry: { actor: string; action: string; entity: string; entityId?: string; before?: unknown; after?: unknown },
): Promise<void> {
  await tx.auditLog.create({ data: auditRow(entry) });
}

export type AuditEntry = Parameters<typeof audit>[1];

/**
 * Fields that name or reach a person. The audit log outlives every other copy of personal data
 * and is read by more people, so it keeps ids and the fact that such a field changed, never its
 * value (issue 12: import audit rows keep ids, not names, PINFLs or phones).
 */
export const PERSONAL_FIELDS: ReadonlySet<string> = new Set([
  "phone",
  "recipientPhone",
  "pinfl",
  "claimedPinfl",
  "fullName",
  "address",
  "latitude",
  "longitude",
]);

/** What a personal field's value is replaced with in the audit log. */
export const REDACTED = "[redacted]";

/** An entry as its AuditLog row: before/after as JSON without personal values, absent when not given. */
export function auditRow(entry: AuditEntry) {
  return {
    actor: entry.actor,
    action: entry.action,
    entity: entry.entity,
    entityId: entry.entityId ?? null,
    before: entry.before === undefined ? undefined : (redact(toJson(entry.before)) as object),
    after: entry.after === undefined ? undefined : (redact(toJson(entry.after)) as object),
  };
}

/** A JSON value with the values of personal fields replaced, at any depth; null stays null. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, PERSONAL_FIELDS.has(k) && v !== null ? REDACTED : redact(v)]),
  );
}

/** Many audit entries in one statement (imports). */
export async function auditMany(tx: Tx, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.auditLog.createMany({
    data: entries.map(auditRow),
  });
}

/** The same on the plain-SQL path, inside a `Database.sql.transaction` (an import's batch). */
export async function auditManySql(sql: SqlExecutor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map(auditRow);
  const json = (value: object | undefined) => (value === undefined ? null : JSON.stringify(value));
  await run(sql, INSERT_AUDIT, [
    rows.map((r) => r.actor),
    rows.map((r) => r.action),
    rows.map((r) => r.entity),
    rows.map((r) => r.entityId),
    rows.map((r) => json(r.before)),
    rows.map((r) => json(r.after)),
  ]);
}

/** BigInt and Date values made JSON-safe for the audit log. */
function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/**
 * Blanks the parameters of notifications finished before `before` (references kept; see
 * PURGE_TEXTS), marking them changed at `now`. Idempotent; returns how many rows it rewrote.
 */
export async function purgeOutboxTexts(sql: SqlExecutor, before: Date, now: Date): Promise<number> {
  const [row] = await run(sql, PURGE_TEXTS, [before.toISOString(), now.toISOString()]);
  return row?.count ?? 0;
}

export type OutboxFigures = FiguresRow;

/** Backlog, age of the oldest waiting message (seconds) and dead letters, per channel, in one statement. */
export const outboxFigures = (sql: SqlExecutor): Promise<OutboxFigures[]> => run(sql, FIGURES, []);
