import type { Locale, Text } from "../core/domain/vocabulary.js";
import type { Option, Screen } from "../core/engine/types.js";
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
  /** Its length as the screen's encoding counts it. */
  width: number;
  /** Body text may continue on the next page; an option line is kept whole. */
  splittable: boolean;
}

/** What a page needs besides its lines: the screen's navigation and the encoding's measure. */
interface Frame {
  screen: Screen;
  labels: LocaleTexts["labels"];
  budget: number;
  measure: (text: string) => number;
}

interface Layout extends Frame {
  pages: string[][];
  encoding: Encoding;
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
  const lines = [...(layout.pages[index] ?? []), ...navLines(layout, index, last)];
  let text = prefixOf(layout.screen, last) + lines.join("\n");
  let length = layout.measure(text);
  // The layout already fits; this only guards against a budget too small for the navigation itself.
  if (length > layout.budget) {
    text = cut(text, layout.budget, layout.measure);
    length = layout.measure(text);
  }
  return { text, page: index + 1, pages: count, encoding: layout.encoding, length, budget: layout.budget };
}

/** How many pages the screen takes: the input mapping needs it to tell "98" from an answer. */
export function pageCount(screen: Screen, locale: Locale, options: RenderOptions): number {
  return layOut(screen, locale, options).pages.length;
}

/**
 * What a locale's screens share, worked out once per translator: the navigation words, and every
 * text without parameters as the screen shows it (most of a screen, on every step).
 */
interface LocaleTexts {
  labels: { back: string; previous: string; home: string; more: string };
  /** The navigation words are all in the 7-bit alphabet. */
  labelsGsm7: boolean;
  /** A plain text (by key) as body lines: split, tidied, empty lines dropped. */
  lines: Map<string, string[]>;
  /** A plain text (by key) as an option's label: one tidied line. */
  labelOf: Map<string, string>;
}

const localeTexts = new WeakMap<Translator, Map<Locale, LocaleTexts>>();

/** The text in the locale's words; Uzbek Latin in the 7-bit alphabet, with its USSD wording if it has one. */
function say(translator: Translator, locale: Locale, text: Text): string {
  if (locale !== "uz") return translator.text(locale, text);
  if ("key" in text && translator.has(locale, `ussd.gsm.${text.key}`)) {
    return toGsm7(translator.t(locale, `ussd.gsm.${text.key}`, text.params));
  }
  return toGsm7(translator.text(locale, text));
}

function textsOf(translator: Translator, locale: Locale): LocaleTexts {
  let byLocale = localeTexts.get(translator);
  if (!byLocale) {
    byLocale = new Map();
    localeTexts.set(translator, byLocale);
  }
  let texts = byLocale.get(locale);
  if (!texts) {
    // USSD has its own, shorter navigation words: they are repeated on every page of an 80-character
    // screen, where the bot's "Main menu" would take a fifth of it.
    const labels = {
      back: say(translator, locale, { key: "ussd.nav.back" }),
      previous: say(translator, locale, { key: "ussd.nav.previous" }),
      home: say(translator, locale, { key: "ussd.nav.home" }),
      more: say(translator, locale, { key: "ussd.nav.more" }),
    };
    texts = { labels, labelsGsm7: isGsm7(Object.values(labels).join("\n")), lines: new Map(), labelOf: new Map() };
    byLocale.set(locale, texts);
  }
  return texts;
}

const linesOf = (said: string): string[] => said.split("\n").map(tidy).filter(Boolean);

/*
 * layOut runs on every USSD step: it builds no closures of its own (a function made per call is
 * an allocation, and under tsx a named one is also given its name at run time).
 */

function bodyLines(translator: Translator, locale: Locale, texts: LocaleTexts, text: Text, into: string[]): void {
  let lines: string[] | undefined;
  if ("key" in text && text.params === undefined) {
    lines = texts.lines.get(text.key);
    if (!lines) {
      lines = linesOf(say(translator, locale, text));
      texts.lines.set(text.key, lines);
    }
  } else lines = linesOf(say(translator, locale, text));
  for (const line of lines) into.push(line);
}

function labelLine(translator: Translator, locale: Locale, texts: LocaleTexts, text: Text): string {
  if (!("key" in text) || text.params !== undefined) return tidy(say(translator, locale, text));
  let line = texts.labelOf.get(text.key);
  if (line === undefined) {
    line = tidy(say(translator, locale, text));
    texts.labelOf.set(text.key, line);
  }
  return line;
}

