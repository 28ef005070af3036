import { recordDelivery } from "../metrics.js";
import type { DeliveryChannelName, DeliveryOutcome, NotificationDelivery } from "./delivery.js";
import { Rounds } from "./rounds.js";
import { type LogSink, silentLog } from "./senders.js";

export interface RelayOptions {
  /** Pause between rounds when there was nothing (or little) to send. */
  pollMs?: number;
  /** Rows claimed per round; a full round is followed at once by the next. */
  batchSize?: number;
  /** Sends in flight at once (the rate limiter paces them further). */
  concurrency?: number;
  /** How often interrupted sends of crashed workers are looked for. */
  recoverEveryMs?: number;
  log?: LogSink;
}

/**
 * Delivery without Redis: a loop in the application process over the Outbox table. Several
 * instances may run it at once; the claim in NotificationDelivery keeps them from sending a row
 * twice. Sending never happens inside an HTTP request, so a payment-day backlog only delays
 * notifications, never the API or USSD.
 */
export class OutboxRelay {
  /** One loop per channel: a Telegram outage or slowness never holds an SMS round, and back. */
  private readonly rounds: Rounds[];
  private readonly lanes: (DeliveryChannelName | undefined)[];
  private lastRecovery = Number.NEGATIVE_INFINITY;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly recoverEveryMs: number;
  private readonly log: LogSink;

  constructor(
    private readonly delivery: NotificationDelivery,
    options: RelayOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000;
    this.batchSize = options.batchSize ?? 50;
    this.concurrency = options.concurrency ?? 8;
    this.recoverEveryMs = options.recoverEveryMs ?? 10_000;
    this.log = options.log ?? silentLog;
    // Without a bot, rows addressed to Telegram go by SMS: then there is only the SMS lane.
    this.lanes = delivery.hasTelegram ? ["sms", "telegram"] : [undefined];
    this.rounds = this.lanes.map(
      (lane) =>
        new Rounds(
          async () => (await this.lane(lane)).claimed >= this.batchSize,
          this.pollMs,
          (err) => this.log.error({ err, channel: lane ?? "sms" }, "outbox relay round failed"),
        ),
    );
  }

  start(): void {
    for (const rounds of this.rounds) rounds.start();
  }

  /** Finishes the rounds in progress (their claimed rows are sent), then stops. */
  async stop(): Promise<void> {
    await Promise.all(this.rounds.map((rounds) => rounds.stop()));
  }

  /** Starts the next rounds now (e.g. right after an import wrote many rows). */
  wake(): void {
    for (const rounds of this.rounds) rounds.wake();
  }

  /** One round of every channel at once (tests, tools): their outcomes, SMS first. */
  async tick(): Promise<DeliveryOutcome[]> {
    const rounds = await Promise.all(this.lanes.map((lane) => this.lane(lane)));
    return rounds.flatMap((round) => round.outcomes);
  }

  /** Recovers interrupted sends now and then; every lane may, the statements are idempotent. */
  private async recoverNowAndThen(): Promise<void> {
    if (performance.now() - this.lastRecovery < this.recoverEveryMs) return;
    this.lastRecovery = performance.now();
    try {
      await this.delivery.recover();
    } catch (err) {
      this.lastRecovery = Number.NEGATIVE_INFINITY;
      throw err;
    }
  }

  /** One round of one channel: claim its due rows, send them. */
  private async lane(
    channel: DeliveryChannelName | undefined,
  ): Promise<{ claimed: number; outcomes: DeliveryOutcome[] }> {
    await this.recoverNowAndThen();
    const rows = await this.delivery.claimDue(this.batchSize, channel);
    const outcomes: DeliveryOutcome[] = [];
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const row = rows[next++];
        if (!row) break;
        try {
          outcomes.push(recordDelivery(row.channel, await this.delivery.deliver(row)));
        } catch (err) {
          // The database failed while recording a failure: the lease expires and the row is retried.
          this.log.error({ err, outboxId: row.id }, "outbox delivery failed");
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, rows.length) }, worker));
    return { claimed: rows.length, outcomes };
  }
}
