import type { Database } from "../db/database.js";
import type { Channel } from "../domain/vocabulary.js";
import { citizenFlows, onboardingFlow } from "../flows/index.js";
import { createServices, type Services } from "../services/index.js";
import { ConversationEngine } from "./engine.js";
import { MemoryRateLimiter } from "./rate-limit.js";
import { SqlSessionStore } from "./session-store.js";

export type { StepReply, StepRequest } from "./engine.js";
export { ConversationEngine } from "./engine.js";
export { MemoryRateLimiter, type RateLimiter } from "./rate-limit.js";
export * from "./types.js";

export interface CoreOptions {
  idleSeconds?: Partial<Record<Channel, number>>;
  clock?: () => Date;
  /** Conversation steps one person may take per minute; 0 or unset: unlimited. */
  stepsPerMinute?: number;
}

/** What the core needs of the database: the Prisma client, and plain SQL for the session row. */
export type CoreDatabase = Pick<Database, "prisma" | "sql">;

/** The engine with every citizen flow and the Prisma-backed services: what the channels use. */
export function createCore(
  db: CoreDatabase,
  options: CoreOptions = {},
): { engine: ConversationEngine; services: Services; sessions: SqlSessionStore } {
  const services = createServices(db.prisma, { sql: db.sql });
  const sessions = new SqlSessionStore(db.sql);
  const engine = new ConversationEngine({
    services,
    sessions,
    flows: citizenFlows,
    onboarding: onboardingFlow,
    idleSeconds: { ussd: 180, telegram: 86_400, ...options.idleSeconds },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.stepsPerMinute ? { stepLimiter: new MemoryRateLimiter(options.stepsPerMinute, 60_000) } : {}),
  });
  return { engine, services, sessions };
}
