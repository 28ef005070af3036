import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCALES } from "../core/domain/vocabulary.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { inputsTable, measureInputs, type Results, readmePath, TASKS, tableInReadme } from "../scripts/ussd-inputs.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let db: TestDatabase;
let results: Results;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  results = await measureInputs(db);
}, 600_000);
afterAll(() => db.close());

describe("the inputs each citizen task takes on USSD at the default budget", () => {
  it("is what the README's table says (regenerate it with npm run ussd:inputs)", async () => {
    const readme = await readFile(readmePath, "utf8");
    expect(tableInReadme(readme)).toBe(inputsTable(results));
  });

  it("is fewer for a returning caller than on a first call, and fewer again with the dialled shortcut", () => {
    for (const task of TASKS) {
      for (const locale of LOCALES) {
        const r = results[task.item]?.[locale];
        const where = `${task.item} ${locale}`;
        expect(r, where).toBeDefined();
        if (!r) continue;
        expect(r.returning.inputs, where).toBeLessThan(r.first.inputs);
        // The shortcut saves exactly the menu choice.
        expect(r.shortcut.inputs, where).toBe(r.returning.inputs - 1);
      }
    }
  });
});
