import type { Outbox } from "../../generated/prisma/client.js";
import type { SqlExecutor } from "../db/adapters.js";
import { type PrismaClient, txSql } from "../db/database.js";
import {
  CLAIM_DUE,
  CLAIM_DUE_OF_CHANNEL,
  CLAIM_ONE,
  GIVE_UP,
  RECORD_SENT,
  RETRY_LATER,
  TAKE_DUE,
  TAKE_DUE_OF_CHANNEL,
} from "../db/sql/outbox.js";
import { run, runIn } from "../db/sql/statement.js";
import { buttonsOf } from "./buttons.js";
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./policy.js";
import { NotificationRenderer } from "./render.js";
import {
  describeSendError,
  type LogSink,
  PermanentSendError,
  RecipientUnreachableError,
  SendError,
  type SmsSender,
  silentLog,
  type TelegramSender,
  TransientSendError,
} from "./senders.js";

export type OutboxRow = Outbox;

/**
 * Outbox.status values:
 * - pending: waiting for its first attempt;
 * - sending: claimed by a worker (until `nextAttemptAt`, the lease);
 * - sent: the provider accepted it (`providerMessageId` holds the provider's id);
 * - logged: no SMS credentials, the text was only logged;
 * - delivered: the provider reported delivery to the handset;
 * - failed: without a provider id, the last attempt failed and another is due at `nextAttemptAt`;
 *   with one, the provider reported that delivery failed (final: never sent again);
 * - dead: given up (permanent error or too many attempts); listed by the API's dead-letter view.
 */
export const OUTBOX_STATUSES = ["pending", "sending", "sent", "logged", "delivered", "failed", "dead"] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export type DeliveryChannelName = "sms" | "telegram";

export type DeliveryOutcome =
  | { outcome: "sent" | "logged"; channel: DeliveryChannelName; providerMessageId: string | null }
  | { outcome: "retry"; error: string; nextAttemptAt: Date }
  | { outcome: "dead"; error: string }
  /**
   * The provider took the message but recording it failed: the row stays `sending` without a
   * provider id, and is sent again once its lease has expired (the at-least-once window).
   */
  | { outcome: "interrupted"; error: string };

export interface DeliveryOptions {
  prisma: PrismaClient;
  /**
   * The plain-SQL path (`Database.sql`) for the writes made once per message, 50,000 on a payment
   * day; without it they go through `prisma`'s raw queries, which cost more CPU each.
   */
  sql?: SqlExecutor;
  sms: SmsSender;
  /** Without it, rows addressed to Telegram go by SMS to the same person. */
  telegram?: TelegramSender | undefined;
  renderer?: NotificationRenderer;
  policy?: RetryPolicy;
  clock?: () => Date;
  /** Paces sending per channel (see rate-limit.ts); no pacing when absent. */
  limiter?: { take(channel: DeliveryChannelName): Promise<void> };
  /**
   * Longest one provider call may take (default 20 s); then it is aborted and retried later. Must
   * be well under the claim lease, so that no call is still running when the row can be claimed
   * again: that is what keeps a slow first attempt from being sent a second time.
   */
  sendTimeoutMs?: number;
  log?: LogSink;
}

/** Thrown when a provider call outlives `sendTimeoutMs` (it has been aborted). */
export class SendTimeoutError extends TransientSendError {
  constructor(ms: number) {
    super("SEND_TIMEOUT", `no answer from the provider within ${ms} ms`);
  }
}

interface Accepted {
  channel: DeliveryChannelName;
  providerMessageId: string | null;
  status: "sent" | "logged";
}

/**
 * Sends Outbox rows. The engines (relay.ts without Redis, queue.ts with BullMQ) decide *when*;
 * this decides *how*, the same way for both:
 *
 * 1. claim: one UPDATE moves the row to `sending` only if it is still waiting, so two instances
 *    can never both send it; the claim is a lease (`nextAttemptAt` = now + lease);
 * 2. send through the row's channel, in the row's language;
 * 3. record the outcome: the status and the provider's message id in one write.
 *
 * Where a crash can fall:
 * - before the provider took the message: the lease expires, `recover()` releases the row and it
 *   is sent (once): nothing is lost;
 * - after the outcome was recorded: the row is never sent again;
 * - in between (the provider accepted, the write never reached the database; or the HTTP call timed
 *   out after the provider took it): the row is sent again after the lease. That narrow window is
 *   the remaining at-least-once case; Africa's Talking's SMS API offers no idempotency key that
 *   would close it. The outcome is one write, the first after the call, so the window is that one
 *   round trip; a second write (the status apart from the id) would add a durable commit per
 *   message, 50,000 on a payment day, and close nothing.
 * `recover()` still marks `sent` a row left `sending` with a provider id: earlier versions wrote
 * the id and the status apart, and a row may have been left between them by the last one to run.
 * Every write after the claim is fenced by the row's attempt number, so a worker whose lease was
 * taken over changes nothing.
 */
export class NotificationDelivery {
  readonly policy: RetryPolicy;
  readonly renderer: NotificationRenderer;
  private readonly prisma: PrismaClient;
  private readonly sql: SqlExecutor;
  private readonly clock: () => Date;
  private readonly log: LogSink;
  readonly sendTimeoutMs: number;

