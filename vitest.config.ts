import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import LongFirstSequencer from "./test/support/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "core/**/*.test.ts", "bot/**/*.test.ts", "ussd/**/*.test.ts", "app/**/*.test.ts"],
    // Each file gets its own database.
    pool: "forks",
    // One embedded PostgreSQL for the run when DATABASE_URL is unset (test/support/global-setup.ts).
    globalSetup: ["test/support/global-setup.ts"],
    // One file more than there are cores: about a third of a run is files waiting on the clock
    // (rate windows, leases running out, spawned servers starting), and the extra file fills it.
    // On 2 cores the PostgreSQL pass took 440 s with 2 files at a time and 307 s with 3. At most 8:
    // each file holds its own pools and servers on one PostgreSQL.
    maxWorkers: Math.min(availableParallelism() + 1, 8),
    sequence: { sequencer: LongFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { NODE_ENV: "test" },
  },
});
