import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that start processes (`npm start`, PostgreSQL, Chromium), run thousands of generated
 * cases or wait out real outages: each takes 10–60 s where most files take a few. Vitest runs the
 * longest first when its cache remembers durations; a fresh clone (CI) has no cache and would run
 * them by size, so a run could end on one of them alone while the other workers idle. Only the
 * order depends on this list: a file missing from it still runs, later.
 */
const LONG_FIRST = [
  "test/foundation.test.ts",
  "test/open-heap.test.ts",
  "test/first-start.test.ts",
  "test/faults-kill.test.ts",
  "test/embedded-server.test.ts",
  "test/telegram-durable.test.ts",
  "test/notifications-process.test.ts",
  "test/cluster.test.ts",
  "test/fuzz-telegram.test.ts",
  "test/import-memory.test.ts",
  "test/fuzz-ussd.test.ts",
  "test/open-page.test.ts",
  "test/ussd-budget.test.ts",
  "test/notifications-outage.test.ts",
  "test/setup-commands.test.ts",
];

export default class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const at = LONG_FIRST.indexOf(relative(this.ctx.config.root, spec.moduleId));
      return at === -1 ? LONG_FIRST.length : at;
    };
    // Stable: the base order (the cache's durations, else size) among the rest.
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec);
  }
}
