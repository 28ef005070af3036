import type { Locale, Text } from "../core/domain/vocabulary.js";
import type { Screen } from "../core/engine/types.js";
import { gsmLength, isGsm7, toGsm7 } from "../core/i18n/gsm.js";
import type { Translator } from "../core/i18n/index.js";
import { NAV_KEYS, zeroIsAnswer } from "./keys.js";

/** What a USSD answer may hold, prefix included, as the gateway counts it. */
export const GSM7_BUDGET = 182;

export interface RenderOptions {
  translator: Translator;
  /** Budget of a screen that needs UCS-2 (Cyrillic): `USSD_MAX_CHARS_UCS2`. */
  maxCharsUcs2: number;
}

export type Encoding = "gsm7" | "ucs2";

export interface RenderedPage {
  /** The answer body: "CON …" or "END …". */
  text: string;
  /** 1-based page shown (clamped to the pages that exist). */
  page: number;
  pages: number;
  encoding: Encoding;
  /** Characters as the gateway counts them (septets for GSM 7-bit). */
  length: number;
  budget: number;
}

interface Item {
  text: string;
  /** Body text may continue on the next page; an option line is kept whole. */
  splittable: boolean;
}

interface Layout {
  pages: string[][];
  encoding: Encoding;
  budget: number;
  measure: (text: string) => number;
  nav: (index: number, last: boolean) => string[];
  prefix: (last: boolean) => string;
}

const CON = "CON ";
/** Below this much room, a long paragraph starts on the next page instead of filling this one. */
const MIN_SPLIT_ROOM = 40;
const END = "END ";

/**
 * Renders one page of a core screen for USSD. Uzbek Latin is written in the GSM 7-bit alphabet;
 * Cyrillic screens go out as UCS-2 with their own budget. Options are numbered by their position
 * in the whole list, so "5." is option 5 on whichever page it appears. A screen longer than the
 * budget is split into pages ("98" next, "0" previous); a final (END) screen that does not fit
 * keeps the session open until its last page.
 */
export function renderScreen(screen: Screen, locale: Locale, page: number, options: RenderOptions): RenderedPage {
  const layout = layOut(screen, locale, options);
  const index = Math.min(Math.max(1, Math.trunc(page) || 1), layout.pages.length) - 1;
  return pageOf(layout, index);
}

/** Every page of the screen, in order (for tests and tools that show the whole screen). */
export function renderPages(screen: Screen, locale: Locale, options: RenderOptions): RenderedPage[] {
  const layout = layOut(screen, locale, options);
  return layout.pages.map((_, index) => pageOf(layout, index));
}

function pageOf(layout: Layout, index: number): RenderedPage {
  const count = layout.pages.length;
  const last = index === count - 1;
  const lines = [...(layout.pages[index] ?? []), ...layout.nav(index, last)];
  let text = layout.prefix(last) + lines.join("\n");
  // The layout already fits; this only guards against a budget too small for the navigation itself.
  if (layout.measure(text) > layout.budget) text = cut(text, layout.budget, layout.measure);
  return {
    text,
    page: index + 1,
    pages: count,
    encoding: layout.encoding,
    length: layout.measure(text),
    budget: layout.budget,
  };
}

/** How many pages the screen takes: the input mapping needs it to tell "98" from an answer. */
export function pageCount(screen: Screen, locale: Locale, options: RenderOptions): number {
  return layOut(screen, locale, options).pages.length;
}

