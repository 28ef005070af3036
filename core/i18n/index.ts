import { readFileSync } from "node:fs";
import { join } from "node:path";
import i18next, { type i18n } from "i18next";
import { localesDir } from "../db/paths.js";
import type { Locale, Param, Params, Text } from "../domain/vocabulary.js";
import { LOCALES } from "../domain/vocabulary.js";
import { formatDate, formatSum } from "./format.js";

export type Resources = Record<string, unknown>;

/** i18next's `{{name}}` (the locales use no formats, nesting or unescaped forms; test/locales checks). */
const PLACEHOLDER = /\{\{\s*([\w.]+)\s*\}\}/g;

export function loadResources(dir = localesDir): Record<Locale, Resources> {
  return Object.fromEntries(
    LOCALES.map((l) => [l, JSON.parse(readFileSync(join(dir, `${l}.json`), "utf8")) as Resources]),
  ) as Record<Locale, Resources>;
}

/**
 * Turns channel-neutral Text into words. One instance serves every request; it is synchronous
 * because resources are loaded once at start-up.
 */
export class Translator {
  private readonly i18n: i18n;
  /*
   * Resources never change after construction, and every USSD and Telegram screen translates its
   * texts on every step: each lookup i18next would repeat is kept once it has been made.
   */
  /** Texts without parameters, once translated: most of a screen, on every step. */
  private readonly plain = new Map<string, string>();
  /** Templates cut at their placeholders, for texts with parameters. */
  private readonly templates = new Map<string, Template>();
  private readonly known = new Map<string, boolean>();
  /** Plural texts (i18next chooses the form) by their values; bounded, since values vary. */
  private readonly plurals = new Map<string, string>();

  constructor(resources: Record<Locale, Resources> = loadResources()) {
    this.i18n = i18next.createInstance();
    void this.i18n.init({
      initAsync: false,
      resources: Object.fromEntries(LOCALES.map((l) => [l, { translation: resources[l] }])),
      lng: "uz",
      fallbackLng: "uz",
      supportedLngs: [...LOCALES],
      interpolation: { escapeValue: false },
      returnNull: false,
      showSupportNotice: false,
    } as Parameters<i18n["init"]>[0]);
  }

  t(locale: Locale, key: string, params?: Params): string {
    if (params) {
      const values = this.resolveParams(locale, params);
      // Plural forms are i18next's to choose; any other text is its template with the values in.
      if ("count" in values) return this.plural(locale, key, values);
      const { literals, names, raw } = this.template(locale, key);
      let out = literals[0] as string;
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        out += (Object.hasOwn(values, name) ? String(values[name]) : (raw[i] as string)) + (literals[i + 1] as string);
      }
      return out;
    }
    const cacheKey = `${locale}:${key}`;
    let value = this.plain.get(cacheKey);
    if (value === undefined) {
      value = this.i18n.t(key, { lng: locale }) as string;
      this.plain.set(cacheKey, value);
    }
    return value;
  }

  text(locale: Locale, text: Text): string {
    return "names" in text ? text.names[locale] : this.t(locale, text.key, text.params);
  }

  has(locale: Locale, key: string): boolean {
    const cacheKey = `${locale}:${key}`;
    let value = this.known.get(cacheKey);
    if (value === undefined) {
      value = this.i18n.exists(key, { lng: locale, fallbackLng: false });
      this.known.set(cacheKey, value);
    }
    return value;
  }

  private plural(locale: Locale, key: string, values: Record<string, string | number>): string {
    const cacheKey = JSON.stringify([locale, key, values]);
    let value = this.plurals.get(cacheKey);
    if (value === undefined) {
      value = this.i18n.t(key, { lng: locale, ...values }) as string;
      if (this.plurals.size >= 1_000) this.plurals.clear();
      this.plurals.set(cacheKey, value);
    }
    return value;
  }

  private template(locale: Locale, key: string): Template {
    const cacheKey = `${locale}:${key}`;
    let value = this.templates.get(cacheKey);
    if (value === undefined) {
      value = parseTemplate(this.t(locale, key));
      this.templates.set(cacheKey, value);
    }
    return value;
  }

  private resolveParams(locale: Locale, params: Params | undefined): Record<string, string | number> {
    if (!params) return {};
    const out: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(params)) out[name] = this.param(locale, value);
    return out;
  }

  private param(locale: Locale, value: Param): string | number {
    if (typeof value === "string" || typeof value === "number") return value;
    if ("money" in value) return this.t(locale, "format.money", { amount: formatSum(value.money) });
    if ("date" in value) return formatDate(value.date);
    if ("names" in value) return value.names[locale];
    return this.t(locale, value.t, value.params);
  }
}

/** A template as literal text between its placeholders: `names[i]` (written `raw[i]`) follows `literals[i]`. */
interface Template {
  literals: string[];
  names: string[];
  raw: string[];
}

function parseTemplate(template: string): Template {
  const literals: string[] = [];
  const names: string[] = [];
  const raw: string[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, match.index));
    raw.push(match[0]);
    names.push(match[1] as string);
    last = match.index + match[0].length;
  }
  literals.push(template.slice(last));
  return { literals, names, raw };
}
