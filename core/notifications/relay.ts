import { recordDelivery } from "../metrics.js";
import type { DeliveryOutcome, NotificationDelivery } from "./delivery.js";
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
  private readonly rounds: Rounds;
  private lastRecovery = Number.NEGATIVE_INFINITY;
  private lastClaimed = 0;
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
    this.rounds = new Rounds(
      async () => {
        this.lastClaimed = 0;
        await this.tick();
        return this.lastClaimed >= this.batchSize;
      },
      this.pollMs,
      (err) => this.log.error({ err }, "outbox relay round failed"),
    );
  }

  start(): void {
    this.rounds.start();
  }

  /** Finishes the round in progress (its claimed rows are sent), then stops. */
  async stop(): Promise<void> {
    await this.rounds.stop();
  }

  /** Starts the next round now (e.g. right after an import wrote many rows). */
  wake(): void {
    this.rounds.wake();
  }

  /** One round: recover interrupted sends (now and then), claim due rows, send them. */
  async tick(): Promise<DeliveryOutcome[]> {
    if (performance.now() - this.lastRecovery >= this.recoverEveryMs) {
      await this.delivery.recover();
      this.lastRecovery = performance.now();
    }
    const rows = await this.delivery.claimDue(this.batchSize);
    this.lastClaimed = rows.length;
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
    return outcomes;
  }
}
