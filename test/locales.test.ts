import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../core/db/paths.js";
import { ALL_QUESTIONS } from "../core/domain/benefit-questions.js";
import type { PinflProblem } from "../core/domain/pinfl.js";
import { SLOT_PARTS } from "../core/domain/slots.js";
import { APPLICATION_STATUSES, VISIT_STATUSES } from "../core/domain/statuses.js";
import { LOCALES, type Locale } from "../core/domain/vocabulary.js";
import { MAIN_MENU } from "../core/flows/menu.js";
import { pluralLocale } from "../core/i18n/format.js";
import { loadResources, Translator } from "../core/i18n/index.js";
import { ANSWER_REFUSALS, FEEDBACK_SUBJECT_KINDS } from "../core/services/feedback.js";

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;
const PLACEHOLDER = /\{\{\s*([^}\s,]+)[^}]*\}\}/g;

/** Shown before the citizen's language is known, so every file carries the same multilingual text. */
const SHARED_KEYS = ["onboarding.choose_language", "language.name.uz", "language.name.uz-Cyrl", "language.name.ru"];

/** Latin-script words allowed in Uzbek Cyrillic: the product's brand and channel names citizens see on screen. */
const LATIN_IN_CYRILLIC = ["Mahalla Connect", "SMS", "Telegram"];
/** References are typed with a Latin letter ("A-1234-5678"); disability groups use Roman numerals (I, II, III). */
const LATIN_TOKENS_IN_CYRILLIC = [/\b[AVP]-\d{4}-\d{4}\b/g, /\b[IVX]+\b/g];

type Forms = Map<string, string>; // plural category ("" for a plain key) → text

interface LocaleTable {
  /** Full key → value, for every leaf. */
  leaves: Map<string, unknown>;
  /** Base key (plural suffix removed) → its forms. */
  bases: Map<string, Forms>;
}

function flatten(tree: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (tree !== null && typeof tree === "object" && !Array.isArray(tree)) {
    for (const [key, value] of Object.entries(tree)) flatten(value, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, tree);
  }
  return out;
}

function tableOf(resources: unknown): LocaleTable {
  const leaves = flatten(resources, "", new Map());
  const bases = new Map<string, Forms>();
  for (const [key, value] of leaves) {
    const category = PLURAL_SUFFIX.exec(key)?.[1] ?? "";
    const base = category ? key.slice(0, -(category.length + 1)) : key;
    const forms = bases.get(base) ?? new Map<string, string>();
    forms.set(category, typeof value === "string" ? value : "");
    bases.set(base, forms);
  }
  return { leaves, bases };
}

const resources = loadResources();
const tables = Object.fromEntries(LOCALES.map((l) => [l, tableOf(resources[l])])) as Record<Locale, LocaleTable>;
const uz = tables.uz;

