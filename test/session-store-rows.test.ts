import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StaffChatStore } from "../bot/staff/state.js";
import { CLAIM, SAVE } from "../core/db/sql/conversation-session.js";
import { SqlSessionStore } from "../core/engine/session-store.js";
import { recordSessionEnd } from "../ussd/events.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let db: TestDatabase;
const now = new Date("2026-11-25T12:00:00Z");

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const row = (channel: string, sessionKey: string) =>
  db.prisma.conversationSession.findUnique({ where: { channel_sessionKey: { channel, sessionKey } } });

describe("the session store as ConversationSession's one writer", () => {
  it("commits a lease claim without waiting for the disk, and only the claim: the step's save stays durable", async () => {
    const client = new pg.Client({ connectionString: db.target.url });
    await client.connect();
    const setting = async () =>
      ((await client.query("show synchronous_commit")).rows[0] as { synchronous_commit: string }).synchronous_commit;
    try {
      // As PostgreSQL ships (the test servers run with it off).
      await client.query("set synchronous_commit = on");
      await client.query("begin");
      const claimed = await client.query(CLAIM.text, ["ussd", "ATUid_async", null, "lease-a", 30, null]);
      expect(claimed.rows[0]).toMatchObject({ claimed: true });
      expect(await setting()).toBe("off");
      await client.query("commit");
      // Nothing after the claim's own transaction on that connection commits asynchronously.
      expect(await setting()).toBe("on");
      const expires = "2026-11-25T12:10:00.000";
      const saved = await client.query(SAVE.text, [
        "ussd",
        "ATUid_async",
        null,
        "{}",
        1,
        "{}",
        expires,
        expires,
        "lease-a",
      ]);
      expect(saved.rows).toEqual([{ saved: 1 }]);
      expect(await setting()).toBe("on");
    } finally {
      await client.end();
    }
    expect((await row("ussd", "ATUid_async"))?.leaseToken).toBeNull();
  });

  it("keeps a staff chat's state in one row, read back as written, expiring 30 days on", async () => {
    const store = new StaffChatStore(db.sql, () => now);
    expect(await store.load(101)).toEqual({ mode: "staff", pendingNote: null });
    const pendingNote = { reference: "V-1234-5678", cardMessageId: 7, until: "2026-11-25T12:30:00.000Z" };
    await store.update(101, { mode: "citizen", pendingNote });
    await store.update(101, { mode: "citizen" });
    expect(await store.load(101)).toEqual({ mode: "citizen", pendingNote });
    const stored = await row("telegram", "staff:101");
    expect(stored?.stepCount).toBe(0);
    expect(stored?.expiresAt.toISOString()).toBe("2026-12-25T12:00:00.000Z");
    expect(await db.prisma.conversationSession.count({ where: { sessionKey: "staff:101" } })).toBe(1);
  });

  it("drops a pending note once its time is up, as before", async () => {
    await new StaffChatStore(db.sql, () => now).update(102, {
      pendingNote: { reference: "V-1234-5678", cardMessageId: null, until: "2026-11-25T12:30:00.000Z" },
    });
    const later = new StaffChatStore(db.prisma, () => new Date("2026-11-25T12:31:00Z"));
    expect((await later.load(102)).pendingNote).toBeNull();
  });

  it("writes a staff chat's state without touching a lease a step holds on the row", async () => {
    const sessions = new SqlSessionStore(db.sql);
    const claimed = await sessions.claim("telegram", "staff:103");
    await new StaffChatStore(db.sql, () => now).update(103, { mode: "citizen" });
    expect((await row("telegram", "staff:103"))?.leaseToken).toBe(claimed.lease);
    await sessions.release("telegram", "staff:103", claimed.lease);
    expect((await row("telegram", "staff:103"))?.leaseToken).toBeNull();
  });

  it("records the gateway's session end on a known USSD session only, its input masked", async () => {
    expect(await recordSessionEnd(db.sql, { sessionId: "ATUid_unknown", status: "Success" }, now)).toBe(false);
    const sessions = new SqlSessionStore(db.sql);
    const claimed = await sessions.claim("ussd", "ATUid_known");
    await sessions.release("ussd", "ATUid_known", claimed.lease);
    const ended = await recordSessionEnd(
      db.sql,
      { sessionId: "ATUid_known", status: "Incomplete", hopsCount: "3", input: "1*31503610000413" },
      now,
    );
    expect(ended).toBe(true);
    const stored = await row("ussd", "ATUid_known");
    expect(stored?.endedAt?.toISOString()).toBe(now.toISOString());
    expect(stored?.endStatus).toBe("Incomplete");
    expect(stored?.endInfo).toMatchObject({ hopsCount: 3, input: "1*##############" });
  });
});
