import { Redis } from "ioredis";
import type { Database } from "../core/db/database.js";
import type { Channel } from "../core/domain/vocabulary.js";
import { ConversationEngine } from "../core/engine/engine.js";
import { MemoryRateLimiter, type RateLimiter } from "../core/engine/rate-limit.js";
import { RedisSessionStore } from "../core/engine/redis-session-store.js";
import { ChannelSessionStore, type KeptSessionStore, SqlSessionStore } from "../core/engine/session-store.js";
import { citizenFlows, onboardingFlow, ratingOpening } from "../core/flows/index.js";
import { NotificationRenderer } from "../core/notifications/render.js";
import { ApplicationService } from "../core/services/applications.js";
import { BackOfficeService } from "../core/services/backoffice/index.js";
import { type CalendarService, calendarFor } from "../core/services/calendar.js";
import { ContactService } from "../core/services/contacts.js";
import { DeadlineService } from "../core/services/deadlines.js";
import { EscalationService } from "../core/services/escalations.js";
import { FeedbackService } from "../core/services/feedback.js";
import { createServices, type Services } from "../core/services/index.js";
import { StaffService } from "../core/services/staff.js";
import { StaffVisitService } from "../core/services/staff-visits.js";
import type { AppConfig } from "./config.js";

/**
 * The composition root of the core: every service, the session store and the engine are built
 * here, once per process, and handed to the channels, the API and the worker as options. A module
 * that built its own copy would have its own reference-data cache, its own step limit and (before)
 * its own slower Prisma-only path for the statements payment day runs most.
 */

/** What the core needs of the database: the Prisma client, and plain SQL for the hot statements. */
export type CoreDatabase = Pick<Database, "prisma" | "sql">;

export interface CoreOptions {
  idleSeconds?: Partial<Record<Channel, number>>;
  clock?: () => Date;
  /** Conversation steps one person may take per minute; 0 or unset: unlimited. */
  stepsPerMinute?: number;
  /** Where USSD sessions live instead of the database (a Redis session store); the core closes it. */
  ussdSessions?: { store: KeptSessionStore; close(): Promise<void> };
  /** Counts the steps instead of an in-memory limiter of `stepsPerMinute` (app/limits.ts: shared by every instance). */
  stepLimiter?: RateLimiter | undefined;
}

/** The services the back-office API works with. */
export interface BackOfficeServices {
  backoffice: BackOfficeService;
  staff: StaffService;
  applications: ApplicationService;
  /** Service deadlines, overdue lists and the claims of reminders, escalations and late notices. */
  deadlines: DeadlineService;
  /** The working-day calendar (holidays, transferred days) every booking and deadline uses. */
  calendar: CalendarService;
  /** The hotline, USSD code and "Inson" centres the flows show (the same service the engine uses). */
  contacts: ContactService;
  /** The citizens' ratings and the district admins' follow-ups of poor ones. */
  feedback: FeedbackService;
}

export interface Core {
  engine: ConversationEngine;
  services: Services;
  sessions: SqlSessionStore;
  staffVisits: StaffVisitService;
  backOffice: BackOfficeServices;
  /** The deadline tick: reminders, escalations to the district admin, the citizen's late notice. */
  escalations: EscalationService;
  /** USSD sessions when they are not kept in the database (undefined: in `sessions`). */
  ussdSessions: KeptSessionStore | undefined;
  /** Lets go of what the core opened itself (the session Redis connection). */
  close(): Promise<void>;
}

/** The API's services on the given database; also what createCore hands the API. */
export function createBackOfficeServices(
  db: CoreDatabase,
  clock: () => Date = () => new Date(),
  applications: ApplicationService = new ApplicationService(db.prisma, db.sql),
  contacts: ContactService = new ContactService(db.prisma),
): BackOfficeServices {
  return {
    backoffice: new BackOfficeService(db.prisma, new NotificationRenderer()),
    staff: new StaffService(db.prisma, clock),
    applications,
    deadlines: new DeadlineService(db.prisma),
    calendar: calendarFor(db.prisma),
    contacts,
    feedback: new FeedbackService(db.prisma, { clock, sql: db.sql }),
  };
}

/** The engine with every citizen flow and the SQL-backed services: what every entry point serves. */
export function createCore(db: CoreDatabase, options: CoreOptions = {}): Core {
  const clock = options.clock ?? (() => new Date());
  const services = createServices(db.prisma, { sql: db.sql });
  const sessions = new SqlSessionStore(db.sql);
  const ussdSessions = options.ussdSessions?.store;
  const engine = new ConversationEngine({
    services,
    sessions: ussdSessions ? new ChannelSessionStore({ ussd: ussdSessions, telegram: sessions }) : sessions,
    flows: citizenFlows,
    onboarding: onboardingFlow,
    opening: ratingOpening,
    idleSeconds: { ussd: 180, telegram: 86_400, ...options.idleSeconds },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.stepLimiter
      ? { stepLimiter: options.stepLimiter }
      : options.stepsPerMinute
        ? { stepLimiter: new MemoryRateLimiter(options.stepsPerMinute, 60_000) }
        : {}),
  });
  const backOffice = createBackOfficeServices(db, clock, services.applications, services.contacts);
  return {
    engine,
    services,
    sessions,
    staffVisits: new StaffVisitService(db.prisma, { sql: db.sql, clock, deadlines: backOffice.deadlines }),
    backOffice,
    escalations: new EscalationService(db.prisma, backOffice.deadlines),
    ussdSessions,
    close: async () => {
      await options.ussdSessions?.close();
    },
  };
}

/**
 * The core as the configuration asks: idle times per channel and the per-person step limit
 * (counted by `stepLimiter` when given: app/limits.ts's, shared by every instance).
 */
export function createAppCore(
  config: AppConfig,
  db: CoreDatabase,
  clock?: () => Date,
  stepLimiter?: RateLimiter,
): Core {
  return createCore(db, {
    ...(clock ? { clock } : {}),
    ...(stepLimiter ? { stepLimiter } : {}),
    idleSeconds: {
      ussd: config.ussd.sessionIdleSeconds,
      telegram: config.telegram.enabled ? config.telegram.sessionIdleSeconds : 86_400,
    },
    stepsPerMinute: config.stepsPerMinute,
    ...(config.ussd.sessionRedisUrl ? { ussdSessions: redisSessions(config.ussd.sessionRedisUrl, db) } : {}),
  });
}

/**
 * USSD sessions on Redis: a step then costs the database only its flow's own statements (see
 * core/engine/redis-session-store.ts). A command waits for one reconnection at most, so a Redis
 * outage turns into the apology within the step's deadline rather than a hung gateway request.
 */
function redisSessions(url: string, db: CoreDatabase) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  // Failures reach the step that needed Redis (an apology); the client's own event is not a crash.
  redis.on("error", () => {});
  return {
    store: new RedisSessionStore(redis, db.sql),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
