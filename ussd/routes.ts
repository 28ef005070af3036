import { createHash, timingSafeEqual } from "node:crypto";
import formbody from "@fastify/formbody";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { SqlExecutor } from "../core/db/adapters.js";
import type { PrismaClient } from "../core/db/database.js";
import { DeadlineError } from "../core/domain/errors.js";
import { normalizeUzPhone } from "../core/domain/phone.js";
import type { Locale } from "../core/domain/vocabulary.js";
import type { ConversationEngine } from "../core/engine/engine.js";
import type { RateLimiter } from "../core/engine/rate-limit.js";
import type { KeptSessionStore } from "../core/engine/session-store.js";
import { Translator } from "../core/i18n/index.js";
import { type ApologyReason, observeStep, ussdApologies } from "../core/metrics.js";
import type { Services } from "../core/services/index.js";
import { Admission } from "./admission.js";
import { UssdChannel } from "./channel.js";
import { recordSessionEnd } from "./events.js";
import { simulatorPage } from "./simulator.js";
import { SmsInbound } from "./sms-inbound.js";

/** The gateway settings this channel reads (app/config.ts's `ussd` fits). */
export interface UssdSettings {
  /** Screen budget for UCS-2 (Cyrillic) screens. */
  maxCharsUcs2: number;
  /** When set, every gateway callback must carry `?token=` with this value. */
  callbackToken?: string | undefined;
}

export interface UssdPluginOptions {
  config: { ussd: UssdSettings; simulatorEnabled: boolean };
  prisma: PrismaClient;
  /** The plain-SQL path (`Database.sql`): the gateway's end-of-session notice, one per session. */
  sql: SqlExecutor;
  /**
   * The core to serve, built once by the application (app/core.ts) and shared with the other
   * channels: one reference-data cache and one per-person step limit for every channel.
   */
  core: { engine: ConversationEngine; services: Services; ussdSessions?: KeptSessionStore | undefined };
  translator?: Translator;
  /** Per-number limit on inbound SMS (default: 5 in 10 minutes). */
  smsLimiter?: RateLimiter;
  /**
   * How long one step may take before the caller gets the apology instead (default 1,500 ms): the
   * gateway gives a step a few seconds, and a database that stopped answering must not use them up.
   */
  stepDeadlineMs?: number;
  /**
   * Steps in progress at once, and how long a step may wait for its turn before the caller gets
   * the apology without it being run (default 64 and 600 ms: past capacity, answers still come
   * within a second). See Admission.
   */
  admission?: { limit: number; maxWaitMs: number };
}

const str = (max: number, extra: object = {}) => Type.String({ maxLength: max, ...extra });

/** Africa's Talking USSD callback; every field is required, as the gateway always sends them. */
const UssdBody = Type.Object({
  sessionId: str(128, { minLength: 1, pattern: "^[A-Za-z0-9_.:-]+$" }),
  serviceCode: str(40, { minLength: 1, pattern: "^[0-9*#+]+$" }),
  phoneNumber: str(32, { minLength: 3, pattern: "^[+0-9 ()-]+$" }),
  networkCode: str(20, { pattern: "^[0-9A-Za-z_-]*$" }),
  text: str(2000),
});

const loose = Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Number()]));

/** The session-end notification: only the session id is needed, the rest is recorded if present. */
const EventsBody = Type.Object({
  sessionId: str(128, { minLength: 1 }),
  status: Type.Optional(str(100)),
  hopsCount: loose,
  durationInMillis: loose,
  input: Type.Optional(str(2000)),
  errorMessage: Type.Optional(str(2000)),
  networkCode: Type.Optional(str(100)),
  serviceCode: Type.Optional(str(100)),
  cost: Type.Optional(str(100)),
  date: Type.Optional(str(100)),
});

const SmsBody = Type.Object({
  from: str(32, { minLength: 3 }),
  to: Type.Optional(str(32)),
  text: str(2000),
  date: Type.Optional(str(100)),
  id: Type.Optional(str(200)),
  linkId: Type.Optional(str(200)),
});

const TEXT = "text/plain; charset=utf-8";

/** The apology's own lookup of the caller's language gets only this long. */
const LOOKUP_DEADLINE_MS = 250;

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The Africa's Talking front end: `POST /ussd`, `POST /ussd/events`, `POST /sms/inbound` and,
 * unless disabled, the web phone at `GET /simulator`. Form bodies are parsed here; the callback
 * token, when configured, guards every gateway callback.
 */
