import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { apiErrorHandler, toErrorAnswer } from "../app/api/errors.js";
import { openDataPlugin } from "../app/open/plugin.js";
import * as catalogue from "../core/domain/errors.js";
import { AppError, ERROR_KINDS, type ErrorKind, HTTP_STATUS } from "../core/domain/errors.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import type { RetryPolicy } from "../core/notifications/policy.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import {
  PermanentSendError,
  RecipientUnreachableError,
  SendError,
  TransientSendError,
} from "../core/notifications/senders.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { FakeSms, outboxRow } from "./support/notify.js";

const text = { key: "errors.generic" };

/**
 * One instance of every class the catalogue exports, with the status the API must answer for it.
 * A class added to the catalogue without a line here fails the first test.
 */
const samples: Record<string, { error: AppError; status: number }> = {
  DomainError: { error: new catalogue.DomainError("SLOT_FULL", text), status: 409 },
  ForbiddenError: { error: new catalogue.ForbiddenError("staff 1 may not accept visit V-1"), status: 403 },
  NotFoundError: { error: new catalogue.NotFoundError("no application A-1"), status: 404 },
  ConflictError: { error: new catalogue.ConflictError("STAFF_EXISTS", "taken"), status: 409 },
  InvalidInputError: { error: new catalogue.InvalidInputError("INVALID_PHONE", "bad phone", "phone"), status: 400 },
  PayloadTooLargeError: { error: new catalogue.PayloadTooLargeError("too big"), status: 413 },
  IllegalTransitionError: { error: new catalogue.IllegalTransitionError("approved", "submitted"), status: 409 },
  ImportRejectedError: { error: new catalogue.ImportRejectedError([], 1, 2), status: 422 },
  CsvError: { error: new catalogue.CsvError("CSV_HEADER", "missing column(s): phone"), status: 400 },
  ReleaseUnavailableError: { error: new catalogue.ReleaseUnavailableError(), status: 503 },
  UnsafeReleaseError: { error: new catalogue.UnsafeReleaseError("cannot protect", ["a"]), status: 503 },
  SessionBusyError: { error: new catalogue.SessionBusyError(), status: 503 },
  SessionLeaseLostError: { error: new catalogue.SessionLeaseLostError(), status: 503 },
  DeadlineError: { error: new catalogue.DeadlineError("no answer within 250 ms"), status: 503 },
};

const isCatalogueClass = (value: unknown): value is abstract new (...args: never[]) => AppError =>
  typeof value === "function" && value !== AppError && value.prototype instanceof AppError;

describe("the error catalogue", () => {
  it("answers every catalogue error with the status of its kind", () => {
    const classes = Object.entries(catalogue)
      .filter(([, value]) => isCatalogueClass(value))
      .map(([name]) => name);
    expect(classes.sort()).toEqual(Object.keys(samples).sort());
    for (const [name, { error, status }] of Object.entries(samples)) {
      expect(error.name, name).toBe(name);
      expect(toErrorAnswer(error).status, name).toBe(status);
      expect(HTTP_STATUS[error.kind], name).toBe(status);
      expect(error.statusCode, name).toBe(status);
      expect(toErrorAnswer(error).error).toMatchObject({ code: error.code, message: error.message });
    }
  });

  it("has an HTTP status for every kind, and only client or availability statuses", () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_KINDS].sort());
    for (const status of Object.values(HTTP_STATUS))
      expect(status === 503 || (status >= 400 && status < 500)).toBe(true);
  });

  it("sends each error's extra fields after code and message, byte for byte as before", () => {
    const body = (err: AppError) => JSON.stringify(toErrorAnswer(err).error);
    expect(body(new catalogue.IllegalTransitionError("approved", "submitted"))).toBe(
      '{"code":"ILLEGAL_TRANSITION","message":"an application cannot go from approved to submitted","from":"approved","to":"submitted"}',
    );
    expect(body(new catalogue.InvalidInputError("UNKNOWN_DISTRICT", "no district 9", "districtCode"))).toBe(
      '{"code":"UNKNOWN_DISTRICT","message":"no district 9","field":"districtCode"}',
    );
    expect(body(new catalogue.InvalidInputError("INVALID_DATE", "not a date"))).toBe(
      '{"code":"INVALID_DATE","message":"not a date"}',
    );
    const rows = [{ row: 2, line: 3, problems: [{ field: "phone", code: "INVALID_PHONE", message: "bad" }] }];
    expect(body(new catalogue.ImportRejectedError(rows, 1, 5))).toBe(
      `{"code":"IMPORT_REJECTED","message":"1 of 5 rows are invalid; nothing was imported","rows":${JSON.stringify(rows)},"invalidRows":1,"receivedRows":5}`,
    );
  });

  it("gives every error class with a fixed code a code of its own", () => {
    const fixed = Object.values(samples)
      .map(({ error }) => error)
      .filter((e) => !["DomainError", "ConflictError", "InvalidInputError", "CsvError"].includes(e.name))
      .map((e) => e.code);
    expect(new Set(fixed).size).toBe(fixed.length);
  });

  it("never throws one code with two kinds anywhere in the source, nor one send code both retryable and not", () => {
    const kindOf: Record<string, ErrorKind | "retryable" | "final"> = {
      DomainError: "conflict",
      ConflictError: "conflict",
      InvalidInputError: "invalid",
      CsvError: "invalid",
      TransientSendError: "retryable",
      PermanentSendError: "final",
    };
    const seen = new Map<string, Set<string>>();
    const note = (code: string, kind: string, where: string) => {
      const kinds = seen.get(code) ?? new Set<string>();
      kinds.add(kind);
      seen.set(code, kinds);
      if (kinds.size > 1) throw new Error(`${code} is thrown as ${[...kinds].join(" and ")} (${where})`);
    };
    for (const { error } of Object.values(samples))
      if (!(error.name in kindOf)) note(error.code, error.kind, "catalogue");
    let throwSites = 0;
    for (const file of sourceFiles(["core", "app", "bot", "ussd", "scripts"])) {
      const source = readFileSync(file, "utf8");
      for (const m of source.matchAll(/new (\w+Error)\(\s*"([A-Z0-9_]+)"/g)) {
        const [, cls = "", code = ""] = m;
        const kind = kindOf[cls];
        if (!kind) continue;
        throwSites++;
        note(code, kind, file);
      }
    }
    // The scan found the throw sites (a regex that matched nothing would pass anything).
    expect(throwSites).toBeGreaterThan(40);
    expect(seen.get("STAFF_EXISTS")).toEqual(new Set(["conflict"]));
  });
});

