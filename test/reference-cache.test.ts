import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedReferenceData } from "../core/reference/seed.js";
import { ReferenceService } from "../core/services/reference.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: false });
});
afterAll(() => db.close());

async function statementsOf(work: () => Promise<unknown>): Promise<number> {
  const before = db.queryCount();
  await work();
  return db.queryCount() - before;
}

describe("reference data cache", () => {
  it("lets the requests that find a list run out share one load", async () => {
    // A lifetime of 0: every request finds the list run out, as all do at once when it expires under load.
    const reference = new ReferenceService(db.prisma, 0);
    const alone = await statementsOf(() => reference.visitReasons());
    const together = await statementsOf(() => Promise.all(Array.from({ length: 20 }, () => reference.visitReasons())));
    expect(alone).toBeGreaterThan(0);
    expect(together).toBe(alone);
    const lists = await Promise.all(Array.from({ length: 5 }, () => reference.visitReasons()));
    for (const list of lists) expect(list).toEqual(lists[0]);
    expect(lists[0]?.length).toBeGreaterThan(0);
  });

  it("keeps nothing a load read before an invalidation", async () => {
    const reference = new ReferenceService(db.prisma);
    const [first] = await reference.visitReasons();
    if (!first) throw new Error("no visit reasons seeded");
    const inFlight = reference.visitReasons();
    reference.invalidate();
    const early = reference.visitReasons();
    await db.prisma.visitReason.update({ where: { id: first.id }, data: { active: false } });
    reference.invalidate();
    await Promise.all([inFlight, early]);
    expect((await reference.visitReasons()).map((r) => r.id)).not.toContain(first.id);
    await db.prisma.visitReason.update({ where: { id: first.id }, data: { active: true } });
  });
});