  constructor(private readonly options: DeliveryOptions) {
    this.prisma = options.prisma;
    this.sql = options.sql ?? txSql(options.prisma);
    this.policy = options.policy ?? DEFAULT_RETRY_POLICY;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 20_000;
    if (!(this.sendTimeoutMs > 0 && this.policy.leaseMs >= 2 * this.sendTimeoutMs)) {
      throw new RangeError(
        `the claim lease (${this.policy.leaseMs} ms) must be at least twice the provider timeout (${this.sendTimeoutMs} ms)`,
      );
    }
    this.renderer = options.renderer ?? new NotificationRenderer();
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log ?? silentLog;
  }

  /** Whether rows addressed to Telegram go out through Telegram (a bot runs) or by SMS. */
  get hasTelegram(): boolean {
    return this.options.telegram !== undefined;
  }

  private leaseEnd(now: Date): Date {
    return new Date(now.getTime() + this.policy.leaseMs);
  }

  /**
   * Rows left `sending` by a worker that stopped (a crash, or another instance that died), once
   * their lease has expired, so a live worker's rows are never touched: those a provider accepted
   * are marked sent (never sent again); those without a provider id are released for another
   * attempt. Runs at start-up and then now and then.
   */
  async recover(): Promise<{ reconciled: number; released: number }> {
    const now = this.clock();
    const reconciled = await this.prisma.outbox.updateMany({
      where: { status: "sending", providerMessageId: { not: null }, nextAttemptAt: { lte: now } },
      data: { status: "sent", lastError: null },
    });
    const released = await this.prisma.outbox.updateMany({
      where: { status: "sending", providerMessageId: null, nextAttemptAt: { lte: now } },
      data: { status: "failed", lastError: "LEASE_EXPIRED: the worker stopped while sending", nextAttemptAt: now },
    });
    if (reconciled.count || released.count) {
      this.log.warn({ reconciled: reconciled.count, released: released.count }, "outbox recovered interrupted sends");
    }
    return { reconciled: reconciled.count, released: released.count };
  }

  /**
   * Claims up to `limit` due rows, oldest first (the relay); only rows addressed to `channel` when
   * given, so that each channel's rounds run apart and one channel's outage holds no other's rows.
   */
  async claimDue(limit: number, channel?: DeliveryChannelName): Promise<OutboxRow[]> {
    const now = this.clock();
    const [at, leaseEnd] = [now.toISOString(), this.leaseEnd(now).toISOString()];
    return channel
      ? runIn(this.prisma, CLAIM_DUE_OF_CHANNEL, [at, limit, channel, leaseEnd])
      : runIn(this.prisma, CLAIM_DUE, [at, limit, leaseEnd]);
  }

  /**
   * Claims one row by id, whatever its schedule (the BullMQ worker: the job's own delay is the
   * schedule). Null when the row is not waiting: already sent, dead, or being sent elsewhere.
   */
  async claimOne(id: number): Promise<OutboxRow | null> {
    const now = this.clock();
    // Through Prisma: the whole row comes back, its timestamps read as the UTC Prisma wrote.
    const [row] = await runIn(this.prisma, CLAIM_ONE, [id, this.leaseEnd(now).toISOString(), now.toISOString()]);
    return row ?? null;
  }