export const ussdRoutes: FastifyPluginAsync<UssdPluginOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  if (!app.hasContentTypeParser("application/x-www-form-urlencoded")) await app.register(formbody);

  const { config, prisma, core } = options;
  const translator = options.translator ?? new Translator();
  const channel = new UssdChannel(core.engine, translator, { maxCharsUcs2: config.ussd.maxCharsUcs2 });
  const sms = new SmsInbound(prisma, core.services, options.smsLimiter);
  const guard = tokenGuard(config.ussd.callbackToken);
  const stepDeadlineMs = options.stepDeadlineMs ?? 1_500;
  const admission = new Admission(options.admission?.limit ?? 64, options.admission?.maxWaitMs ?? 600);

  /**
   * The apology, in the caller's language when it can still be looked up (not for a step refused
   * for load: then only from memory, adding nothing to what overloads us).
   */
  const apology = async (phoneNumber: unknown, lookUp = true): Promise<string> => {
    let locale: Locale = "uz";
    const phone = typeof phoneNumber === "string" ? normalizeUzPhone(phoneNumber) : null;
    if (!lookUp)
      return channel.final((phone ? core.engine.knownLocale(phone) : undefined) ?? "uz", "errors.unavailable").text;
    try {
      const citizen = phone ? await withDeadline(core.services.citizens.findByPhone(phone), LOOKUP_DEADLINE_MS) : null;
      locale = citizen?.locale ?? "uz";
    } catch {
      // The database is what failed (or is too slow): the language this caller used in earlier
      // steps, else Uzbek.
      locale = (phone ? core.engine.knownLocale(phone) : undefined) ?? "uz";
    }
    return channel.final(locale, "errors.unavailable").text;
  };

  // The gateway shows a 5xx as a network error: a failure still answers END with an apology.
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply
        .code(status)
        .type(TEXT)
        .send(`${status === 400 ? "Bad Request" : "Error"}: ${error.message}`);
    }
    request.log.error({ err: error }, "ussd channel request failed");
    if (request.routeOptions.url === "/ussd") {
      const body = request.body as { phoneNumber?: unknown } | undefined;
      ussdApologies.inc({ reason: "error" });
      return reply
        .code(200)
        .type(TEXT)
        .send(await apology(body?.phoneNumber));
    }
    return reply.code(500).type(TEXT).send("Internal Server Error");
  });

  app.post("/ussd", { onRequest: guard, schema: { body: UssdBody } }, async (request, reply) => {
    const startedAt = performance.now();
    const apologise = (reason: ApologyReason) => {
      ussdApologies.inc({ reason });
      observeStep("ussd", "apology", startedAt);
    };
    if (!(await admission.enter())) {
      request.log.debug("ussd step refused: the server is at capacity");
      apologise("capacity");
      return reply
        .code(200)
        .type(TEXT)
        .send(await apology(request.body.phoneNumber, false));
    }
    // The place is given back when the step's work ends, even if the caller was answered earlier.
    const step = channel.handle(request.body).finally(() => admission.leave());
    try {
      const answer = await withDeadline(step, stepDeadlineMs);
      observeStep("ussd", answer.flow, startedAt);
      return reply
        .type(TEXT)
        .header("x-ussd-locale", answer.locale)
        .header("x-ussd-encoding", answer.encoding)
        .header("x-ussd-page", `${answer.page}/${answer.pages}`)
        .send(answer.text);
    } catch (err) {
      request.log.error({ err }, "ussd step failed");
      apologise(err instanceof DeadlineError ? "deadline" : "error");
      return reply
        .code(200)
        .type(TEXT)
        .send(await apology(request.body.phoneNumber));
    }
  });

  app.post("/ussd/events", { onRequest: guard, schema: { body: EventsBody } }, async (request, reply) => {
    await recordSessionEnd(options.sql, request.body, new Date(), core.ussdSessions);
    return reply.type(TEXT).send("OK");
  });

  app.post("/sms/inbound", { onRequest: guard, schema: { body: SmsBody } }, async (request, reply) => {
    const outcome = await sms.handle(request.body);
    if (outcome.kind === "ignored") request.log.info({ reason: outcome.reason }, "inbound sms not answered");
    return reply.type(TEXT).send("OK");
  });

  if (config.simulatorEnabled) {
    app.get("/simulator", async (request, reply) => {
      const query = request.query as { lang?: unknown };
      return reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .send(simulatorPage(translator, typeof query.lang === "string" ? query.lang : undefined));
    });
  }
};

/** `?token=` must equal the configured callback token (compared in constant time). */
function tokenGuard(token: string | undefined) {
  const expected = token ? digest(token) : null;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!expected) return;
    const given = (request.query as { token?: unknown } | undefined)?.token;
    if (typeof given === "string" && timingSafeEqual(digest(given), expected)) return;
    return reply.code(403).type(TEXT).send("Forbidden");
  };
}

const digest = (value: string) => createHash("sha256").update(value).digest();
