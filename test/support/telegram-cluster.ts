import cluster from "node:cluster";
import { once } from "node:events";
import { Api } from "grammy";
import { type RateLimiterAbstract, RateLimiterClusterMaster, RLWrapperTimeouts } from "rate-limiter-flexible";
import { createLimits } from "../../app/limits.js";
import { createLogger } from "../../app/logger.js";
import { configureApi } from "../../bot/client.js";
import { TELEGRAM_LIMITS } from "../../bot/settings.js";

/**
 * Two node:cluster workers sending as one bot without Redis, as `npm start`'s server and duties
 * workers do (test/telegram-throttle.test.ts runs it): the primary answers the workers' limiters
 * (RateLimiterClusterMaster, as app/cluster.ts's), each worker builds createLimits and a bot Api of
 * its own, and both send TELEGRAM_PER_WORKER messages at once to chats of their own.
 * Env: TELEGRAM_API_ROOT (the Bot API double), TELEGRAM_TOKEN, TELEGRAM_PER_WORKER, TELEGRAM_CHAT_BASE.
 */
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const WORKERS = 2;

if (cluster.isPrimary) {
  new RateLimiterClusterMaster();
  const workers = Array.from({ length: WORKERS }, (_, index) => cluster.fork({ WORKER_INDEX: String(index) }));
  let ready = 0;
  // Both start sending together, once each worker's limiter is answered by the primary.
  for (const worker of workers) {
    worker.on("message", (message: unknown) => {
      if (message === "ready" && ++ready === WORKERS) for (const w of workers) w.send("go");
    });
  }
  const codes = await Promise.all(workers.map(async (w) => (await once(w, "exit"))[0] as number | null));
  process.exitCode = codes.every((code) => code === 0) ? 0 : 1;
} else {
  const index = Number(env("WORKER_INDEX"));
  const perWorker = Number(env("TELEGRAM_PER_WORKER"));
  const chatBase = Number(env("TELEGRAM_CHAT_BASE"));
  const limits = createLimits({
    stepsPerMinute: 0,
    redisUrl: undefined,
    clusterWorker: true,
    logger: createLogger("silent"),
    // The count itself, not its insurance: a loaded machine must not make this test's store "too slow".
    timeoutMs: 5_000,
    keyPrefix: `cluster-test-${process.ppid}`,
  });
  if (limits.mode !== "cluster" || !(limits.telegram instanceof RLWrapperTimeouts)) {
    throw new Error(`limits counted in ${limits.mode}, not in the primary`);
  }
  // Until the primary has answered its init, a worker's limiter counts in its insurance: wait for a
  // probe point counted by the primary itself (the wrapped RateLimiterCluster, without insurance).
  // (rate-limiter-flexible's types omit the wrapper's `limiter` accessor.)
  const inPrimary = (limits.telegram as unknown as { limiter: RateLimiterAbstract }).limiter;
  for (;;) {
    try {
      await inPrimary.consume(`probe${index}`);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const api = configureApi(new Api(env("TELEGRAM_TOKEN"), { apiRoot: env("TELEGRAM_API_ROOT") }), {
    throttle: TELEGRAM_LIMITS,
    overallLimiter: limits.telegram,
  });
  // Connections opened first, as a running bot's are (calls without a chat are not throttled).
  await Promise.all(Array.from({ length: perWorker }, () => api.getMe()));
  process.on("message", async (message: unknown) => {
    if (message !== "go") return;
    const chats = Array.from({ length: perWorker }, (_, i) => chatBase + index * perWorker + i);
    await Promise.all(chats.map((chat) => api.sendMessage(chat, `to ${chat}`)));
    await limits.close();
    process.exit(0);
  });
  process.send?.("ready");
}
