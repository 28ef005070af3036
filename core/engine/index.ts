// The engine's public surface. It knows no flow: which flows it runs is decided where the core is
// composed (app/core.ts), so the engine never imports core/flows (the flows import the engine).
export type { StepReply, StepRequest } from "./engine.js";
export { ConversationEngine } from "./engine.js";
export { MemoryRateLimiter, type RateLimiter } from "./rate-limit.js";
export * from "./types.js";
