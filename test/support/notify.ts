import type { SqlExecutor } from "../../core/db/adapters.js";
import type { PrismaClient } from "../../core/db/database.js";
import { RECORD_SENT } from "../../core/db/sql/outbox.js";
import type { SmsAccepted, SmsSender, TelegramSender } from "../../core/notifications/senders.js";
import { nextPhone } from "./backoffice.js";

/** An SMS sender that records what it sends; `failures` are thrown, in order, before it succeeds. */
export class FakeSms implements SmsSender {
  readonly sent: { to: string; text: string; outboxId?: number | undefined }[] = [];
  failures: Error[] = [];
  /** Runs after the provider "accepted" the message (to simulate a crash right then). */
  afterAccept?: () => void;
  private counter = 0;

  async send(message: { to: string; text: string; outboxId?: number }): Promise<SmsAccepted> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.sent.push(message);
    this.afterAccept?.();
    this.counter++;
    return { providerMessageId: `ATXid_${this.counter}_${message.outboxId ?? 0}`, status: "sent" };
  }
}

export class FakeTelegram implements TelegramSender {
  readonly sent: { chatId: bigint; text: string }[] = [];
  readonly cards: { staffId: number; reference: string }[] = [];
  failures: Error[] = [];

  async sendMessage(chatId: bigint, text: string) {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.sent.push({ chatId, text });
    return { messageId: this.sent.length };
  }

  async sendStaffVisitCard(input: { staffId: number; reference: string }) {
    this.cards.push(input);
    return { messageId: 9000 + this.cards.length };
  }
}

/** A waiting Outbox row, as a service would have written it. */
export function outboxRow(
  prisma: PrismaClient,
  data: {
    channel?: "sms" | "telegram";
    phone?: string | null;
    chatId?: bigint;
    locale?: string;
    templateKey?: string;
    params?: object;
    nextAttemptAt?: Date;
    staffId?: number;
  } = {},
) {
  return prisma.outbox.create({
    data: {
      channel: data.channel ?? "sms",
      recipientPhone: data.phone === undefined ? nextPhone() : data.phone,
      recipientChatId: data.chatId ?? null,
      locale: data.locale ?? "uz",
      templateKey: data.templateKey ?? "notify.visit_done",
      params: data.params ?? { reference: "V-1234-5678" },
      staffId: data.staffId ?? null,
      ...(data.nextAttemptAt ? { nextAttemptAt: data.nextAttemptAt } : {}),
    },
  });
}

/**
 * The plain-SQL path, except that recording a row `sent` fails as if the process died right
 * there: the provider has the message, the database never hears of it.
 */
export function crashOnMarkSent(sql: SqlExecutor): SqlExecutor {
  return {
    query: (text, values) =>
      text === RECORD_SENT.text
        ? Promise.reject(new Error("process died before marking the row"))
        : sql.query(text, values),
  };
}

/** Polls `check` until it is true (real-time engines such as BullMQ), failing after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}
