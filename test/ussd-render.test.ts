import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Locale, Names, Text } from "../core/domain/vocabulary.js";
import { LOCALES } from "../core/domain/vocabulary.js";
import type { PreviousTurn } from "../core/engine/engine.js";
import type { InputSpec, Screen } from "../core/engine/types.js";
import { gsmLength, isGsm7, toGsm7 } from "../core/i18n/gsm.js";
import { decide, newInput, toEvent } from "../ussd/input.js";
import { GSM7_BUDGET, pageCount, renderPages, renderScreen } from "../ussd/render.js";
import { translator } from "./ussd-support.js";

const options = { translator, maxCharsUcs2: 182 };
const same = (value: string): Names => ({ uz: value, "uz-Cyrl": value, ru: value });
const name = (value: string): Text => ({ names: same(value) });

function screen(parts: Partial<Screen> = {}): Screen {
  return {
    body: [name("Title")],
    options: [],
    input: parts.options?.length ? { kind: "choice" } : { kind: "none" },
    nav: { back: true, home: true },
    end: false,
    ...parts,
  };
}

const optionsOf = (labels: string[]) => labels.map((label, i) => ({ key: `k${i + 1}`, label: name(label) }));

/** Option numbers printed on the pages, navigation keys left out. */
function optionNumbers(pages: { text: string }[]): number[] {
  return pages.flatMap((p) =>
    p.text
      .slice(4)
      .split("\n")
      .map((line) => /^(\d+)\. /.exec(line)?.[1])
      .filter((n): n is string => n !== undefined && !["0", "00", "98"].includes(n))
      .map(Number),
  );
}

describe("GSM 7-bit transliteration", () => {
  it("writes Uzbek Latin apostrophes as the ASCII apostrophe", () => {
    expect(toGsm7("Oʻzbekiston, gʻalla, taʼlim, Oʻ")).toBe("O'zbekiston, g'alla, ta'lim, O'");
    expect(isGsm7(toGsm7("Yoʻq, soʻm"))).toBe(true);
    expect(isGsm7("Yoʻq")).toBe(false);
  });

  it("replaces typographic punctuation and drops what cannot be written", () => {
    expect(toGsm7("«Inson» markazi — 1146…")).toBe('"Inson" markazi - 1146...');
    expect(toGsm7("a\u00A0b")).toBe("a b");
    expect(toGsm7("Beşik ç")).toBe("Besik c");
    expect(toGsm7("ok 😀 ✓")).toBe("ok  ");
  });

  it("transliterates Cyrillic into Uzbek Latin on a Latin screen", () => {
    expect(toGsm7("Ўзбекча Ғалла Шаҳар Қўқон")).toBe("O'zbekcha G'alla Shahar Qo'qon");
    expect(toGsm7("Язык / Til")).toBe("Yazyk / Til");
  });

  it("counts extension characters as two septets", () => {
    expect(gsmLength("abc")).toBe(3);
    expect(gsmLength("a€[")).toBe(5);
    expect(isGsm7("€ {} [] ~ ^ | \\")).toBe(true);
    expect(isGsm7("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà")).toBe(true);
  });

  it("always yields text in the 7-bit alphabet", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => isGsm7(toGsm7(s))));
  });
});

