/**
 * The words every layer shares: languages, channels, names in three languages and translatable
 * text. A leaf: it imports nothing, so the domain, services, flows and channels can all use it
 * without depending on the engine.
 */

/** The three languages of the product. `uz` is Uzbek in Latin script, the source language. */
export const LOCALES = ["uz", "uz-Cyrl", "ru"] as const;
export type Locale = (typeof LOCALES)[number];
export const isLocale = (value: unknown): value is Locale => LOCALES.includes(value as Locale);

export type Channel = "ussd" | "telegram";

/** A name held in all three languages (reference data, benefit types, …). */
export type Names = Record<Locale, string>;

/** A value a message interpolates; formatted per locale by core/i18n. */
export type Param =
  | string
  | number
  | { money: number } // tiyin
  | { date: string } // ISO date or timestamp, shown in Asia/Tashkent
  | { names: Names }
  | { t: string; params?: Record<string, Param> }; // another message, translated in place

export type Params = Record<string, Param>;

/** Text on a screen: a message key with parameters, or a name from the database. */
export type Text = { key: string; params?: Params } | { names: Names };

/** Flow data is stored as JSON in the session and in drafts: keep it to plain values. */
export type FlowData = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
