import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextWorkingDays } from "../core/domain/slots.js";
import { tashkentDay } from "../core/i18n/format.js";
import { demandIndex } from "../core/opendata/demand-index.js";
import { doneWithinThreeWorkingDays, monthOf, tashkentDayNumber } from "../core/opendata/measures.js";
import { type Group, type RawCount, suppressCells } from "../core/opendata/suppress.js";

/** Tables written as rows of [value, people]; ids are "r<row>c<col>", margins "r<row>" / "c<col>" / "t". */
function table(rows: [number, number][][]) {
  const cells = new Map<string, RawCount>();
  const groups: Group[] = [];
  const cols = rows[0]?.length ?? 0;
  let tv = 0;
  let tp = 0;
  rows.forEach((row, r) => {
    row.forEach(([value, people], c) => {
      cells.set(`r${r}c${c}`, { value, people });
    });
    const value = row.reduce((s, [v]) => s + v, 0);
    const people = row.reduce((s, [, p]) => s + p, 0);
    cells.set(`r${r}`, { value, people });
    groups.push({ total: `r${r}`, parts: row.map((_, c) => `r${r}c${c}`) });
    tv += value;
    tp += people;
  });
  for (let c = 0; c < cols; c++) {
    const column = rows.map((row) => row[c] as [number, number]);
    cells.set(`c${c}`, { value: column.reduce((s, [v]) => s + v, 0), people: column.reduce((s, [, p]) => s + p, 0) });
    groups.push({ total: `c${c}`, parts: rows.map((_, r) => `r${r}c${c}`) });
  }
  cells.set("t", { value: tv, people: tp });
  groups.push({ total: "t", parts: rows.map((_, r) => `r${r}`) });
  groups.push({ total: "t", parts: Array.from({ length: cols }, (_, c) => `c${c}`) });
  return { cells, groups };
}

const lonelyGroups = (groups: Group[], hidden: Set<string>) =>
  groups.filter((g) => [g.total, ...g.parts].filter((id) => hidden.has(id)).length === 1);

