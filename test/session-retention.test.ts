import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../app/logger.js";
import { startSessionRetention } from "../app/session-retention.js";
import { SqlSessionStore } from "../core/engine/session-store.js";
import type { Screen } from "../core/engine/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { waitUntil } from "./support/faults.js";

let db: TestDatabase;
let store: SqlSessionStore;
const now = new Date("2026-11-25T12:00:00Z");
const DAY = 86_400_000;
const screen: Screen = {
  body: [{ key: "menu.title" }],
  options: [],
  input: { kind: "none" },
  nav: { back: false, home: false },
  end: false,
};

beforeAll(async () => {
  db = await createTestDatabase();
  store = new SqlSessionStore(db.sql);
});
afterAll(() => db.close());

async function session(key: string, expiresAt: Date) {
  const { lease } = await store.claim("ussd", key, undefined);
  await store.save(
    {
      channel: "ussd",
      sessionKey: key,
      citizenId: null,
      state: {
        flow: "apply",
        step: "address",
        data: { address: "Navoiy 12" },
        history: [],
        optionKeys: [],
        invalid: 0,
      },
      steps: 3,
      lastScreen: screen,
      view: { seen: "1*1", page: 1 },
      locale: "uz",
      expiresAt,
    },
    lease,
  );
}

const keys = async () =>
  (await db.prisma.conversationSession.findMany({ select: { sessionKey: true }, orderBy: { sessionKey: "asc" } })).map(
    (s) => s.sessionKey,
  );

describe("expired conversation sessions", () => {
  it("are deleted a week after they expire, with what was typed in them; live and recent ones stay", async () => {
    await session("expired-8-days", new Date(now.getTime() - 8 * DAY));
    await session("expired-6-days", new Date(now.getTime() - 6 * DAY));
    await session("live", new Date(now.getTime() + 60_000));
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });

    const retention = startSessionRetention({ sessions: store, logger, clock: () => now, everyMs: 60_000 });
    try {
      expect(await waitUntil(async () => !(await keys()).includes("expired-8-days"), 10_000, 20)).toBe(true);
    } finally {
      retention.stop();
    }
    expect(await keys()).toEqual(["expired-6-days", "live"]);
    expect(lines.some((l) => l.includes('"purged":1'))).toBe(true);
    // A second round finds nothing more to delete.
    expect(await store.purgeExpired(new Date(now.getTime() - 7 * DAY))).toBe(0);
  });
});
