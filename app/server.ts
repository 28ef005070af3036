import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { createTelegram, type TelegramBot, telegramWebhook } from "../bot/index.js";
import type { Database } from "../core/db/database.js";
import { type UssdPluginOptions, ussdRoutes } from "../ussd/routes.js";
import { apiPlugin } from "./api/index.js";
import type { ClusterMetrics } from "./cluster.js";
import type { AppConfig } from "./config.js";
import type { Core } from "./core.js";
import { installGatewayGuard } from "./gateway-guard.js";
import type { Limits } from "./limits.js";
import type { Logger } from "./logger.js";
import { metricsRoutes } from "./metrics.js";
import { openDataPlugin } from "./open/plugin.js";

export interface ServerDeps {
  config: AppConfig;
  db: Database;
  logger: Logger;
  /** The Telegram bot, shared with polling and the notification relay (built here when absent). */
  telegram?: TelegramBot;
  /**
   * The conversation core every channel and the API serve, built once by the caller
   * (createAppCore in app/core.ts): one engine, one reference-data cache, one step limit.
   */
  core: Core;
  /**
   * Where the SMS answer limit, the API's per-IP limits and (for a bot built here) the bot's overall
   * rate count (app/limits.ts); default: memory.
   */
  limits?: Pick<Limits, "sms" | "apiStore"> & Partial<Pick<Limits, "telegram">>;
  /** In a node:cluster worker: /metrics answers every worker's figures added up. */
  cluster?: ClusterMetrics | undefined;
  /** The USSD step's deadline (default: ussd/routes.ts's, which production runs). */
  ussd?: Pick<UssdPluginOptions, "stepDeadlineMs">;
}

/** Builds the HTTP server; channels and the API register themselves as plugins. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    // Behind a load balancer, closing idle keep-alive sockets lets shutdown finish promptly.
    forceCloseConnections: "idle",
    // Behind a load balancer, per-IP limits and the gateway address check must see the client,
    // which only the proxies named here may tell (X-Forwarded-For from anyone else is ignored).
    trustProxy: trustProxyOption(deps.config.trustProxy),
  });
  installGatewayGuard(app, deps.config.gatewayAllowedIps);

  app.get(
    "/healthz",
    {
      schema: {
        response: {
          200: { type: "object", properties: { status: { const: "ok" } }, required: ["status"] },
          503: { type: "object", properties: { status: { const: "unavailable" } }, required: ["status"] },
        },
      },
    },
    async (_req, reply) => {
      try {
        await withTimeout(deps.db.ping(), 1_500);
        return { status: "ok" as const };
      } catch {
        return reply.code(503).send({ status: "unavailable" as const });
      }
    },
  );

  const { core } = deps;
  // The core's own connections (USSD sessions on Redis) close with the server that serves them.
  app.addHook("onClose", () => core.close());
  const { limits } = deps;
  await app.register(ussdRoutes, {
    config: deps.config,
    prisma: deps.db.prisma,
    sql: deps.db.sql,
    core,
    ...(limits ? { smsLimiter: limits.sms } : {}),
    ...deps.ussd,
  });
  await app.register(apiPlugin, {
    config: deps.config,
    prisma: deps.db.prisma,
    sql: deps.db.sql,
    services: core.backOffice,
    busy: () => core.engine.busy(),
    ...(limits ? { rateStore: limits.apiStore } : {}),
  });

  const telegram = deps.config.telegram;
  if (telegram.enabled && telegram.webhookSecret) {
    await app.register(telegramWebhook, {
      telegram:
        deps.telegram ??
        createTelegram({
          config: telegram,
          prisma: deps.db.prisma,
          sql: deps.db.sql,
          logger: deps.logger,
          engine: core.engine,
          staffVisits: core.staffVisits,
          feedback: core.services.feedback,
          citizens: core.services.citizens,
          ...(limits?.telegram ? { overallLimiter: limits.telegram } : {}),
        }),
      secret: telegram.webhookSecret,
    });
  }

  await app.register(openDataPlugin, { prisma: deps.db.prisma });

  await app.register(metricsRoutes, { db: deps.db, config: deps.config, cluster: deps.cluster });

  return app;
}

/** A number of hops as the function Fastify's types expect (proxy-addr's own meaning of a count). */
function trustProxyOption(
  value: AppConfig["trustProxy"],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof value === "number" ? (_address, hop) => hop < value : value;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
