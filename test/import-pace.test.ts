import { describe, expect, it } from "vitest";
import { IMPORT_WORK_SHARE, importPace } from "../core/services/imports/rows.js";

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
  it("rests after each batch as long as the batch worked, so the import takes half the time", async () => {
    expect(IMPORT_WORK_SHARE).toBe(0.5);
    const t = fakeTime();
    const pace = importPace(IMPORT_WORK_SHARE, t.clock, t.rest);
    for (const worked of [40, 10, 25]) {
      t.work(worked);
      await pace();
    }
    expect(t.rests).toEqual([40, 10, 25]);
  });

  it("counts only the work since its last rest, never the rest itself", async () => {
    const t = fakeTime();
    const pace = importPace(0.25, t.clock, t.rest);
    t.work(30);
    await pace();
    await pace();
    expect(t.rests).toEqual([90, 0]);
  });
});
