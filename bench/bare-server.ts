/**
 * The ceiling: the same framework and body parsing as the product, no work behind it.
 *   node --import tsx bench/bare-server.ts <port> <telegram secret>
 * POST /ussd parses the Africa's Talking form and answers "END ok"; POST /telegram/webhook checks
 * the secret header, parses the update and answers {}.
 */
import formbody from "@fastify/formbody";
import Fastify from "fastify";

async function main() {
  const port = Number(process.argv[2]);
  const secret = process.argv[3] ?? "";
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  await app.register(formbody);
  app.post("/ussd", async (request, reply) => {
    const body = request.body as Record<string, string | undefined>;
    if (!body.sessionId || !body.phoneNumber || body.text === undefined) return reply.code(400).send("Bad Request");
    return reply.type("text/plain; charset=utf-8").send("END ok");
  });
  app.post("/telegram/webhook", async (request, reply) => {
    if (request.headers["x-telegram-bot-api-secret-token"] !== secret) return reply.code(401).send({});
    const update = request.body as { update_id?: unknown };
    if (typeof update.update_id !== "number") return reply.code(400).send({});
    return reply.send({});
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  const stop = () => void app.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await app.listen({ port, host: "127.0.0.1" });
}

main().catch((err: unknown) => {
  process.stderr.write(`bare server: ${(err as Error).message}\n`);
  process.exit(1);
});