  /**
   * Hands up to `limit` due rows (of one channel, if given) to a queue (the BullMQ dispatcher): their `nextAttemptAt` moves a
   * lease ahead, so the next round does not hand them over again; if the queue loses them, they
   * become due again when it passes.
   */
  async takeForQueue(limit: number, channel?: DeliveryChannelName): Promise<number[]> {
    const now = this.clock();
    const [at, leaseEnd] = [now.toISOString(), this.leaseEnd(now).toISOString()];
    const rows = channel
      ? await runIn(this.prisma, TAKE_DUE_OF_CHANNEL, [at, limit, channel, leaseEnd])
      : await runIn(this.prisma, TAKE_DUE, [at, limit, leaseEnd]);
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  /** Sends one claimed row and records the outcome. */
  async deliver(row: OutboxRow): Promise<DeliveryOutcome> {
    const attempt = row.attempts;
    if (attempt > this.policy.maxAttempts) {
      return this.giveUp(row, attempt, `MAX_ATTEMPTS: ${row.lastError ?? "interrupted too often"}`);
    }
    let accepted: Accepted;
    try {
      accepted = await this.send(row);
    } catch (err) {
      return this.failed(row, attempt, err);
    }
    try {
      await this.recordSent(row, attempt, accepted);
    } catch (err) {
      const error = describeSendError(err);
      this.log.error({ outboxId: row.id, err }, "provider accepted the message but the outbox row was not updated");
      return { outcome: "interrupted", error };
    }
    return { outcome: accepted.status, channel: accepted.channel, providerMessageId: accepted.providerMessageId };
  }

  /** The exactly-once pivot: from here on the row is never sent again. */
  private async recordSent(row: OutboxRow, attempt: number, accepted: Accepted): Promise<void> {
    const recorded = await run(this.sql, RECORD_SENT, [
      row.id,
      attempt,
      accepted.status,
      accepted.channel,
      accepted.providerMessageId,
      this.clock().toISOString(),
    ]);
    if (recorded.length === 0) this.log.warn({ outboxId: row.id }, "outbox row was taken over while sending");
  }

  private async failed(row: OutboxRow, attempt: number, err: unknown): Promise<DeliveryOutcome> {
    const error = describeSendError(err);
    // Anything that is not a SendError (a bug, a driver error) is retried: it may be passing.
    const permanent = err instanceof SendError && !err.retryable;
    if (permanent || attempt >= this.policy.maxAttempts) return this.giveUp(row, attempt, error);
    const nextAttemptAt = new Date(this.clock().getTime() + backoffDelay(this.policy, attempt));
    await run(this.sql, RETRY_LATER, [row.id, attempt, error, nextAttemptAt.toISOString(), this.clock().toISOString()]);
    this.log.warn({ outboxId: row.id, attempt, error, nextAttemptAt }, "notification not sent, will retry");
    return { outcome: "retry", error, nextAttemptAt };
  }

  private async giveUp(row: OutboxRow, attempt: number, error: string): Promise<DeliveryOutcome> {
    await run(this.sql, GIVE_UP, [row.id, attempt, error, this.clock().toISOString()]);
    this.log.error({ outboxId: row.id, attempt, error }, "notification given up (dead letter)");
    return { outcome: "dead", error };
  }

  /**
   * One provider call under a deadline: its signal aborts it, and the race makes sure delivery
   * moves on even if a sender ignored the signal. Before calling, the claim must still have more
   * than the deadline to run (pacing may have used some of it): a call is never made that could
   * outlive the lease, after which another worker may claim and send the same row.
   */
  private async call<T>(row: OutboxRow, provider: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const left = row.nextAttemptAt.getTime() - this.clock().getTime();
    if (left < this.sendTimeoutMs) {
      throw new TransientSendError(
        "LEASE_TOO_SHORT",
        `${left} ms of the claim left, a call may take ${this.sendTimeoutMs} ms`,
      );
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(new SendTimeoutError(this.sendTimeoutMs));
        reject(new SendTimeoutError(this.sendTimeoutMs));
      }, this.sendTimeoutMs);
    });
    try {
      return await Promise.race([provider(controller.signal), deadline]);
    } catch (err) {
      throw controller.signal.aborted ? new SendTimeoutError(this.sendTimeoutMs) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(row: OutboxRow): Promise<Accepted> {
    if (!this.renderer.knows(row)) {
      throw new PermanentSendError("UNKNOWN_TEMPLATE", `no text for ${row.templateKey}`);
    }
    const telegram = this.options.telegram;
    if (row.channel === "telegram" && row.recipientChatId !== null && telegram) {
      const chatId = row.recipientChatId;
      try {
        await this.options.limiter?.take("telegram");
        const card = staffVisitCard(row);
        const escalation = escalationCard(row);
        const sent = await this.call(row, (signal) =>
          card && telegram.sendStaffVisitCard
            ? telegram.sendStaffVisitCard(card, signal)
            : escalation && telegram.sendEscalation
              ? telegram.sendEscalation(escalation, signal)
              : telegram.sendMessage(chatId, this.renderer.text(row), signal, buttonsOf(row)),
        );
        // Telegram message ids are per chat; the chat makes them unique among provider ids.
        return {
          channel: "telegram",
          providerMessageId: `tg:${chatId}:${sent.messageId}`,
          status: "sent",
        };
      } catch (err) {
        if (!(err instanceof RecipientUnreachableError) || !row.recipientPhone) throw err;
        this.log.info({ outboxId: row.id }, "telegram chat unreachable, sending by sms");
      }
    }
    const phone = row.recipientPhone;
    if (!phone) throw new PermanentSendError("NO_RECIPIENT", "no phone number to send an SMS to");
    const sms = this.renderer.sms(row);
    await this.options.limiter?.take("sms");
    const accepted = await this.call(row, (signal) =>
      this.options.sms.send({ to: phone, text: sms.text, outboxId: row.id, signal }),
    );
    return { channel: "sms", ...accepted };
  }
}

/** A new visit request for a worker: the bot can show it as a card with action buttons. */
function staffVisitCard(row: OutboxRow): { staffId: number; reference: string } | null {
  if (row.templateKey !== "notify.visit_requested_staff" || row.staffId === null) return null;
  const reference = (row.params as { reference?: unknown } | null)?.reference;
  return typeof reference === "string" ? { staffId: row.staffId, reference } : null;
}

/** Requests escalated to a district admin: the bot shows them with reassign and take buttons. */
function escalationCard(row: OutboxRow): { staffId: number; references: string[] } | null {
  if (row.templateKey !== "notify.visit_escalated_admin" || row.staffId === null) return null;
  const references = (row.params as { references?: unknown } | null)?.references;
  if (typeof references !== "string") return null;
  const list = references
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  return list.length ? { staffId: row.staffId, references: list } : null;
}
