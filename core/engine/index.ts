import type { PrismaClient } from "../db/database.js";
import { citizenFlows } from "../flows/index.js";
import { createServices, type Services } from "../services/index.js";
import { ConversationEngine } from "./engine.js";
import { PrismaSessionStore } from "./session-store.js";
import type { Channel } from "./types.js";

export type { StepReply, StepRequest } from "./engine.js";
export { ConversationEngine } from "./engine.js";
export * from "./types.js";

export interface CoreOptions {
  idleSeconds?: Partial<Record<Channel, number>>;
  hotline?: string;
  clock?: () => Date;
}

/** The engine with every citizen flow and the Prisma-backed services: what the channels use. */
export function createCore(
  prisma: PrismaClient,
  options: CoreOptions = {},
): { engine: ConversationEngine; services: Services } {
  const services = createServices(prisma, { hotline: options.hotline });
  const engine = new ConversationEngine({
    services,
    sessions: new PrismaSessionStore(prisma),
    flows: citizenFlows,
    idleSeconds: { ussd: 180, telegram: 86_400, ...options.idleSeconds },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { engine, services };
}
