import type { SqlExecutor } from "../db/adapters.js";
import type { PrismaClient } from "../db/database.js";
import { NotificationDelivery } from "./delivery.js";
import { LoggingSmsSender } from "./logging-sms.js";
import type { RetryPolicy } from "./policy.js";
import { NotificationQueue, type NotificationQueueOptions } from "./queue.js";
import { ChannelLimiter, DEFAULT_TELEGRAM_PER_SECOND } from "./rate-limit.js";
import { OutboxRelay, type RelayOptions } from "./relay.js";
import type { NotificationRenderer } from "./render.js";
import { type LogSink, type SmsSender, silentLog, type TelegramSender } from "./senders.js";

export interface NotificationEngineOptions {
  prisma: PrismaClient;
  /** The plain-SQL path for the per-message writes (see DeliveryOptions.sql). */
  sql?: SqlExecutor;
  log?: LogSink;
  /** The SMS gateway (Africa's Talking, built by the app); without one SMS are logged, not sent. */
  smsSender?: SmsSender | undefined;
  /** From the Telegram bot when it runs; Telegram rows go by SMS otherwise. */
  telegram?: TelegramSender | undefined;
  /** BullMQ on this Redis; the in-process relay without it. */
  redisUrl?: string | undefined;
  queuePrefix?: string;
  smsPerSecond?: number;
  telegramPerSecond?: number;
  policy?: RetryPolicy;
  /** Longest one provider call may take (see DeliveryOptions.sendTimeoutMs). */
  sendTimeoutMs?: number;
  clock?: () => Date;
  renderer?: NotificationRenderer;
  relay?: RelayOptions;
  queue?: Partial<Omit<NotificationQueueOptions, "redisUrl" | "prefix" | "log">>;
}

export interface NotificationEngine {
  readonly kind: "relay" | "bullmq";
  readonly delivery: NotificationDelivery;
  readonly relay?: OutboxRelay;
  readonly queue?: NotificationQueue;
  start(): Promise<void>;
  /** Finishes sends in progress, then stops; call before closing the database. */
  stop(): Promise<void>;
  /** Look for new rows now rather than at the next poll. */
  wake(): void;
}

/** Puts delivery together from its parts: which SMS sender, which engine. */
export function createNotificationEngine(options: NotificationEngineOptions): NotificationEngine {
  const log = options.log ?? silentLog;
  const sms = options.smsSender ?? new LoggingSmsSender(log);
  const smsPerSecond = options.smsPerSecond ?? 10;
  const delivery = new NotificationDelivery({
    prisma: options.prisma,
    ...(options.sql ? { sql: options.sql } : {}),
    sms,
    telegram: options.telegram,
    log,
    limiter: new ChannelLimiter({
      sms: smsPerSecond,
      telegram: options.telegramPerSecond ?? DEFAULT_TELEGRAM_PER_SECOND,
    }),
    ...(options.renderer ? { renderer: options.renderer } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.sendTimeoutMs ? { sendTimeoutMs: options.sendTimeoutMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  if (options.redisUrl) {
    const queue = new NotificationQueue(delivery, {
      worker: true,
      dispatcher: true,
      perSecond: smsPerSecond,
      telegramPerSecond: options.telegramPerSecond ?? DEFAULT_TELEGRAM_PER_SECOND,
      ...options.queue,
      redisUrl: options.redisUrl,
      log,
      ...(options.queuePrefix ? { prefix: options.queuePrefix } : {}),
    });
    return {
      kind: "bullmq",
      delivery,
      queue,
      start: () => queue.start(),
      stop: () => queue.stop(),
      wake: () => queue.wake(),
    };
  }
  const relay = new OutboxRelay(delivery, { log, ...options.relay });
  return {
    kind: "relay",
    delivery,
    relay,
    start: async () => relay.start(),
    stop: () => relay.stop(),
    wake: () => relay.wake(),
  };
}
