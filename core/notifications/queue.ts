import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { recordDelivery } from "../metrics.js";
import type { NotificationDelivery } from "./delivery.js";
import { backoffDelay } from "./policy.js";
import { Rounds } from "./rounds.js";
import { type LogSink, silentLog } from "./senders.js";

export const QUEUE_NAME = "notifications";

/** One job per Outbox row: BullMQ ignores a second job with the same id while the first exists. */
export const jobIdFor = (outboxId: number) => `outbox-${outboxId}`;

export interface NotificationJob {
  outboxId: number;
}

export interface NotificationQueueOptions {
  redisUrl: string;
  /** Redis key prefix (tests give each run its own). */
  prefix?: string;
  /** Process jobs in this process. */
  worker: boolean;
  /** Move due Outbox rows into the queue from this process. */
  dispatcher: boolean;
  /** Jobs processed at once by this process's worker. */
  concurrency?: number;
  /** Ceiling on jobs per second across every worker on this queue (BullMQ's Redis-side limiter). */
  perSecond?: number;
  dispatchEveryMs?: number;
  /** Rows handed over per dispatch round. */
  batchSize?: number;
  /**
   * Keep at most this many jobs waiting in Redis; a bigger backlog (payment day) waits in the
   * Outbox table, where it is visible and survives a Redis restart.
   */
  highWater?: number;
  recoverEveryMs?: number;
  log?: LogSink;
}

/**
 * Delivery through BullMQ on Redis, for several instances or a separate worker process. The
 * Outbox table stays the source of truth: a dispatcher hands due rows to the queue (job id =
 * `outbox-<id>`, so a row is queued once), workers claim the row in the database before sending,
 * and the row records every attempt. BullMQ supplies distribution, retries with the same
 * exponential backoff as the relay, and a global rate limit; when a row runs out of attempts the
 * job fails as unrecoverable and the row is `dead`.
 */
export class NotificationQueue {
  readonly queue: Queue<NotificationJob>;
  private worker: Worker<NotificationJob> | undefined;
  private running = false;
  private readonly dispatcher: Rounds;
  private lastRecovery = Number.NEGATIVE_INFINITY;
  private readonly connection: { url: string; maxRetriesPerRequest: null };
  private readonly prefix: string;
  private readonly log: LogSink;

  constructor(
    private readonly delivery: NotificationDelivery,
    private readonly options: NotificationQueueOptions,
  ) {
    // Workers block on Redis; BullMQ requires that their commands are never given up on.
    this.connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.prefix = options.prefix ?? "mc";
    this.log = options.log ?? silentLog;
    this.queue = new Queue<NotificationJob>(QUEUE_NAME, { connection: this.connection, prefix: this.prefix });
    this.queue.on("error", (err) => this.log.error({ err }, "notification queue error"));
    const batch = options.batchSize ?? 500;
    this.dispatcher = new Rounds(
      async () => (await this.dispatchOnce()) >= batch,
      options.dispatchEveryMs ?? 1_000,
      (err) => this.log.error({ err }, "notification dispatch failed"),
    );
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.options.worker) {
      const policy = this.delivery.policy;
      this.worker = new Worker<NotificationJob>(QUEUE_NAME, (job) => this.process(job), {
        connection: this.connection,
        prefix: this.prefix,
        concurrency: this.options.concurrency ?? 8,
        ...(this.options.perSecond ? { limiter: { max: this.options.perSecond, duration: 1_000 } } : {}),
        settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(policy, attemptsMade) },
      });
      // Not awaited until ready: with Redis down, start-up goes on and the worker connects when it can.
      this.worker.on("error", (err) => this.log.error({ err }, "notification worker error"));
    }
    if (this.options.dispatcher) this.dispatcher.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.dispatcher.stop();
    // Waits for jobs in progress, so no row is left half-sent by a clean shutdown.
    await this.worker?.close();
    this.worker = undefined;
    await this.queue.close();
  }

  wake(): void {
    this.dispatcher.wake();
  }

  /** One dispatch round: recover interrupted sends now and then, then top the queue up. */
  async dispatchOnce(): Promise<number> {
    if (performance.now() - this.lastRecovery >= (this.options.recoverEveryMs ?? 10_000)) {
      await this.delivery.recover();
      this.lastRecovery = performance.now();
    }
    const waiting = await this.queue.getJobCountByTypes("waiting", "prioritized");
    const room = (this.options.highWater ?? 2_000) - waiting;
    if (room <= 0) return 0;
    const ids = await this.delivery.takeForQueue(Math.min(room, this.options.batchSize ?? 500));
    if (ids.length === 0) return 0;
    const policy = this.delivery.policy;
    await this.queue.addBulk(
      ids.map((outboxId) => ({
        name: "deliver",
        data: { outboxId },
        opts: {
          jobId: jobIdFor(outboxId),
          attempts: policy.maxAttempts,
          backoff: { type: "outbox" },
          removeOnComplete: true,
          // The dead letter is the Outbox row (status `dead`); a finished job has nothing to add.
          removeOnFail: true,
        },
      })),
    );
    return ids.length;
  }

  private async process(job: Job<NotificationJob>): Promise<string> {
    const row = await this.delivery.claimOne(job.data.outboxId);
    if (!row) return "skipped";
    const result = await this.delivery.deliver(row);
    recordDelivery(row.channel, result);
    if (result.outcome === "retry") throw new Error(result.error);
    if (result.outcome === "dead") throw new UnrecoverableError(result.error);
    return result.outcome;
  }
}
