import type { LogSink, SmsAccepted, SmsSender } from "./senders.js";

/**
 * Without Africa's Talking credentials nothing leaves the server: each SMS is logged and its
 * Outbox row marked `logged` (not `sent`), so the API shows plainly that no SMS went out. The
 * phone number is logged under `phone`, which the application logger redacts.
 */
export class LoggingSmsSender implements SmsSender {
  constructor(private readonly log: LogSink) {}

  async send(message: { to: string; text: string; outboxId?: number }): Promise<SmsAccepted> {
    this.log.info(
      { outboxId: message.outboxId, phone: message.to, text: message.text },
      "sms not sent (no AT credentials)",
    );
    return { providerMessageId: null, status: "logged" };
  }
}
