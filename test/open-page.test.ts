import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../app/config.js";
import { createAppCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { Translator } from "../core/i18n/index.js";
import { launchChromium } from "./support/browser.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { generateOpenDataWorld } from "./support/open-data.js";
import { requireServer } from "./support/servers.js";
import { projectRoot } from "./support/spawn.js";

/* The public /open page in a real headless Chromium (Debian's, never a downloaded build). */

type Json = Record<string, unknown>;
type Cell = { value: number | null; suppressed: boolean };

/** Reads a number as the page prints it: grouped digits, decimal comma, percent; a dash is hidden. */
function shown(text: string): number | null {
  if (text.includes("—")) return null;
  const t = text.replace(/[\s\u00a0]/g, "");
  if (t.endsWith("%")) return Number(t.slice(0, -1));
  return Number(t.replace(",", "."));
}

/** What the page must print for an API cell, in the page's units (percent for shares). */
function printed(measure: string, cell: Cell | undefined): number | null {
  if (!cell || cell.value === null) return null;
  return /share/i.test(measure) ? Math.round(cell.value * 100) : cell.value;
}

const cellAt = (figures: Json, measure: string) =>
  measure.split(".").reduce<unknown>((node, key) => (node as Json)[key], figures) as Cell;

interface Row {
  key: string;
  cells: { measure: string; text: string }[];
}

async function tableRows(page: Page, selector: string, attribute: string): Promise<Row[]> {
  return page.$$eval(
    `${selector} tr[${attribute}]`,
    (trs, attr) =>
      trs.map((tr) => ({
        key: tr.getAttribute(attr) as string,
        cells: [...tr.querySelectorAll("td")].map((td) => ({
          measure: td.dataset.measure as string,
          text: td.textContent ?? "",
        })),
      })),
    attribute,
  );
}

requireServer("chromium").describe("public open-data page in Chromium", () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  const translator = new Translator();
  const api = async (path: string) => (await (await fetch(`${base}${path}`)).json()) as Json;

  beforeAll(async () => {
    db = await createTestDatabase();
    await generateOpenDataWorld(db.prisma, { citizens: [600, 350, 400, 150, 30, 12, 4], seed: 7 });
    const config = loadConfig({ NODE_ENV: "test" });
    app = await buildServer({ config, db, logger: createLogger("silent"), core: createAppCore(config, db) });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
    // The first request computes and audits the release; the page loads then come from it.
    await api("/open/v1/regions");
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
  });

  /** Every number of the summary and district tables against the JSON API. */
  async function expectNumbersEqualApi(page: Page) {
    const regions = await api("/open/v1/regions");
    const demand = await api("/open/v1/demand-index");
    let compared = 0;
    let published = 0;
    for (const row of await tableRows(page, "#summary", "data-region")) {
      const unit =
        row.key === "UZ"
          ? (regions.national as Json)
          : ((regions.regions as Json[]).find((r) => r.code === row.key) as Json);
      expect(row.cells.map((c) => c.measure)).toEqual([
        "applications.total",
        "applications.approvalShare",
        "applications.medianDaysToDecision",
        "visits.total",
        "visits.shareDoneWithin3WorkingDays",
      ]);
      for (const c of row.cells) {
        const want = printed(c.measure, cellAt(unit.figures as Json, c.measure));
        expect(shown(c.text), `${row.key} ${c.measure}: "${c.text}"`).toBe(want);
        compared++;
        if (want !== null) published++;
      }
    }
    expect(compared).toBe(15 * 5);
    for (const region of regions.regions as Json[]) {
      const body = await api(`/open/v1/regions/${region.code}/districts`);
      const rows = await tableRows(page, `section[data-region="${region.code}"] table`, "data-district");
      expect(rows.map((r) => r.key)).toEqual((body.districts as Json[]).map((d) => d.code));
      for (const row of rows) {
        const district = (body.districts as Json[]).find((d) => d.code === row.key) as Json;
        const index = (demand.districts as Json[]).find((d) => d.code === row.key) as Json;
        for (const c of row.cells) {
          const want =
            c.measure === "demandIndex"
              ? (((index.index as Json)["requests.total"] as Json).index as number | null)
              : printed(c.measure, cellAt(district.figures as Json, c.measure));
          expect(shown(c.text), `${row.key} ${c.measure}: "${c.text}"`).toBe(want);
          compared++;
          if (want !== null) published++;
        }
      }
    }
    // The generated districts publish real numbers, not only dashes.
    expect(published).toBeGreaterThan(30);
  }

  async function expectNoSeriousAxeViolations(page: Page) {
    await page.addScriptTag({ path: join(projectRoot, "node_modules/axe-core/axe.min.js") });
    const violations = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: unknown[] }> } }).axe;
      const result = await axe.run();
      return (result.violations as { id: string; impact: string; nodes: { target: string[] }[] }[]).map((v) => ({
        id: v.id,
        impact: v.impact,
        targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
      }));
    });
    expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
  }

  it("renders in Uzbek on a 360 px phone without horizontal scrolling, with the API's numbers", async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 780 } });
    try {
      const res = await page.goto(`${base}/open`);
      expect(res?.status()).toBe(200);
      expect(await page.getAttribute("html", "lang")).toBe("uz");
      expect(await page.textContent("h1")).toBe(translator.t("uz", "open.title"));
      expect(await page.locator("h2").count()).toBeGreaterThanOrEqual(4);
      expect(await page.locator("table caption").count()).toBe(15);
      expect(await page.locator("svg[role=img] title").count()).toBeGreaterThan(0);
      const width = await page.evaluate(() => {
        const g = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number } };
        };
        return { scroll: g.document.documentElement.scrollWidth, viewport: g.innerWidth };
      });
      expect(width.scroll).toBeLessThanOrEqual(width.viewport);
      await expectNumbersEqualApi(page);
      await expectNoSeriousAxeViolations(page);
    } finally {
      await page.close();
    }
  });

  it("switches to Russian through its language link and keeps the same numbers", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`${base}/open?lang=uz`);
      await Promise.all([page.waitForURL(/lang=ru/), page.click('nav a[hreflang="ru"]')]);
      expect(await page.getAttribute("html", "lang")).toBe("ru");
      expect(await page.textContent("h1")).toBe(translator.t("ru", "open.title"));
      expect(await page.getAttribute('nav a[hreflang="ru"]', "aria-current")).toBe("page");
      expect(await page.textContent("#summary caption")).toBe(translator.t("ru", "open.summary_caption"));
      await expectNumbersEqualApi(page);
      await expectNoSeriousAxeViolations(page);

      await Promise.all([page.waitForURL(/lang=uz$/), page.click('nav a[hreflang="uz"]')]);
      expect(await page.getAttribute("html", "lang")).toBe("uz");
    } finally {
      await page.close();
    }
  });

  it("shows each region's service quality in a table equal to the API and a chart whose title spells it out", async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 780 } });
    try {
      await page.goto(`${base}/open?lang=ru`);
      const quality = await api("/open/v1/service-quality");
      const regions = quality.regions as Json[];
      const rows = await tableRows(page, "#quality", "data-quality-region");
      expect(rows.map((r) => r.key)).toEqual([...regions.map((r) => r.code), "UZ"]);
      let published = 0;
      for (const row of rows) {
        const unit = row.key === "UZ" ? (quality.national as Json) : (regions.find((r) => r.code === row.key) as Json);
        expect(row.cells).toHaveLength(9);
        for (const c of row.cells) {
          const want = printed(c.measure, cellAt(unit.figures as Json, c.measure));
          expect(shown(c.text), `${row.key} ${c.measure}: "${c.text}"`).toBe(want);
          if (want !== null) published++;
        }
      }
      // The generated applications and visits are decided and accepted, so some shares are published.
      expect(published).toBeGreaterThan(0);
      // The table is named by its heading (it has no caption of its own).
      expect(await page.getAttribute("#quality", "aria-labelledby")).toBe("quality-heading");
      expect(await page.textContent("#quality-heading")).toBe(translator.t("ru", "open.quality_heading"));
      const charts = await page.$$eval("figure[data-quality-chart] svg[role=img]", (svgs) =>
        svgs.map((svg) => ({
          code: svg.closest("figure")?.getAttribute("data-quality-chart"),
          title: svg.querySelector("title")?.textContent ?? "",
          labelledBy: svg.getAttribute("aria-labelledby"),
          titleId: svg.querySelector("title")?.id,
          height: svg.getBoundingClientRect().height,
        })),
      );
      expect(charts.map((c) => c.code)).toEqual(regions.map((r) => r.code));
      for (const chart of charts) {
        const figures = (regions.find((r) => r.code === chart.code) as Json).figures as Json;
        expect(chart.labelledBy).toBe(chart.titleId);
        expect(chart.height).toBeGreaterThan(0);
        for (const measure of ["decisions.shareWithinDeadline", "visits.shareAcceptedWithinDeadline"]) {
          const want = printed(measure, cellAt(figures, measure));
          expect(chart.title).toContain(want === null ? translator.t("ru", "open.suppressed") : `${want}%`);
        }
      }
      await expectNoSeriousAxeViolations(page);
    } finally {
      await page.close();
    }
  });

  it("also serves Uzbek Cyrillic when asked for", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/open?lang=uz-Cyrl`);
      expect(await page.getAttribute("html", "lang")).toBe("uz-Cyrl");
      expect(await page.textContent("h1")).toBe(translator.t("uz-Cyrl", "open.title"));
    } finally {
      await page.close();
    }
  });
});
