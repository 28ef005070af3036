import { defineConfig } from "vitest/config";
import LongFirstSequencer from "./test/support/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "core/**/*.test.ts", "bot/**/*.test.ts", "ussd/**/*.test.ts", "app/**/*.test.ts"],
    // Each file gets its own database; two cores run two files at a time.
    pool: "forks",
    // One embedded PostgreSQL for the run when DATABASE_URL is unset (test/support/global-setup.ts).
    globalSetup: ["test/support/global-setup.ts"],
    maxWorkers: 2,
    sequence: { sequencer: LongFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { NODE_ENV: "test" },
  },
});
