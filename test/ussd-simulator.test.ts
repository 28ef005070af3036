import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "./support/browser.js";
import { requireServer } from "./support/servers.js";
import { startApp, type TestApp, translator } from "./ussd-support.js";

/** The web phone in a real headless Chromium (Debian's, never a downloaded one). */
requireServer("chromium").describe("the web USSD simulator", () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    t = await startApp();
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Waits until the phone shows a new answer (the state line reads CON or END again). */
  async function answer(page: Page, action: () => Promise<void>): Promise<string> {
    const before = await page.locator("#screen").textContent();
    await action();
    await expect
      .poll(
        async () => {
          const state = (await page.locator("#state").textContent()) ?? "";
          const screen = await page.locator("#screen").textContent();
          return !state.includes("…") && screen !== before;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(true);
    return (await page.locator("#screen").textContent()) ?? "";
  }

  async function reply(page: Page, keys: string): Promise<string> {
    return answer(page, async () => {
      for (const key of keys) await page.click(`.key[data-key="${key}"]`);
      await page.click("#send");
    });
  }

  it("dials, chooses with the keypad and reads the screen, as a feature phone would", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/simulator`);
      await page.fill("#phone", "+998 90 765 43 21");
      const first = await answer(page, () => page.click("#dial"));
      expect(first).toContain("1. O'zbekcha (lotin)");
      expect(first).toContain("3. Russkiy yazyk");

      const menu = await reply(page, "3");
      // At the default 80-character Cyrillic budget the menu takes two pages.
      expect(menu).toContain("1. Подать заявку");
      expect(menu).toContain("98. Далее");
      expect(await reply(page, "98")).toContain("8. Язык / Til");
      expect(await page.locator("#language").textContent()).toBe("Русский");
      expect(await page.locator("#state").textContent()).toBe("CON");

      const benefits = await reply(page, "1");
      expect(benefits).toContain("Выберите вид выплаты");
      expect(benefits).toContain("98. Далее");
      const next = await reply(page, "98");
      expect(next).toMatch(/^2\. /);

      const back = await reply(page, "00");
      expect(back).toContain("Mahalla Connect:");
      const payments = await reply(page, "3");
      expect(payments).toBe(translator.t("ru", "payments.no_card"));
      expect(await page.locator("#state").textContent()).toBe(translator.t("uz", "ussd.simulator.ended"));
      expect(await page.locator("#send").isDisabled()).toBe(true);
      expect(await page.locator("#dial").isEnabled()).toBe(true);
    } finally {
      await page.close();
    }
    const citizen = await t.db.prisma.citizen.findUniqueOrThrow({ where: { phone: "+998907654321" } });
    expect(citizen.locale).toBe("ru");
  });

  it("dials a shortcut typed on the keypad, and records a cancelled session", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/simulator?lang=uz-Cyrl`);
      expect(await page.locator("h1").textContent()).toBe(translator.t("uz-Cyrl", "ussd.simulator.title"));
      await page.fill("#phone", "+998907654321");
      await page.fill("#code", "");
      for (const key of "*1146*2#") await page.click(`.key[data-key="${key}"]`);
      expect(await page.inputValue("#code")).toBe("*1146*2#");
      const status = await answer(page, () => page.click("#dial"));
      expect(status).toBe(translator.t("ru", "status.none"));

      await page.fill("#code", "*1146#");
      const menu = await answer(page, () => page.click("#dial"));
      expect(menu).toContain("2. Статус заявки");
      await page.click("#cancel");
      await expect
        .poll(
          async () => (await t.db.prisma.conversationSession.findMany({ where: { endStatus: "Incomplete" } })).length,
        )
        .toBe(1);
    } finally {
      await page.close();
    }
  });
});
