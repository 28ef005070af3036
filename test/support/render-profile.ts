/**
 * Renders the representative USSD screens (the benchmark's sessions among them) many times, to
 * profile the renderer on its own, away from the database and HTTP:
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/render-prof test/support/render-profile.ts [rounds]
 * Prints the time per render. Each round renders every screen's first page in every language,
 * weighted like the benchmark's mix (payments and menu screens most).
 */
import { performance } from "node:perf_hooks";
import { LOCALES } from "../../core/domain/vocabulary.js";
import { Translator } from "../../core/i18n/index.js";
import { pageCount, renderScreen } from "../../ussd/render.js";
import { representativeScreens } from "./ussd-screens.js";

const rounds = Number(process.argv[2] ?? 100_000);
const translator = new Translator();
const options = { translator, maxCharsUcs2: 80 };
const all = await representativeScreens();
const weight: Record<string, number> = {
  "main menu": 10,
  "payments: card and three payments": 6,
  "status: two applications": 3,
};
const work = all.flatMap(({ name, screen }) => Array.from({ length: weight[name] ?? 1 }, () => screen));

let sink = 0;
const started = performance.now();
for (let r = 0; r < rounds; r++) {
  const screen = work[r % work.length];
  if (!screen) continue;
  const locale = LOCALES[r % LOCALES.length] ?? "uz";
  sink += renderScreen(screen, locale, 1, options).length;
  // One step in ten turns a page: the previous screen is laid out again for its page count.
  if (r % 10 === 0) sink += pageCount(screen, locale, options);
}
const ms = performance.now() - started;
console.log(`${rounds} renders in ${ms.toFixed(0)} ms: ${((ms * 1000) / rounds).toFixed(2)} µs per render (${sink})`);