describe("rendering a screen", () => {
  it("numbers options from 1 and adds localized Back and Main menu lines", () => {
    const page = renderScreen(screen({ options: optionsOf(["Bir", "Ikki"]) }), "uz", 1, options);
    expect(page.text).toBe("CON Title\n1. Bir\n2. Ikki\n0. Orqaga\n00. Menyu");
    expect(page.encoding).toBe("gsm7");
    const ru = renderScreen(screen({ options: optionsOf(["Один"]) }), "ru", 1, options);
    expect(ru.text).toBe("CON Title\n1. Один\n0. Назад\n00. Меню");
    expect(ru.encoding).toBe("ucs2");
  });

  it("closes a final screen with END and no navigation", () => {
    const page = renderScreen(screen({ end: true, body: [{ key: "apply.cancelled" }] }), "uz", 1, options);
    expect(page.text).toBe("END Ariza bekor qilindi.");
  });

  it("puts the error line first", () => {
    const page = renderScreen(
      screen({ error: { key: "errors.choose_option" }, options: optionsOf(["A"]) }),
      "uz",
      1,
      options,
    );
    expect(page.text.split("\n").slice(0, 2)).toEqual(["CON Ro'yxatdagi raqamlardan birini tanlang.", "Title"]);
  });

  it("writes Uzbek Latin screens in 7 bits, with 7-bit names for the other scripts", () => {
    const language = screen({
      body: [{ key: "onboarding.choose_language" }],
      options: LOCALES.map((l) => ({ key: l, label: { key: `language.name.${l}` } })),
      nav: { back: false, home: false },
    });
    const page = renderScreen(language, "uz", 1, options);
    expect(page.text).toBe(
      "CON Tilni tanlang / Vyberite yazyk:\n1. O'zbekcha (lotin)\n2. O'zbekcha (kirill)\n3. Russkiy yazyk",
    );
    expect(isGsm7(page.text)).toBe(true);
    // In Cyrillic the names stay as they are.
    expect(renderScreen(language, "ru", 1, options).text).toContain("2. Ўзбекча");
  });

  it("does not offer Back where 0 is an answer", () => {
    const input: InputSpec = { kind: "text", format: "digits", maxLength: 5 };
    expect(renderScreen(screen({ input }), "uz", 1, options).text).toBe("CON Title\n00. Menyu");
    const pinfl: InputSpec = { kind: "text", format: "pinfl", maxLength: 14 };
    expect(renderScreen(screen({ input: pinfl }), "uz", 1, options).text).toContain("0. Orqaga");
  });

  it("pages a long list with 98 and 0, numbering each option by its place in the whole list", () => {
    const labels = Array.from({ length: 30 }, (_, i) => `Mahalla number ${i + 1} of the district`);
    const long = screen({ options: optionsOf(labels) });
    const pages = renderPages(long, "uz", options);
    expect(pages.length).toBeGreaterThan(3);
    expect(optionNumbers(pages)).toEqual(labels.map((_, i) => i + 1));
    pages.forEach((page, i) => {
      expect(page.length).toBeLessThanOrEqual(GSM7_BUDGET);
      expect(page.text.includes("\n98. Keyingi")).toBe(i < pages.length - 1);
      // 0 is "back" everywhere: one screen back on the first page, one page back on the others.
      expect(page.text.includes("\n0. Orqaga")).toBe(true);
      expect(page.text.endsWith("00. Menyu")).toBe(true);
    });
    expect(pageCount(long, "uz", options)).toBe(pages.length);
    // A page past the end shows the last one.
    expect(renderScreen(long, "uz", 99, options)).toEqual(pages.at(-1));
  });

  it("keeps a final screen open until its last page when it is too long for one", () => {
    const body = Array.from({ length: 8 }, (_, i) => name(`28.0${i}.2025 12 345 678,99 so'm Parvarishlovchi onalarga`));
    const pages = renderPages(screen({ end: true, body }), "uz", options);
    expect(pages.length).toBe(3);
    expect(pages.slice(0, -1).every((p) => p.text.startsWith("CON ") && p.text.includes("\n98. "))).toBe(true);
    expect(pages.at(-1)?.text.startsWith("END ")).toBe(true);
    expect(pages.at(-1)?.text).not.toMatch(/\n0\. /);
    const lines = pages.flatMap((p) => p.text.slice(4).split("\n")).filter((l) => !/^(0|98)\. /.test(l));
    expect(lines).toEqual(body.map((t) => ("names" in t ? t.names.uz : "")));
  });

  it("splits a paragraph longer than a page at word boundaries, losing no word", () => {
    const words = Array.from({ length: 120 }, (_, i) => `soz${i}`);
    const pages = renderPages(screen({ body: [name(words.join(" "))] }), "ru", { translator, maxCharsUcs2: 70 });
    for (const page of pages) expect(page.text.length).toBeLessThanOrEqual(70);
    const text = pages
      .flatMap((p) => p.text.slice(4).split("\n"))
      .filter((l) => !/^(0|00|98)\. /.test(l))
      .join(" ");
    expect(text.split(" ")).toEqual(words);
  });

  it("never exceeds the budget and shows every option once, whatever the screen", () => {
    const label = fc.string({ minLength: 1, maxLength: 90 }).filter((s) => s.trim().length > 0);
    fc.assert(
      fc.property(
        fc.array(label, { maxLength: 4 }),
        fc.array(label, { maxLength: 40 }),
        fc.constantFrom<Locale>(...LOCALES),
        fc.integer({ min: 60, max: 182 }),
        fc.boolean(),
        fc.boolean(),
        fc.option(label, { nil: undefined }),
        (body, labels, locale, budget, end, back, error) => {
          const s = screen({
            body: body.map(name),
            options: optionsOf(labels.map((l) => l.replace(/\s+/g, " ").trim() || "x")),
            end,
            nav: { back, home: !end },
            ...(error ? { error: name(error) } : {}),
          });
          const pages = renderPages(s, locale, { translator, maxCharsUcs2: budget });
          for (const [i, page] of pages.entries()) {
            expect(page.length).toBeLessThanOrEqual(page.encoding === "gsm7" ? GSM7_BUDGET : budget);
            expect(page.text.startsWith(end && i === pages.length - 1 ? "END " : "CON ")).toBe(true);
            if (locale === "uz") expect(isGsm7(page.text)).toBe(true);
          }
          // Numbered lines in the body could look like options: only check lists the body cannot mimic.
          if (body.every((b) => !/^\s*\d/.test(b)) && !error?.match(/^\s*\d/)) {
            const numbers = optionNumbers(pages).filter((n) => n <= labels.length);
            expect(numbers).toEqual(labels.map((_, i) => i + 1));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("reading the gateway's text", () => {
  it("takes what follows the text already seen, even when it holds a star", () => {
    expect(newInput("", "1")).toEqual({ retry: false, input: "1" });
    expect(newInput("1*4", "1*4*2")).toEqual({ retry: false, input: "2" });
    expect(newInput("1*4*2", "1*4*2*12*3")).toEqual({ retry: false, input: "12*3" });
    expect(newInput("1*4", "1*4")).toEqual({ retry: true });
    expect(newInput("", "")).toEqual({ retry: true });
    // A history that does not match: only the last segment is trusted.
    expect(newInput("1*4", "2*5*7")).toEqual({ retry: false, input: "7" });
  });

  const menu = screen({ options: optionsOf(["A", "B", "C"]), nav: { back: false, home: false } });
  const turn = (s: Screen, seen: string, page = 1): PreviousTurn => ({
    screen: s,
    view: { seen, page },
    locale: "uz",
    steps: 1,
  });
  const pages = (n: number) => () => n;

  it("starts a session, with the dialled shortcut when there is one", () => {
    expect(decide("", undefined, pages(1))).toEqual({ event: { type: "start" }, view: { seen: "", page: 1 } });
    expect(decide("3", undefined, pages(1))).toEqual({
      event: { type: "start", shortcut: "3" },
      view: { seen: "3", page: 1 },
    });
  });

  it("answers a retry with the stored screen", () => {
    expect(decide("1*2", turn(menu, "1*2"), pages(1))).toEqual({ replay: true });
  });

  it("turns pages with 98 and 0, and treats 98 on the last page as an answer", () => {
    expect(decide("1*98", turn(menu, "1"), pages(3))).toEqual({ redisplay: true, view: { seen: "1*98", page: 2 } });
    expect(decide("1*98*0", turn(menu, "1*98", 2), pages(3))).toEqual({
      redisplay: true,
      view: { seen: "1*98*0", page: 1 },
    });
    expect(decide("1*98", turn(menu, "1", 3), pages(3))).toEqual({
      event: { type: "text", value: "98" },
      view: { seen: "1*98", page: 1 },
    });
  });

  it("maps 0 to Back, 00 to the main menu and a number to the option at that place", () => {
    expect(toEvent("0", menu)).toEqual({ type: "back" });
    expect(toEvent("00", menu)).toEqual({ type: "home" });
    expect(toEvent("2", menu)).toEqual({ type: "choose", key: "k2" });
    expect(toEvent("4", menu)).toEqual({ type: "text", value: "4" });
    expect(toEvent("abc", menu)).toEqual({ type: "text", value: "abc" });
  });

  it("reads every input as text where text is asked, and 0 as an answer where a number is", () => {
    const pinfl = screen({ input: { kind: "text", format: "pinfl", maxLength: 14 } });
    expect(toEvent("1", pinfl)).toEqual({ type: "text", value: "1" });
    expect(toEvent("0", pinfl)).toEqual({ type: "back" });
    const digits = screen({ input: { kind: "text", format: "digits", maxLength: 5 } });
    expect(toEvent("0", digits)).toEqual({ type: "text", value: "0" });
    expect(toEvent("00", digits)).toEqual({ type: "home" });
    const filter = screen({
      options: optionsOf(["Bodomzor", "Navbahor"]),
      input: { kind: "choice-or-text", format: "filter" },
    });
    expect(toEvent("2", filter)).toEqual({ type: "choose", key: "k2" });
    expect(toEvent("Bo", filter)).toEqual({ type: "text", value: "Bo" });
  });

  it("shows the same page again for an empty input", () => {
    expect(decide("1*", turn(menu, "1", 2), pages(3))).toEqual({ redisplay: true, view: { seen: "1*", page: 2 } });
  });
});
