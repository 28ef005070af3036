import type { FastifyInstance } from "fastify";
import type { Database } from "../core/db/database.js";

/**
 * Prometheus-style figures for operators and the benchmark: statements sent to the database and
 * the process's memory. No personal data, so no authentication.
 */
export async function metricsRoutes(app: FastifyInstance, options: { db: Database }): Promise<void> {
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    const memory = process.memoryUsage();
    const lines = [
      "# HELP mc_db_queries_total SQL statements sent to the database by this process.",
      "# TYPE mc_db_queries_total counter",
      `mc_db_queries_total ${options.db.queryCount()}`,
      "# HELP mc_process_resident_memory_bytes Resident set size.",
      "# TYPE mc_process_resident_memory_bytes gauge",
      `mc_process_resident_memory_bytes ${memory.rss}`,
    ];
    return reply.type("text/plain; version=0.0.4").send(`${lines.join("\n")}\n`);
  });
}
