import type { LogSink, SmsAccepted, SmsSender } from "./senders.js";

/**
 * Without Africa's Talking credentials nothing leaves the server: each SMS is logged and its
 * Outbox row marked `logged` (not `sent`), so the API shows plainly that no SMS went out. The
 * phone number is logged under `phone`, which the application logger redacts; the text is
 * masked as other logs are (numbers of phones, PINFLs and cards), so the log shows what kind of
 * message went, not whose.
 */
export class LoggingSmsSender implements SmsSender {
  constructor(private readonly log: LogSink) {}

  async send(message: { to: string; text: string; outboxId?: number }): Promise<SmsAccepted> {
    this.log.info(
      { outboxId: message.outboxId, phone: message.to, text: maskSmsText(message.text) },
      "sms not sent (no AT credentials)",
    );
    return { providerMessageId: null, status: "logged" };
  }
}

/**
 * A text fit for the log: phone numbers and long digit runs (PINFLs, card and account numbers)
 * keep only their first and last two digits. References (letters and short digit groups) and
 * amounts written with spaces stay readable.
 */
export function maskSmsText(text: string): string {
  return text
    .replace(/\+?998[\s-]?\d{2}[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}/g, (m) => `${m.slice(0, 6)}*****${m.slice(-2)}`)
    .replace(/\d{7,}/g, (m) => `${m.slice(0, 2)}${"*".repeat(m.length - 4)}${m.slice(-2)}`);
}
