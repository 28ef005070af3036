import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Database } from "../core/db/database.js";
import type { AppConfig } from "./config.js";
import type { Logger } from "./logger.js";

export interface ServerDeps {
  config: AppConfig;
  db: Database;
  logger: Logger;
}

/** Builds the HTTP server; channels and the API register themselves as plugins. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    // Behind a load balancer, closing idle keep-alive sockets lets shutdown finish promptly.
    forceCloseConnections: "idle",
    disableRequestLogging: deps.config.env === "test",
  });

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

  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
