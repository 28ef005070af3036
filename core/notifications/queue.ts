import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { recordDelivery } from "../metrics.js";
import type { DeliveryChannelName, NotificationDelivery } from "./delivery.js";
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
  /** Ceiling on SMS jobs per second across every worker (BullMQ's Redis-side limiter). */
  perSecond?: number;
  /** The same for Telegram jobs, which have a queue of their own (default: no Redis-side ceiling). */
  telegramPerSecond?: number;
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
  /** The SMS queue (every row's, when no bot runs). */
  readonly queue: Queue<NotificationJob>;
  /**
   * One queue and worker per channel, so that a Telegram outage, whose jobs each take up to the
   * provider timeout, never holds the worker slots SMS need (and back).
   */
  private readonly lanes: { channel: DeliveryChannelName | undefined; queue: Queue<NotificationJob> }[];
  private workers: Worker<NotificationJob>[] = [];
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
    const channels: (DeliveryChannelName | undefined)[] = delivery.hasTelegram ? ["sms", "telegram"] : [undefined];
    this.lanes = channels.map((channel) => {
      const name = channel === "telegram" ? `${QUEUE_NAME}-telegram` : QUEUE_NAME;
      const queue = new Queue<NotificationJob>(name, { connection: this.connection, prefix: this.prefix });
      queue.on("error", (err) => this.log.error({ err }, "notification queue error"));
      return { channel, queue };
    });
    const [first] = this.lanes;
    if (!first) throw new Error("no notification queue");
    this.queue = first.queue;
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
      for (const lane of this.lanes) {
        const perSecond = lane.channel === "telegram" ? this.options.telegramPerSecond : this.options.perSecond;
        const worker = new Worker<NotificationJob>(lane.queue.name, (job) => this.process(job), {
          connection: this.connection,
          prefix: this.prefix,
          concurrency: this.options.concurrency ?? 8,
          ...(perSecond ? { limiter: { max: perSecond, duration: 1_000 } } : {}),
          settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(policy, attemptsMade) },
        });
        // Not awaited until ready: with Redis down, start-up goes on and the worker connects when it can.
        worker.on("error", (err) => this.log.error({ err }, "notification worker error"));
        this.workers.push(worker);
      }
    }
    if (this.options.dispatcher) this.dispatcher.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.dispatcher.stop();
    // Waits for jobs in progress, so no row is left half-sent by a clean shutdown.
    await Promise.all(this.workers.map((worker) => worker.close()));
    this.workers = [];
    await Promise.all(this.lanes.map((lane) => lane.queue.close()));
  }

  wake(): void {
    this.dispatcher.wake();
  }

  /** One dispatch round: recover interrupted sends now and then, then top every queue up. */
  async dispatchOnce(): Promise<number> {
    if (performance.now() - this.lastRecovery >= (this.options.recoverEveryMs ?? 10_000)) {
      await this.delivery.recover();
      this.lastRecovery = performance.now();
    }
    let moved = 0;
    for (const lane of this.lanes) moved += await this.dispatchLane(lane.channel, lane.queue);
    return moved;
  }

  private async dispatchLane(channel: DeliveryChannelName | undefined, queue: Queue<NotificationJob>): Promise<number> {
    const waiting = await queue.getJobCountByTypes("waiting", "prioritized");
    const room = (this.options.highWater ?? 2_000) - waiting;
    if (room <= 0) return 0;
    const ids = await this.delivery.takeForQueue(Math.min(room, this.options.batchSize ?? 500), channel);
    if (ids.length === 0) return 0;
    const policy = this.delivery.policy;
    await queue.addBulk(
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
