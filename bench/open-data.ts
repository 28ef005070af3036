/**
 * How long one open-data snapshot takes to compute (aggregation, suppression, demand index) on a
 * synthetic national register: `npx tsx bench/open-data.ts [applications]` (default 1,000,000, plus
 * half as many visit requests over 208 districts and 12 months). The database read comes on top.
 */
import { buildSnapshot } from "../core/opendata/publish.js";
import type { OpenDataInput } from "../core/opendata/types.js";

const applications = Number(process.argv[2] ?? 1_000_000);
const names = { uz: "x", "uz-Cyrl": "x", ru: "x" };
const YEAR = 365 * 86_400_000;
const now = new Date();
const start = now.getTime() - YEAR;
const statuses = ["submitted", "under_review", "approved", "paid", "rejected", "withdrawn"];

const input: OpenDataInput = {
  regions: Array.from({ length: 14 }, (_, i) => ({ id: i + 1, code: String(1700 + i), iso: null, names })),
  districts: Array.from({ length: 208 }, (_, i) => ({
    id: i + 1,
    code: String(170_000 + i),
    regionId: (i % 14) + 1,
    names,
    households: 10_000 + 37 * i,
    mahallas: 40,
    mahallasWithHouseholds: 40,
  })),
  benefitTypes: Array.from({ length: 11 }, (_, i) => ({ id: i + 1, code: `B${i}`, sortOrder: i, names })),
  visitReasons: Array.from({ length: 6 }, (_, i) => ({ id: i + 1, code: `R${i}`, sortOrder: i, names })),
  applications: Array.from({ length: applications }, (_, i) => {
    const submittedAt = new Date(start + ((i * 7_919_993) % YEAR));
    return {
      citizenId: i % Math.ceil(applications / 1.6),
      districtId: ((i * 31) % 208) + 1,
      benefitTypeId: (i % 11) + 1,
      status: statuses[i % 6] as string,
      channel: i % 3 ? "telegram" : "ussd",
      locale: i % 4 ? "uz" : "ru",
      submittedAt,
      decidedAt: i % 2 ? new Date(submittedAt.getTime() + (i % 40) * 86_400_000) : null,
    };
  }),
  appeals: [],
  visits: Array.from({ length: applications / 2 }, (_, i) => {
    const createdAt = new Date(start + ((i * 9_999_991) % YEAR));
    return {
      citizenId: i,
      districtId: ((i * 17) % 208) + 1,
      reasonId: (i % 6) + 1,
      status: i % 3 ? "done" : "requested",
      channel: "telegram",
      locale: "uz",
      createdAt,
      doneAt: i % 3 ? new Date(createdAt.getTime() + (i % 200) * 3_600_000) : null,
    };
  }),
};

const began = performance.now();
const snapshot = await buildSnapshot(input, now);
const ms = performance.now() - began;
const hidden = snapshot.regions.flatMap((r) => r.districts).filter((d) => d.figures["applications.total"]?.suppressed);
console.log(
  `${applications} applications, ${input.visits.length} visit requests: snapshot in ${Math.round(ms)} ms ` +
    `(${snapshot.months.length} months, ${hidden.length} district totals suppressed)`,
);
