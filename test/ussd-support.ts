import Fastify, { type FastifyInstance } from "fastify";
import { expect } from "vitest";
import { loadConfig } from "../app/config.js";
import { createAppCore, createCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import type { ConversationEngine } from "../core/engine/engine.js";
import { toGsm7 } from "../core/i18n/gsm.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { type UssdPluginOptions, ussdRoutes } from "../ussd/routes.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

export const translator = new Translator();

/** A name from the database as the USSD screen shows it. */
export const shownName = (locale: Locale, names: Record<Locale, string>): string =>
  locale === "uz" ? toGsm7(names[locale]) : names[locale];

/** A text as the USSD screen shows it: Uzbek Latin in the 7-bit alphabet. */
export function shown(locale: Locale, key: string, params?: Params): string {
  const text = translator.t(locale, key, params);
  return locale === "uz" ? toGsm7(text) : text;
}

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  close(): Promise<void>;
}

/** The whole application (as `npm start` builds it) on a fresh, seeded test database. */
export async function startApp(env: Record<string, string> = {}, db?: TestDatabase): Promise<TestApp> {
  const database = db ?? (await createTestDatabase());
  if (!db) await seedReferenceData(database.prisma, { demo: true });
  // Tests take many steps a minute from one number; the limit itself has its own test.
  const config = loadConfig({ NODE_ENV: "test", RATE_LIMIT_STEPS_PER_MINUTE: "0", ...env });
  const app = await buildServer({
    config,
    db: database,
    logger: createLogger("silent"),
    core: createAppCore(config, database),
  });
  await app.ready();
  return {
    app,
    db: database,
    close: async () => {
      await app.close();
      if (!db) await database.close();
    },
  };
}

/** The USSD routes alone over a given core (an engine that fails or is held), on a test database. */
export async function ussdOnly(
  db: TestDatabase,
  core: UssdPluginOptions["core"],
  options: Pick<UssdPluginOptions, "admission"> = {},
): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(ussdRoutes, {
    config: {
      ussd: { callbackToken: undefined, maxCharsUcs2: 182 },
      simulatorEnabled: false,
    },
    prisma: db.prisma,
    sql: db.sql,
    core,
    ...options,
  });
  return app;
}

/**
 * The real core with its engine held at a gate: every step waits until `open()` is called, so a
 * test can keep the admission places taken for as long as it needs.
 */
export function heldCore(db: TestDatabase): { core: UssdPluginOptions["core"]; open: () => void } {
  const real = createCore(db);
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const engine = {
    step: async (request: Parameters<ConversationEngine["step"]>[0]) => {
      await gate;
      return real.engine.step(request);
    },
    knownLocale: (person: string) => real.engine.knownLocale(person),
  } as unknown as ConversationEngine;
  return { core: { engine, services: real.services }, open: () => open() };
}

let sessions = 0;

export interface UssdResponse {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

/**
 * A phone talking to `/ussd` as Africa's Talking does: every request carries the whole input
 * history of the session joined by "*".
 */
export class UssdPhone {
  readonly inputs: string[] = [];
  sessionId: string;
  last!: UssdResponse;

  constructor(
    readonly app: FastifyInstance,
    readonly phoneNumber: string,
    readonly query = "",
  ) {
    this.sessionId = this.newSessionId();
  }

  private newSessionId() {
    sessions += 1;
    return `ATUid_${process.pid}_${sessions}_${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Starts a new session; `shortcut` is what follows the service code (*1146*3# → "3"). */
  async dial(shortcut?: string): Promise<string> {
    this.sessionId = this.newSessionId();
    this.inputs.length = 0;
    if (shortcut) this.inputs.push(shortcut);
    return this.post();
  }

  /** Types one input and sends it. */
  async send(input: string): Promise<string> {
    this.inputs.push(input);
    return this.post();
  }

  /** The gateway resends the very same request (a timeout on its side). */
  retry(): Promise<string> {
    return this.post();
  }

  get text(): string {
    return this.inputs.join("*");
  }

  async post(fields: Record<string, string> = {}): Promise<string> {
    const payload = new URLSearchParams({
      sessionId: this.sessionId,
      serviceCode: "*1146#",
      phoneNumber: this.phoneNumber,
      networkCode: "63902",
      text: this.text,
      ...fields,
    }).toString();
    const res = await this.app.inject({
      method: "POST",
      url: `/ussd${this.query}`,
      payload,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    this.last = { status: res.statusCode, body: res.body, headers: res.headers };
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/^(CON|END) /);
    return res.body;
  }

  get ended(): boolean {
    return this.last.body.startsWith("END ");
  }

  /** The number printed before the option that contains `label` on the current page, if any. */
  numberOf(label: string): string | undefined {
    for (const line of this.last.body.split("\n")) {
      const m = /^(?:CON |END )?(\d+)\. (.*)$/.exec(line);
      if (m?.[2]?.includes(label)) return m[1];
    }
    return undefined;
  }

  /** Chooses the option containing `label`, turning pages with 98 until it shows up. */
  async pick(label: string): Promise<string> {
    for (let turns = 0; turns < 10; turns++) {
      const number = this.numberOf(label);
      if (number && !["0", "00", "98"].includes(number)) return this.send(number);
      if (!/\n98\. /.test(this.last.body)) break;
      await this.send("98");
    }
    throw new Error(`no option "${label}" on the screen:\n${this.last.body}`);
  }

  /** The screen, without its navigation lines. */
  get screen(): string {
    return this.last.body;
  }
}

/** Valid-looking demo phone numbers, distinct per test. */
let phones = 0;
export function nextPhone(): string {
  phones += 1;
  return `+99890${String(process.pid % 1000).padStart(3, "0")}${String(phones).padStart(4, "0")}`;
}
