import { describe, expect, it } from "vitest";
import type { Text } from "../core/domain/vocabulary.js";
import { LOCALES } from "../core/domain/vocabulary.js";
import type { Screen } from "../core/engine/types.js";
import { pageCount, renderPages, renderScreen } from "../ussd/render.js";
import { representativeScreens } from "./support/ussd-screens.js";
import { translator } from "./ussd-support.js";

/**
 * The renderer is tuned for speed (the USSD hot path); these screens, in every language and at the
 * default and the widest UCS-2 budget, must come out byte for byte as the committed file says.
 * A deliberate change of wording or layout updates the file (`npx vitest run -u` on this test).
 */

const UCS2_BUDGETS = [80, 182];
const screens = await representativeScreens();

function keysOf(screen: Screen): string[] {
  const texts: Text[] = [
    ...(screen.error ? [screen.error] : []),
    ...screen.body,
    ...screen.options.map((o) => o.label),
  ];
  // A text with a count is i18next's plural: its forms are the keys that exist.
  return texts.flatMap((t) => ("key" in t ? [t.params && "count" in t.params ? `${t.key}_other` : t.key] : []));
}

describe("USSD rendering of representative screens", () => {
  it("uses only message keys every locale has", () => {
    const missing = screens.flatMap(({ screen }) =>
      keysOf(screen).flatMap((key) => LOCALES.filter((l) => !translator.has(l, key)).map((l) => `${l}:${key}`)),
    );
    expect(missing).toEqual([]);
  });

  it("renders every page byte for byte as pinned, in all three languages", async () => {
    const out: string[] = [];
    for (const { name, screen } of screens) {
      for (const locale of LOCALES) {
        for (const maxCharsUcs2 of UCS2_BUDGETS) {
          const options = { translator, maxCharsUcs2 };
          const pages = renderPages(screen, locale, options);
          expect(pageCount(screen, locale, options)).toBe(pages.length);
          for (const page of pages) {
            // A single page asked for directly is the same page the whole rendering holds.
            expect(renderScreen(screen, locale, page.page, options)).toEqual(page);
            out.push(
              `=== ${name} | ${locale} | ucs2 ${maxCharsUcs2} | page ${page.page}/${page.pages} | ${page.encoding} ${page.length}/${page.budget}`,
              page.text,
            );
          }
        }
      }
    }
    await expect(`${out.join("\n")}\n`).toMatchFileSnapshot("./__snapshots__/ussd-render-pinned.txt");
  });
});
