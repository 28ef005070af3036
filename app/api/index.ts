import rateLimit, { type FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SqlDatabase } from "../../core/db/adapters.js";
import type { PrismaClient } from "../../core/db/database.js";
import type { AppConfig } from "../config.js";
import type { BackOfficeServices } from "../core.js";
import { applicationRoutes } from "./applications.js";
import { bearerToken, matchToken } from "./auth.js";
import { beneficiaryRoutes } from "./beneficiaries.js";
import { contactRoutes } from "./contacts.js";
import type { ApiContext } from "./context.js";
import { deadlineRoutes } from "./deadlines.js";
import { apiErrorHandler } from "./errors.js";
import { feedbackRoutes } from "./feedback.js";
import { identityRoutes } from "./identity.js";
import { notificationRoutes } from "./notifications.js";
import { paymentRoutes } from "./payments.js";
import { SnapshotStore } from "./rate-store.js";
import { referenceRoutes } from "./reference.js";
import { smsDeliveryRoutes } from "./sms-delivery.js";
import { staffRoutes } from "./staff.js";
import { visitRoutes } from "./visits.js";

export interface ApiPluginOptions {
  config: Pick<AppConfig, "apiTokens" | "ussd"> &
    Partial<Pick<AppConfig, "apiRequestsPerMinute" | "apiAuthFailuresPerMinute">>;
  prisma: PrismaClient;
  /** The plain-SQL path of the same database (the payment register's import writes through it). */
  sql: SqlDatabase;
  /** The back-office services of the one core (app/core.ts), not a copy of the API's own. */
  services: BackOfficeServices;
  clock?: () => Date;
  /** Largest CSV import accepted, in bytes (default 256 MiB: 100,000 payments are about 15 MiB). */
  maxCsvBytes?: number;
  /** True while people are being served by this process (the engine's `busy`): imports rest meanwhile. */
  busy?: () => boolean;
  /**
   * Where the per-IP limits count (app/limits.ts: Redis or the cluster's primary, so every
   * instance enforces one limit); default: this process's memory (SnapshotStore).
   */
  rateStore?: FastifyRateLimitStoreCtor;
}

const UNAUTHORIZED = { code: "UNAUTHORIZED", message: "a valid bearer token is required" };

/**
 * The back-office API under /api/v1 (bearer tokens from API_TOKENS), its OpenAPI document at
 * /docs/json generated from the route schemas, and the SMS delivery-report callback.
 */
export const apiPlugin: FastifyPluginAsyncTypebox<ApiPluginOptions> = async (app, options) => {
  const clock = options.clock ?? (() => new Date());
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Mahalla Connect back-office API",
        version: "1.0.0",
        description:
          'The agency\'s interface to Mahalla Connect: reference data, staff, beneficiary and payment imports, application decisions, visit requests and notifications. Errors are `{"error": {"code", "message"}}` with stable codes.',
      },
      components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
      security: [{ bearerAuth: [] }],
    },
  });

  const ctx: ApiContext = {
    prisma: options.prisma,
    sql: options.sql,
    ...options.services,
    clock,
    maxCsvBytes: options.maxCsvBytes ?? 256 * 1024 * 1024,
    pace: options.busy ? { busy: options.busy } : {},
  };

  await app.register(
    async (v1) => {
      v1.decorateRequest("apiActor", "");
      // CSV imports are read as a stream by the route (in batches), never buffered whole here.
      v1.addContentTypeParser("text/csv", (_request, payload, done) => done(null, payload));
      v1.setErrorHandler(apiErrorHandler);
      v1.setNotFoundHandler((_request, reply) => {
        void reply.code(404).send({ error: { code: "NOT_FOUND", message: "no such endpoint" } });
      });
      const perMinute = options.config.apiRequestsPerMinute ?? 0;
      const failuresPerMinute = options.config.apiAuthFailuresPerMinute ?? 0;
      // Two buckets per client IP: requests with a valid token, and failed authentications. A
      // flood of wrong tokens from an address (or from others behind the same NAT or balancer)
      // exhausts only the second, so it cannot lock out a client that holds a real token, while
      // guessing tokens stays slow. Behind a load balancer the IP is the balancer's unless
      // TRUST_PROXY names it.
      type Limit = (request: FastifyRequest) => Promise<{ isExceeded?: boolean; ttlInSeconds?: number }>;
      let requests: Limit | undefined;
      let failures: Limit | undefined;
      if (perMinute > 0 || failuresPerMinute > 0) {
        await v1.register(rateLimit, { global: false, timeWindow: 60_000, store: options.rateStore ?? SnapshotStore });
        const bucket = (max: number, prefix: string): Limit => {
          const limit = v1.createRateLimit({ max, timeWindow: 60_000, keyGenerator: (r) => `${prefix}:${r.ip}` });
          return async (request) => {
            const result = await limit(request);
            return result.isAllowed ? {} : { isExceeded: result.isExceeded, ttlInSeconds: result.ttlInSeconds };
          };
        };
        if (perMinute > 0) requests = bucket(perMinute, "ok");
        if (failuresPerMinute > 0) failures = bucket(failuresPerMinute, "fail");
      }
      const tooMany = (reply: FastifyReply, seconds: number | undefined) => {
        const wait = Math.max(1, seconds ?? 60);
        return reply
          .code(429)
          .header("retry-after", String(wait))
          .send({ error: { code: "RATE_LIMITED", message: `too many requests; retry in ${wait} seconds` } });
      };
      const tokens = options.config.apiTokens;
      if (tokens.length === 0) app.log.warn("API_TOKENS is not set: the back-office API refuses every request");
      v1.addHook("onRequest", async (request, reply) => {
        const presented = bearerToken(request.headers.authorization);
        const token = presented === null ? null : matchToken(tokens, presented);
        if (!token) {
          const counted = failures ? await failures(request) : undefined;
          if (counted?.isExceeded) return tooMany(reply, counted.ttlInSeconds);
          return reply
            .code(401)
            .header("www-authenticate", 'Bearer realm="mahalla-connect"')
            .send({ error: UNAUTHORIZED });
        }
        const counted = requests ? await requests(request) : undefined;
        if (counted?.isExceeded) return tooMany(reply, counted.ttlInSeconds);
        request.apiActor = `api:${token.name}`;
      });
      for (const routes of [
        referenceRoutes,
        contactRoutes,
        staffRoutes,
        beneficiaryRoutes,
        identityRoutes,
        paymentRoutes,
        applicationRoutes,
        visitRoutes,
        notificationRoutes,
        deadlineRoutes,
        feedbackRoutes,
      ]) {
        await v1.register(routes, ctx);
      }
    },
    { prefix: "/api/v1" },
  );

  await app.register(smsDeliveryRoutes, {
    prisma: options.prisma,
    callbackToken: options.config.ussd.callbackToken,
    clock,
  });

  app.get("/docs/json", { schema: { hide: true } }, async () => (app as unknown as FastifyInstance).swagger());
};