/** The navigation lines of page `index` (`last`: the screen's last page). */
function navLines({ screen, labels }: Frame, index: number, last: boolean): string[] {
  // The last page of a final screen closes the session: nothing more can be typed there.
  if (screen.end && last) return [];
  const lines: string[] = [];
  if (!last) lines.push(`${NAV_KEYS.next}. ${labels.more}`);
  if (index > 0) lines.push(`${NAV_KEYS.back}. ${labels.previous}`);
  if (screen.end) return lines;
  if (index === 0 && screen.nav.back && !zeroIsAnswer(screen)) lines.push(`${NAV_KEYS.back}. ${labels.back}`);
  if (screen.nav.home) lines.push(`${NAV_KEYS.home}. ${labels.home}`);
  return lines;
}

const prefixOf = (screen: Screen, last: boolean) => (screen.end && last ? END : CON);

function layOut(screen: Screen, locale: Locale, options: RenderOptions): Layout {
  const { translator } = options;
  const texts = textsOf(translator, locale);
  const lines: string[] = [];
  if (screen.error) bodyLines(translator, locale, texts, screen.error, lines);
  for (const t of screen.body) bodyLines(translator, locale, texts, t, lines);
  const bodyCount = lines.length;
  for (let i = 0; i < screen.options.length; i++) {
    lines.push(`${i + 1}. ${labelLine(translator, locale, texts, (screen.options[i] as Option).label)}`);
  }

  // Uzbek Latin always goes out in 7-bit; other languages only when the whole screen (its lines
  // and the navigation words) happens to fit in it.
  const encoding: Encoding = locale === "uz" || (texts.labelsGsm7 && lines.every(isGsm7)) ? "gsm7" : "ucs2";
  const budget = encoding === "gsm7" ? GSM7_BUDGET : options.maxCharsUcs2;
  const measure = encoding === "gsm7" ? gsmLength : ucs2Length;
  const items: Item[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    items[i] = { text, width: measure(text), splittable: i < bodyCount };
  }
  const frame: Frame = { screen, labels: texts.labels, budget, measure };
  return { ...frame, pages: paginate(items, frame), encoding };
}

const ucs2Length = (text: string) => text.length;

/**
 * A page's length: its prefix, its lines and navigation lines, and the line breaks between them.
 * Both encodings' lengths add up over concatenation (a line break never joins two halves of a
 * character), so each line is measured once instead of every candidate page being joined.
 */
function pageWidth(prefixWidth: number, width: number, lines: number, nav: NavSize): number {
  const count = lines + nav.lines;
  return prefixWidth + width + nav.width + (count > 0 ? count - 1 : 0);
}

interface NavSize {
  lines: number;
  width: number;
}

function navSize(frame: Frame, index: number, last: boolean): NavSize {
  const lines = navLines(frame, index, last);
  let width = 0;
  for (const line of lines) width += frame.measure(line);
  return { lines: lines.length, width };
}

function paginate(items: Item[], frame: Frame): string[][] {
  const { budget, measure } = frame;
  const pages: string[][] = [];
  const queue = [...items];
  let queueWidth = 0;
  for (const item of queue) queueWidth += item.width;
  const lastPrefix = measure(prefixOf(frame.screen, true));
  const morePrefix = measure(prefixOf(frame.screen, false));
  // Each round fills one page; the bound only protects against a budget smaller than the navigation.
  for (let round = 0; round < 1000; round++) {
    const index = pages.length;
    if (pageWidth(lastPrefix, queueWidth, queue.length, navSize(frame, index, true)) <= budget) {
      pages.push(queue.map((i) => i.text));
      return pages;
    }
    const more = navSize(frame, index, false);
    const page: string[] = [];
    let width = 0;
    while (queue.length > 0) {
      const item = queue[0] as Item;
      if (pageWidth(morePrefix, width + item.width, page.length + 1, more) <= budget) {
        page.push(item.text);
        width += item.width;
        queue.shift();
        queueWidth -= item.width;
        continue;
      }
      // Room left for this line once the page's other lines and the separator are counted.
      const room = budget - pageWidth(morePrefix, width, page.length + 1, more);
      // A line that fits a page of its own moves there whole; a longer one is split, filling
      // what is left of this page when that is worth it.
      const mustSplit = pageWidth(morePrefix, item.width, 1, more) > budget;
      if (item.splittable && (page.length === 0 || (mustSplit && room >= MIN_SPLIT_ROOM))) {
        const [head, tail] = splitWords(item.text, room, measure, page.length === 0);
        if (head) {
          page.push(head);
          const rest: Item = { text: tail, width: measure(tail), splittable: true };
          queue[0] = rest;
          queueWidth += rest.width - item.width;
          if (!tail) queue.shift();
        }
      } else if (page.length === 0) {
        page.push(cut(item.text, room, measure));
        queue.shift();
        queueWidth -= item.width;
      }
      break;
    }
    if (page.length === 0) {
      // Not even one character fits beside the navigation: drop the line rather than loop.
      const dropped = queue.shift();
      if (dropped) queueWidth -= dropped.width;
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