function sourceFiles(dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) out.push(path);
    }
  };
  for (const dir of dirs) walk(dir);
  return out;
}

describe("the back-office API's error answers", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ logger: false });
    await app.register(async (v1) => {
      v1.setErrorHandler(apiErrorHandler);
      v1.get("/forbidden", async () => {
        throw new catalogue.ForbiddenError("staff 7 may not reassign visit V-1234-5678");
      });
      v1.get("/bug", async () => {
        throw new Error("connection to postgresql://mahalla:secret@db failed for +998901234567");
      });
      v1.get("/thrown-string", async () => {
        throw "not an error";
      });
    });
  });
  afterAll(() => app.close());

  it("answers a ForbiddenError thrown by a route with 403 FORBIDDEN, not 500", async () => {
    const res = await app.inject({ method: "GET", url: "/forbidden" });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: { code: "FORBIDDEN", message: "staff 7 may not reassign visit V-1234-5678" },
    });
  });

  it("answers an unknown error with 500 INTERNAL_ERROR and none of its message", async () => {
    for (const url of ["/bug", "/thrown-string"]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode).toBe(500);
      expect(res.body).toBe('{"error":{"code":"INTERNAL_ERROR","message":"internal error"}}');
    }
  });
});

describe("the open data's error answers", () => {
  it("answers RELEASE_UNAVAILABLE from the catalogue with 503 in Fastify's shape, and leaves validation to Fastify", async () => {
    const app = Fastify({ logger: false });
    await app.register(openDataPlugin, {
      prisma: undefined as never,
      source: {
        load: async () => {
          throw new Error("audit failed");
        },
      },
    });
    const unavailable = await app.inject({ method: "GET", url: "/open/v1/regions" });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers["retry-after"]).toBe("300");
    expect(unavailable.body).toBe(
      '{"statusCode":503,"code":"RELEASE_UNAVAILABLE","error":"Service Unavailable","message":"no open-data release can be published right now"}',
    );
    const invalid = await app.inject({ method: "GET", url: "/open/v1/regions?format=xml" });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ statusCode: 400, code: "FST_ERR_VALIDATION", error: "Bad Request" });
    await app.close();
  });
});

describe("send failures", () => {
  it("say whether a retry can help on the error itself", () => {
    expect(new TransientSendError("AT_HTTP_500").retryable).toBe(true);
    expect(new PermanentSendError("AT_403").retryable).toBe(false);
    expect(new RecipientUnreachableError("bot was blocked").retryable).toBe(false);
    for (const err of [new TransientSendError("X"), new PermanentSendError("X"), new RecipientUnreachableError("x")]) {
      expect(err).toBeInstanceOf(SendError);
    }
  });

  describe("through the relay", () => {
    let db: TestDatabase;
    const now = new Date("2025-03-10T09:00:00Z");
    const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 30_000, maxDelayMs: 600_000, leaseMs: 300_000 };
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(() => db?.close());
    beforeEach(async () => {
      await db.prisma.outbox.deleteMany();
    });

    /** A provider's own failure class, unknown to delivery: only `retryable` can tell it what to do. */
    class QuotaError extends SendError {
      override name = "QuotaError";
      constructor(
        readonly code: string,
        readonly retryable: boolean,
      ) {
        super(code);
      }
    }

    const deliverOnce = async (failure: Error) => {
      const sms = new FakeSms();
      sms.failures = [failure];
      const relay = new OutboxRelay(new NotificationDelivery({ prisma: db.prisma, sms, clock: () => now, policy }), {
        recoverEveryMs: 0,
      });
      const created = await outboxRow(db.prisma, { nextAttemptAt: now });
      const [outcome] = await relay.tick();
      const row = await db.prisma.outbox.findUniqueOrThrow({ where: { id: created.id } });
      return { outcome: outcome?.outcome, status: row.status, attempts: row.attempts };
    };

    it("retries a send failure that says it is retryable and gives up at once on one that is not", async () => {
      expect(await deliverOnce(new QuotaError("QUOTA_SECOND", true))).toEqual({
        outcome: "retry",
        status: "failed",
        attempts: 1,
      });
      expect(await deliverOnce(new QuotaError("QUOTA_MONTH", false))).toEqual({
        outcome: "dead",
        status: "dead",
        attempts: 1,
      });
      // An error that is no send failure at all (a bug, a dropped socket) is retried as before.
      expect(await deliverOnce(new Error("socket hang up"))).toMatchObject({ outcome: "retry", status: "failed" });
    });
  });
});
