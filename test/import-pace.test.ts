import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { seedReferenceData } from "../core/reference/seed.js";
import { importMahallas } from "../core/services/imports/mahallas.js";
import { IMPORT_WORK_SHARE, importPace, recordsOf } from "../core/services/imports/rows.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

/** A clock the test moves, and the rests the pace asked for (each moves the clock too). */
function fakeTime() {
  let now = 1_000;
  const rests: number[] = [];
  return {
    clock: () => now,
    work: (ms: number) => {
      now += ms;
    },
    rest: async (ms: number) => {
      rests.push(ms);
      now += ms;
    },
    rests,
  };
}

describe("an import's pace", () => {
  it("rests three times as long as each batch worked while people are served, so it takes a quarter of the time", async () => {
    expect(IMPORT_WORK_SHARE).toBe(0.25);
    const t = fakeTime();
    const pace = importPace({ busy: () => true, clock: t.clock, rest: t.rest });
    for (const worked of [40, 10, 25]) {
      t.work(worked);
      await pace();
    }
    expect(t.rests).toEqual([120, 30, 75]);
  });

  it("rests whenever it is not told who is served", async () => {
    const t = fakeTime();
    const pace = importPace({ clock: t.clock, rest: t.rest });
    t.work(20);
    await pace();
    expect(t.rests).toEqual([60]);
  });

  it("goes at full speed while nobody is served, and rests again once someone is", async () => {
    const t = fakeTime();
    let busy = false;
    const pace = importPace({ busy: () => busy, clock: t.clock, rest: t.rest });
    t.work(50);
    await pace();
    expect(t.rests).toEqual([]);
    busy = true;
    t.work(10);
    await pace();
    expect(t.rests).toEqual([30]);
  });

  it("counts only the work since its last rest, never the rest itself", async () => {
    const t = fakeTime();
    const pace = importPace({ share: 0.5, clock: t.clock, rest: t.rest });
    t.work(30);
    await pace();
    await pace();
    expect(t.rests).toEqual([30, 0]);
  });
});

describe("who is served, as imports see it", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await seedReferenceData(db.prisma, { demo: true });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("counts the engine busy for a second after a step begins, and idle before and after", async () => {
    const conversation = new Conversation(db, { phone: "+998901112233" });
    const { engine } = conversation.core;
    expect(engine.busy()).toBe(false);
    const now = performance.now();
    await conversation.start();
    expect(engine.busy()).toBe(true);
    const later = vi.spyOn(performance, "now").mockReturnValue(now + 60_000);
    try {
      expect(engine.busy()).toBe(false);
    } finally {
      later.mockRestore();
    }
  });

  it("rests an import's batches only while its pace says people are served", async () => {
    const mahalla = (code: string) => ({
      code,
      districtCode: "1726294",
      nameUz: `${code} MFY`,
      nameUzCyrl: `${code} МФЙ`,
      nameRu: `махалля ${code}`,
    });
    const rests: number[] = [];
    const rest = async (ms: number) => {
      rests.push(ms);
    };
    const idle = await importMahallas(db.prisma, recordsOf([mahalla("1726294-901")]), "test", {
      busy: () => false,
      rest,
    });
    expect(idle).toMatchObject({ created: 1 });
    expect(rests).toEqual([]);
    const served = await importMahallas(db.prisma, recordsOf([mahalla("1726294-902")]), "test", {
      busy: () => true,
      rest,
    });
    expect(served).toMatchObject({ created: 1 });
    expect(rests).toHaveLength(1);
    expect(rests[0]).toBeGreaterThan(0);
  });
});