const variablesOf = (text: string) => [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
const withoutPlaceholders = (text: string) => text.replace(PLACEHOLDER, "");
const variableSet = (forms: Forms) => [...new Set([...forms.values()].flatMap(variablesOf))].sort();
const pluralCategories = (locale: Locale) =>
  [...new Intl.PluralRules(pluralLocale(locale)).resolvedOptions().pluralCategories].sort();
const isShared = (base: string) => SHARED_KEYS.includes(base);

/** Every (locale, key, text) triple, plural forms included, for the script checks. */
function* texts(locale: Locale): Generator<{ key: string; text: string }> {
  for (const [key, value] of tables[locale].leaves) if (typeof value === "string") yield { key, text: value };
}

describe("locale files", () => {
  it("hold only non-empty strings", () => {
    const problems: string[] = [];
    for (const locale of LOCALES) {
      for (const [key, value] of tables[locale].leaves) {
        if (typeof value !== "string" || value.trim() === "")
          problems.push(`${locale}: ${key} = ${JSON.stringify(value)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("have the same keys in every language", () => {
    const all = new Set(LOCALES.flatMap((l) => [...tables[l].bases.keys()]));
    const missing = LOCALES.flatMap((l) =>
      [...all].filter((base) => !tables[l].bases.has(base)).map((b) => `${l}: ${b}`),
    );
    expect(missing).toEqual([]);
  });

  it("give plural keys exactly the categories each language's plural rules need", () => {
    const plural = new Set(
      LOCALES.flatMap((l) => [...tables[l].bases].filter(([, forms]) => !forms.has("")).map(([base]) => base)),
    );
    // A key with both a plain and a suffixed form is ambiguous: i18next would pick one silently.
    const mixed = LOCALES.flatMap((l) =>
      [...tables[l].bases].filter(([, f]) => f.has("") && f.size > 1).map(([b]) => `${l}: ${b}`),
    );
    expect(mixed).toEqual([]);
    const wrong: string[] = [];
    for (const base of plural) {
      for (const locale of LOCALES) {
        const forms = tables[locale].bases.get(base);
        if (!forms) continue; // reported by the missing-keys test
        const have = [...forms.keys()].sort();
        const need = pluralCategories(locale);
        if (have.join() !== need.join()) wrong.push(`${locale}: ${base} has [${have}] but needs [${need}]`);
      }
    }
    expect(wrong).toEqual([]);
    expect(plural).toContain("status.list_title");
  });

  it("use only plain {{name}} placeholders, which the translator fills in itself", () => {
    // No nesting ($t), formats ({{x, number}}), unescaped ({{- x}}) or stray braces: Translator
    // interpolates outside i18next for speed and would show them raw.
    const unsupported: string[] = [];
    for (const locale of LOCALES) {
      for (const { key, text } of texts(locale)) {
        const rest = text.replace(/\{\{\s*[\w.]+\s*\}\}/g, "");
        if (text.includes("$t(") || rest.includes("{{") || rest.includes("}}")) unsupported.push(`${locale}: ${key}`);
      }
    }
    expect(unsupported).toEqual([]);
  });

  it("use the same interpolation variables for a key in every language", () => {
    const differing: string[] = [];
    for (const [base, forms] of uz.bases) {
      const expected = variableSet(forms).join(", ");
      for (const locale of LOCALES) {
        const other = tables[locale].bases.get(base);
        if (other && variableSet(other).join(", ") !== expected) {
          differing.push(`${locale}: ${base} uses {${variableSet(other).join(", ")}}, uz uses {${expected}}`);
        }
      }
    }
    expect(differing).toEqual([]);
  });

  it("show the language picker texts identically in all three files", () => {
    for (const key of SHARED_KEYS) {
      const values = LOCALES.map((l) => tables[l].leaves.get(key));
      expect(values[0], key).toBeTypeOf("string");
      expect(new Set(values).size, key).toBe(1);
    }
  });

  it("write Uzbek Latin apostrophes as ʻ (U+02BB) after o/g and ʼ (U+02BC) elsewhere", () => {
    const problems: string[] = [];
    for (const { key, text } of texts("uz")) {
      if (/['`\u2018\u2019]/.test(text)) problems.push(`${key}: ASCII or typographic apostrophe in ${text}`);
      if (/(^|[^oOgG])\u02BB/.test(text)) problems.push(`${key}: ʻ not after o/g in ${text}`);
      if (/[oOgG]\u02BC/.test(text)) problems.push(`${key}: ʼ after o/g (should be ʻ) in ${text}`);
    }
    expect(problems).toEqual([]);
  });

  it("keep Uzbek Cyrillic free of Latin letters outside placeholders, brand names and references", () => {
    const problems: string[] = [];
    for (const { key, text } of texts("uz-Cyrl")) {
      if (isShared(key)) continue;
      let rest = withoutPlaceholders(text);
      for (const word of LATIN_IN_CYRILLIC) rest = rest.replaceAll(word, "");
      for (const token of LATIN_TOKENS_IN_CYRILLIC) rest = rest.replace(token, "");
      if (/[A-Za-z\u00C0-\u024F\u02BB\u02BC'`]/.test(rest)) problems.push(`${key}: ${text}`);
    }
    expect(problems).toEqual([]);
  });

  it("keep Russian free of Uzbek-only letters outside the language names", () => {
    const problems: string[] = [];
    for (const { key, text } of texts("ru")) {
      if (!isShared(key) && /[ЎўҚқҒғҲҳ\u02BB\u02BC]/.test(text)) problems.push(`${key}: ${text}`);
    }
    expect(problems).toEqual([]);
  });

  it("keep translations about as short as the Uzbek source (USSD screens hold 182 characters)", () => {
    const tooLong: string[] = [];
    for (const locale of ["uz-Cyrl", "ru"] as const) {
      for (const [base, forms] of tables[locale].bases) {
        const source = uz.bases.get(base);
        if (!source || isShared(base)) continue;
        const limit = Math.max(...[...source.values()].map((s) => withoutPlaceholders(s).length)) * 1.25 + 8;
        for (const text of forms.values()) {
          if (withoutPlaceholders(text).length > limit) tooLong.push(`${locale}: ${base}: ${text}`);
        }
      }
    }
    expect(tooLong).toEqual([]);
  });
});

describe("keys used by the flows and the engine", () => {
  const sourceDirs = ["core/flows", "core/engine"].map((d) => join(projectRoot, d));
  const sources = sourceDirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .map((f) => ({ file: `${dir.slice(projectRoot.length)}/${f}`, code: readFileSync(join(dir, f), "utf8") })),
  );
  const KEY_SHAPE = /^[a-z][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_-]+)+$/;
  const namespaces = new Set([...uz.leaves.keys()].map((k) => k.split(".")[0]));
  const existsInUz = (key: string) => uz.bases.has(key);

  /** Every key a `${...}` template in the code can produce, by template shape (each `${...}` → `*`). */
  const CARD_STATUSES = ["active", "blocked", "closed"];
  const PINFL_PROBLEMS: Record<PinflProblem, true> = { format: true, birth_date: true, checksum: true };
  const TEMPLATE_FAMILIES: Record<string, readonly string[]> = {
    "apply.q.*.prompt": ALL_QUESTIONS.map((q) => `apply.q.${q.id}.prompt`),
    "apply.q.*.summary": ALL_QUESTIONS.map((q) => `apply.q.${q.id}.summary`),
    "apply.q.*.option.*": ALL_QUESTIONS.flatMap((q) =>
      q.kind === "choice" ? q.options.map((o) => `apply.q.${q.id}.option.${o}`) : [],
    ),
    "status.application.*": APPLICATION_STATUSES.map((s) => `status.application.${s}`),
    "status.visit.*": VISIT_STATUSES.map((s) => `status.visit.${s}`),
    "status.card.*": CARD_STATUSES.map((s) => `status.card.${s}`),
    "visit.part.*": SLOT_PARTS.map((p) => `visit.part.${p}`),
    "weekday.*": [1, 2, 3, 4, 5, 6, 7].map((d) => `weekday.${d}`),
    "menu.item.*": MAIN_MENU.map((id) => `menu.item.${id}`),
    "language.name.*": LOCALES.map((l) => `language.name.${l}`),
    "pinfl.invalid_*": Object.keys(PINFL_PROBLEMS).map((p) => `pinfl.invalid_${p}`),
    "rating.subject.*": FEEDBACK_SUBJECT_KINDS.map((k) => `rating.subject.${k}`),
    "rating.refused.*": ANSWER_REFUSALS.map((r) => `rating.refused.${r}`),
  };

  it("exist in uz.json for every literal key", () => {
    const used = new Map<string, string>(); // key → file
    const patterns = [
      /\b(?:text|fail)\(\s*"([^"]+)"/g,
      /\boption\(\s*[^,()]+,\s*"([^"]+)"/g,
      /\b(?:t|notice|templateKey):\s*"([^"]+)"/g,
    ];
    for (const { file, code } of sources) {
      for (const pattern of patterns) for (const m of code.matchAll(pattern)) used.set(m[1] as string, file);
      // Keys chosen by an expression (`cond ? "a.b" : "a.c"`): any key-shaped literal in a known namespace.
      for (const m of code.matchAll(/"([^"\s]+)"/g)) {
        const literal = m[1] as string;
        if (KEY_SHAPE.test(literal) && namespaces.has(literal.split(".")[0])) used.set(literal, file);
      }
    }
    expect(used.size).toBeGreaterThan(60);
    const missing = [...used].filter(([key]) => !existsInUz(key)).map(([key, file]) => `${file}: ${key}`);
    expect(missing).toEqual([]);
  });

  it("come only from template families this test enumerates", () => {
    const families = new Set<string>();
    for (const { code } of sources) {
      for (const m of code.matchAll(/`((?:[^`\\]|\\.)*)`/g)) {
        const template = m[1] as string;
        if (!template.includes("${")) continue;
        const shape = template.replace(/\$\{[^}]*\}/g, "*");
        if (/^[a-z][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_*-]+)+$/.test(shape)) families.add(shape);
      }
    }
    expect(families.size).toBeGreaterThan(5);
    expect([...families].filter((f) => !(f in TEMPLATE_FAMILIES))).toEqual([]);
  });

  it("exist in uz.json for every value a template can take", () => {
    const keys = Object.values(TEMPLATE_FAMILIES).flat();
    expect(keys).toContain("apply.q.fund.option.saxovat");
    expect(keys.filter((k) => !existsInUz(k))).toEqual([]);
  });
});

describe("Translator", () => {
  const translator = new Translator();

  it("formats money with grouped digits and the currency word of each language", () => {
    const line = (locale: Locale) =>
      translator.t(locale, "payments.line", {
        date: { date: "2026-11-25" },
        amount: { money: 125_000_000 },
        benefit: "X",
      });
    expect(line("uz")).toBe("25.11.2026 1 250 000 soʻm X");
    expect(line("uz-Cyrl")).toBe("25.11.2026 1 250 000 сўм X");
    expect(line("ru")).toBe("25.11.2026 1 250 000 сум X");
    expect(translator.t("ru", "format.money", { amount: "1 250 000" })).toBe("1 250 000 сум");
  });

  it("picks the Russian plural form by the number's last digits", () => {
    const title = (count: number) => translator.t("ru", "status.list_title", { count });
    expect(title(1)).toBe("У вас 1 заявление:");
    expect(title(2)).toBe("У вас 2 заявления:");
    expect(title(5)).toBe("У вас 5 заявлений:");
    expect(title(11)).toBe("У вас 11 заявлений:");
    expect(title(21)).toBe("У вас 21 заявление:");
    expect(title(22)).toBe("У вас 22 заявления:");
  });

  it("resolves Uzbek plurals in both scripts without falling back to another language", () => {
    expect(translator.t("uz", "status.list_title", { count: 3 })).toBe("Sizda 3 ta ariza bor:");
    expect(translator.t("uz-Cyrl", "status.list_title", { count: 1 })).toBe("Сизда 1 та ариза бор:");
    expect(translator.t("uz-Cyrl", "my_visits.title", { count: 4 })).toBe("Ташрифларингиз (4):");
  });

  it("shows dates as the calendar day in Tashkent", () => {
    const line = (locale: Locale, at: string) =>
      translator.t(locale, "status.history_line", { date: { date: at }, status: { t: "status.application.approved" } });
    // 20:00 UTC is already the next day in Tashkent (UTC+5); 18:59 UTC is still the same day.
    expect(line("uz", "2026-11-25T20:00:00Z")).toBe("26.11.2026: tasdiqlandi");
    expect(line("uz-Cyrl", "2026-11-25T20:00:00Z")).toBe("26.11.2026: тасдиқланди");
    expect(line("ru", "2026-11-25T20:00:00Z")).toBe("26.11.2026: одобрено");
    expect(line("ru", "2026-11-25T18:59:59Z")).toBe("25.11.2026: одобрено");
  });
});