describe("cell suppression", () => {
  it("hides a small cell and the next-smallest cell of its group, keeping the total", () => {
    const cells = new Map<string, RawCount>([
      ["t", { value: 100, people: 90 }],
      ["a", { value: 50, people: 45 }],
      ["b", { value: 45, people: 40 }],
      ["c", { value: 5, people: 5 }],
    ]);
    expect([...suppressCells(cells, [{ total: "t", parts: ["a", "b", "c"] }], 10)].sort()).toEqual(["b", "c"]);
  });

  it("hides zero cells too, and counts people rather than events", () => {
    const cells = new Map<string, RawCount>([
      ["t", { value: 60, people: 30 }],
      ["a", { value: 30, people: 25 }],
      ["b", { value: 30, people: 9 }], // 30 applications, but from 9 people
      ["z", { value: 0, people: 0 }],
    ]);
    expect([...suppressCells(cells, [{ total: "t", parts: ["a", "b", "z"] }], 10)].sort()).toEqual(["b", "z"]);
  });

  it("hides the total when a lone part is hidden and nothing else is left", () => {
    const cells = new Map<string, RawCount>([
      ["region", { value: 8, people: 8 }],
      ["district", { value: 8, people: 8 }],
      ["nation", { value: 500, people: 400 }],
      ["other", { value: 492, people: 392 }],
    ]);
    const hidden = suppressCells(
      cells,
      [
        { total: "region", parts: ["district"] },
        { total: "nation", parts: ["region", "other"] },
      ],
      10,
    );
    // The region is small itself; "other" is then the only part left to protect it in the nation.
    expect([...hidden].sort()).toEqual(["district", "other", "region"]);
  });

  it("propagates through rows and columns until no group has a single hidden cell", () => {
    const { cells, groups } = table([
      [
        [3, 3],
        [40, 40],
        [50, 50],
      ],
      [
        [30, 30],
        [20, 20],
        [60, 60],
      ],
      [
        [25, 25],
        [35, 35],
        [45, 45],
      ],
    ]);
    const hidden = suppressCells(cells, groups, 10);
    // r0c0 is small; row 0 then hides r0c1 (40 < 50) and column 0 hides r2c0 (25 < 30). Column 1
    // hides r2c1 rather than the smaller r1c1, because it also closes row 2: a rectangle of four.
    expect([...hidden].sort()).toEqual(["r0c0", "r0c1", "r2c0", "r2c1"]);
    expect(lonelyGroups(groups, hidden)).toEqual([]);
  });

  it("on any table: hides every cell under the threshold and leaves no group with one hidden cell", () => {
    const cell = fc.tuple(fc.nat(40), fc.nat(40)).map(([v, extra]): [number, number] => [v, Math.min(v, extra)]);
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 6 })
          .chain((cols) =>
            fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { minLength: 1, maxLength: 6 }),
          ),
        (rows) => {
          const { cells, groups } = table(rows);
          const hidden = suppressCells(cells, groups, 10);
          for (const [id, c] of cells) if (c.people < 10) expect(hidden.has(id)).toBe(true);
          expect(lonelyGroups(groups, hidden)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("Tashkent calendar rules", () => {
  const instant = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms));

  it("puts every instant in the same Tashkent day and month as the Intl-based formatter", () => {
    fc.assert(
      fc.property(instant, (at) => {
        const day = tashkentDay(at);
        expect(monthOf(at)).toBe(day.slice(0, 7));
        expect(new Date(tashkentDayNumber(at) * 86_400_000).toISOString().slice(0, 10)).toBe(day);
      }),
      { numRuns: 500 },
    );
  });

  it("counts 3 working days exactly as visit booking does", () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 14 * 24 * 60 }), (requested, minutes) => {
        const done = new Date(requested.getTime() + minutes * 60_000);
        const deadline = nextWorkingDays(requested, 3)[2] as string;
        expect(doneWithinThreeWorkingDays(requested, done)).toBe(tashkentDay(done) <= deadline);
      }),
      { numRuns: 500 },
    );
  });

  it("gives a Friday or Saturday request until the end of Wednesday, in Tashkent time", () => {
    const tashkent = (iso: string) => new Date(`${iso}+05:00`);
    for (const requested of ["2025-03-07T10:00:00", "2025-03-08T23:30:00"]) {
      expect(doneWithinThreeWorkingDays(tashkent(requested), tashkent("2025-03-12T23:59:00"))).toBe(true);
      expect(doneWithinThreeWorkingDays(tashkent(requested), tashkent("2025-03-13T00:00:00"))).toBe(false);
    }
    // 23:30 on a Monday in Tashkent is still Monday there (18:30 UTC): the deadline is Thursday.
    expect(doneWithinThreeWorkingDays(tashkent("2025-03-10T23:30:00"), tashkent("2025-03-13T20:00:00"))).toBe(true);
    expect(doneWithinThreeWorkingDays(tashkent("2025-03-10T23:30:00"), tashkent("2025-03-14T08:00:00"))).toBe(false);
    expect(monthOf(new Date("2025-03-31T19:30:00Z"))).toBe("2025-04");
  });
});

describe("demand index", () => {
  const count = (value: number | null) => ({ value, suppressed: value === null });

  it("divides each district's rate by the median of the published rates", () => {
    const result = demandIndex(
      [
        { households: 1000, counts: { all: count(50) } }, // 50 per 1,000
        { households: 2000, counts: { all: count(200) } }, // 100
        { households: 4000, counts: { all: count(120) } }, // 30
        { households: 500, counts: { all: count(null) } }, // suppressed: not in the median
        { households: null, counts: { all: count(80) } }, // no household data
      ],
      ["all"],
    );
    expect(result.medians.all).toEqual({ ratePer1000Households: 50, districts: 3 });
    expect(result.districts.map((d) => d.all?.index)).toEqual([1, 2, 0.6, null, null]);
    expect(result.districts.map((d) => d.all?.reason)).toEqual([null, null, null, "suppressed", "no_household_data"]);
    expect(result.districts[1]?.all).toEqual({ count: 200, ratePer1000Households: 100, index: 2, reason: null });
  });

  it("averages the two middle rates for an even number of districts", () => {
    const result = demandIndex(
      [
        { households: 1000, counts: { all: count(10) } },
        { households: 1000, counts: { all: count(30) } },
      ],
      ["all"],
    );
    expect(result.medians.all?.ratePer1000Households).toBe(20);
    expect(result.districts.map((d) => d.all?.index)).toEqual([0.5, 1.5]);
  });
});
