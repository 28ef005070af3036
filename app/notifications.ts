import type { Database } from "../core/db/database.js";
import { createNotificationEngine, type NotificationEngine } from "../core/notifications/engine.js";
import type { TelegramSender } from "../core/notifications/senders.js";
import { AfricasTalkingSms } from "../ussd/sms-sender.js";
import type { AppConfig } from "./config.js";
import type { Logger } from "./logger.js";

/**
 * Notification delivery as the configuration asks: BullMQ when REDIS_URL is set, the in-process
 * relay otherwise; Africa's Talking with credentials, logged SMS without.
 */
export function notificationEngineFromConfig(
  config: AppConfig,
  db: Pick<Database, "prisma" | "sql">,
  logger: Logger,
  telegram?: TelegramSender,
): NotificationEngine {
  const log = logger.child({ component: "notifications" });
  if (!config.sms) log.info("AT_USERNAME/AT_API_KEY are not set: SMS are recorded and logged, not sent");
  return createNotificationEngine({
    prisma: db.prisma,
    sql: db.sql,
    log,
    smsSender: config.sms
      ? new AfricasTalkingSms({
          username: config.sms.username,
          apiKey: config.sms.apiKey,
          senderId: config.sms.senderId,
          apiRoot: config.sms.apiRoot,
          timeoutMs: config.notifications.sendTimeoutMs,
        })
      : undefined,
    telegram,
    redisUrl: config.redisUrl,
    smsPerSecond: config.notifications.smsPerSecond,
    sendTimeoutMs: config.notifications.sendTimeoutMs,
  });
}
