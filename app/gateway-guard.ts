import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from "fastify";
import { ipMatcher } from "./config.js";

/** The callbacks Africa's Talking makes: whoever can post them speaks for any phone number. */
export const GATEWAY_ROUTES: ReadonlySet<string> = new Set(["/ussd", "/ussd/events", "/sms/inbound", "/sms/delivery"]);

/**
 * Refuses gateway callbacks from outside `GATEWAY_ALLOWED_IPS` with 403, before the body is read.
 * `request.ip` is the client behind the load balancer only when TRUST_PROXY names that balancer,
 * so a forged X-Forwarded-For from anyone else is not believed. Must be installed before the
 * gateway routes are registered (it attaches itself to them as they are declared).
 */
export function installGatewayGuard(app: FastifyInstance, allowed: readonly string[] | null): void {
  if (allowed === null) return;
  const permitted = ipMatcher(allowed);
  const guard: onRequestHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (permitted(request.ip)) return;
    request.log.warn({ ip: request.ip, route: request.routeOptions.url }, "gateway callback from a refused address");
    return reply.code(403).type("text/plain; charset=utf-8").send("Forbidden");
  };
  app.addHook("onRoute", (route) => {
    if (!GATEWAY_ROUTES.has(route.url) || route.method !== "POST") return;
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [guard] : [guard, ...(Array.isArray(existing) ? existing : [existing])];
  });
}
