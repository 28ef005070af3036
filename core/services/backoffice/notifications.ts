import type { Prisma, PrismaClient } from "../../db/database.js";
import { ConflictError, NotFoundError } from "../../domain/errors.js";
import type { OutboxStatus } from "../../notifications/delivery.js";
import { audit } from "../../notifications/outbox.js";
import { NotificationRenderer } from "../../notifications/render.js";
import { type Page, type PageRequest, pageOf } from "./paging.js";

export interface NotificationItem {
  id: number;
  channel: string;
  status: OutboxStatus;
  recipientPhone: string | null;
  citizenId: number | null;
  staffId: number | null;
  locale: string;
  templateKey: string;
  /** The message as it reads in the recipient's language. */
  text: string;
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  /** When the next attempt is due (waiting rows only). */
  nextAttemptAt: Date | null;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
}

/** What was sent to whom and how far it got; and the operator's retry of a dead letter. */
export class BackOfficeNotifications {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly renderer: NotificationRenderer = new NotificationRenderer(),
  ) {}

  /** Notifications newest first, with their delivery status and text. */
  async list(
    filter: { phone?: string | undefined; status?: OutboxStatus | undefined } & PageRequest,
  ): Promise<Page<NotificationItem>> {
    const where: Prisma.OutboxWhereInput = {
      ...(filter.phone ? { recipientPhone: filter.phone } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    return pageOf(filter, {
      rows: (window) =>
        this.prisma.outbox.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], ...window }),
      count: () => this.prisma.outbox.count({ where }),
      item: (r) => ({
        id: r.id,
        channel: r.channel,
        status: r.status as OutboxStatus,
        recipientPhone: r.recipientPhone,
        citizenId: r.citizenId,
        staffId: r.staffId,
        locale: r.locale,
        templateKey: r.templateKey,
        text: this.renderer.text(r),
        attempts: r.attempts,
        lastError: r.lastError,
        providerMessageId: r.providerMessageId,
        nextAttemptAt:
          (r.status === "pending" || r.status === "failed") && r.providerMessageId === null ? r.nextAttemptAt : null,
        createdAt: r.createdAt,
        sentAt: r.sentAt,
        deliveredAt: r.deliveredAt,
      }),
    });
  }

  /**
   * Puts a dead notification (or one whose delivery the provider reported failed) back in line for
   * a fresh series of attempts.
   */
  async retry(id: number, actor: string, now: Date = new Date()): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const row = await tx.outbox.findUnique({ where: { id } });
      if (!row) throw new NotFoundError(`no notification ${id}`);
      const retryable = row.status === "dead" || (row.status === "failed" && row.providerMessageId !== null);
      if (!retryable) {
        throw new ConflictError("NOT_RETRYABLE", `a ${row.status} notification is not waiting for an operator`);
      }
      const { count } = await tx.outbox.updateMany({
        where: { id, status: row.status },
        data: { status: "pending", attempts: 0, nextAttemptAt: now, providerMessageId: null },
      });
      if (count === 0) throw new ConflictError("NOT_RETRYABLE", "the notification changed meanwhile");
      await audit(tx, {
        actor,
        action: "notification.retry",
        entity: "Outbox",
        entityId: String(id),
        before: {
          status: row.status,
          attempts: row.attempts,
          lastError: row.lastError,
          providerMessageId: row.providerMessageId,
        },
        after: { status: "pending", attempts: 0 },
      });
    });
  }
}