function layOut(screen: Screen, locale: Locale, options: RenderOptions): Layout {
  const { translator } = options;
  // Uzbek Latin always goes out in 7-bit; other languages only when they happen to fit in it.
  const latin = locale === "uz";
  const say = (text: Text): string => {
    let value: string;
    if (latin && "key" in text && translator.has(locale, `ussd.gsm.${text.key}`)) {
      value = translator.t(locale, `ussd.gsm.${text.key}`, text.params);
    } else {
      value = translator.text(locale, text);
    }
    return latin ? toGsm7(value) : value;
  };

  const header = [...(screen.error ? [screen.error] : []), ...screen.body]
    .flatMap((t) => say(t).split("\n"))
    .map(tidy)
    .filter(Boolean)
    .map((text): Item => ({ text, splittable: true }));
  const items: Item[] = [
    ...header,
    ...screen.options.map((o, i): Item => ({ text: `${i + 1}. ${tidy(say(o.label))}`, splittable: false })),
  ];

  // USSD has its own, shorter navigation words: they are repeated on every page of an 80-character
  // screen, where the bot's "Main menu" would take a fifth of it.
  const labels = {
    back: say({ key: "ussd.nav.back" }),
    previous: say({ key: "ussd.nav.previous" }),
    home: say({ key: "ussd.nav.home" }),
    more: say({ key: "ussd.nav.more" }),
  };
  const nav = (index: number, last: boolean): string[] => {
    // The last page of a final screen closes the session: nothing more can be typed there.
    if (screen.end && last) return [];
    const lines: string[] = [];
    if (!last) lines.push(`${NAV_KEYS.next}. ${labels.more}`);
    if (index > 0) lines.push(`${NAV_KEYS.back}. ${labels.previous}`);
    if (screen.end) return lines;
    if (index === 0 && screen.nav.back && !zeroIsAnswer(screen)) lines.push(`${NAV_KEYS.back}. ${labels.back}`);
    if (screen.nav.home) lines.push(`${NAV_KEYS.home}. ${labels.home}`);
    return lines;
  };
  const prefix = (last: boolean) => (screen.end && last ? END : CON);

  const everything = [...items.map((i) => i.text), ...Object.values(labels)].join("\n");
  const encoding: Encoding = latin || isGsm7(everything) ? "gsm7" : "ucs2";
  const budget = encoding === "gsm7" ? GSM7_BUDGET : options.maxCharsUcs2;
  const measure = encoding === "gsm7" ? gsmLength : (text: string) => text.length;

  return { pages: paginate(items, { nav, prefix, budget, measure }), encoding, budget, measure, nav, prefix };
}

function paginate(items: Item[], layout: Omit<Layout, "pages" | "encoding">): string[][] {
  const { nav, prefix, budget, measure } = layout;
  const size = (lines: string[], navLines: string[], last: boolean) =>
    measure(prefix(last) + [...lines, ...navLines].join("\n"));
  const pages: string[][] = [];
  const queue = [...items];
  // Each round fills one page; the bound only protects against a budget smaller than the navigation.
  for (let round = 0; round < 1000; round++) {
    const index = pages.length;
    const rest = queue.map((i) => i.text);
    if (size(rest, nav(index, true), true) <= budget) {
      pages.push(rest);
      return pages;
    }
    const more = nav(index, false);
    const page: string[] = [];
    while (queue.length > 0) {
      const item = queue[0] as Item;
      if (size([...page, item.text], more, false) <= budget) {
        page.push(item.text);
        queue.shift();
        continue;
      }
      // Room left for this line once the page's other lines and the separator are counted.
      const room = budget - size([...page, ""], more, false);
      // A line that fits a page of its own moves there whole; a longer one is split, filling
      // what is left of this page when that is worth it.
      const mustSplit = size([item.text], more, false) > budget;
      if (item.splittable && (page.length === 0 || (mustSplit && room >= MIN_SPLIT_ROOM))) {
        const [head, tail] = splitWords(item.text, room, measure, page.length === 0);
        if (head) {
          page.push(head);
          queue[0] = { text: tail, splittable: true };
          if (!tail) queue.shift();
        }
      } else if (page.length === 0) {
        page.push(cut(item.text, room, measure));
        queue.shift();
      }
      break;
    }
    if (page.length === 0) {
      // Not even one character fits beside the navigation: drop the line rather than loop.
      queue.shift();
    }
    pages.push(page);
  }
  pages.push(queue.map((i) => i.text));
  return pages;
}

/**
 * The longest head of `text` ending at a word boundary that fits `room`. With `force`, a single
 * word longer than the room is cut (a page must carry something).
 */
function splitWords(text: string, room: number, measure: (t: string) => number, force: boolean): [string, string] {
  if (room <= 0) return ["", text];
  let best = -1;
  for (let i = text.indexOf(" "); i > 0; i = text.indexOf(" ", i + 1)) {
    if (measure(text.slice(0, i)) > room) break;
    best = i;
  }
  if (best > 0) return [text.slice(0, best), text.slice(best + 1).trimStart()];
  // A single word longer than the room is only cut when the page would otherwise stay empty.
  if (!force) return ["", text];
  const head = cut(text, room, measure);
  return [head, text.slice(head.length).trimStart()];
}

/** The longest prefix of `text` within `room`, never splitting a surrogate pair. */
function cut(text: string, room: number, measure: (t: string) => number): string {
  let out = "";
  for (const ch of text) {
    if (measure(out + ch) > room) break;
    out += ch;
  }
  return out;
}

const tidy = (line: string) => line.replace(/\s+/g, " ").trim();
