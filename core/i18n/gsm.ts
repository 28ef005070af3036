/**
 * The GSM 03.38 7-bit default alphabet, and the transliteration that keeps Uzbek Latin inside it.
 * A USSD screen that holds a single character outside the alphabet is sent as UCS-2 by the
 * operator, and some feature phones then show nothing at all; Uzbek Latin only needs a handful
 * of replacements (oʻ → o', gʻ → g', ʼ → ') to stay 7-bit.
 */

const BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/** Characters of the extension table: each costs two septets (escape + character). */
const EXTENSION = "^{}\\[~]|€\f";

const basicSet = new Set(BASIC);
const extensionSet = new Set(EXTENSION);

export const isGsmChar = (ch: string): boolean => basicSet.has(ch) || extensionSet.has(ch);

/*
 * Every USSD screen is measured and transliterated on every step, so the three functions below
 * read UTF-16 code units against tables instead of iterating code points through Sets. Both
 * alphabets lie in the Basic Multilingual Plane: a surrogate is never in them.
 */
const GSM_UNIT = new Uint8Array(0x10000);
for (const ch of BASIC) GSM_UNIT[ch.charCodeAt(0)] = 1;
for (const ch of EXTENSION) GSM_UNIT[ch.charCodeAt(0)] = 2;
const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** True when every character of `text` can be sent in the 7-bit alphabet. */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (GSM_UNIT[text.charCodeAt(i)] === 0) return false;
  return true;
}

/** Length in septets, as the network counts a 7-bit message (extension characters count twice). */
export function gsmLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A pair of surrogates is one character, counted once (at its second half).
    if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))) continue;
    n += GSM_UNIT[unit] === 2 ? 2 : 1;
  }
  return n;
}

/** Punctuation and spacing that look alike, replaced by their 7-bit counterparts. */
const PUNCTUATION: Record<string, string> = {
  "\u02BB": "'", // ʻ modifier letter turned comma: oʻ gʻ
  "\u02BC": "'", // ʼ modifier letter apostrophe: the tutuq belgisi
  "\u2018": "'",
  "\u2019": "'",
  "\u201A": "'",
  "\u2032": "'",
  "`": "'",
  "\u00B4": "'",
  "\u201C": '"',
  "\u201D": '"',
  "\u201E": '"',
  "\u00AB": '"',
  "\u00BB": '"',
  "\u2013": "-",
  "\u2014": "-",
  "\u2012": "-",
  "\u2212": "-",
  "\u2010": "-",
  "\u2011": "-",
  "\u2026": "...",
  "\u00A0": " ",
  "\u2007": " ",
  "\u202F": " ",
  "\u2009": " ",
  "\t": " ",
  "\u2116": "No",
  "\u00B7": ".",
  "\u2022": "-",
};

/**
 * Cyrillic letters met in Uzbek and Russian, in the official Uzbek Latin spelling (ў → o', ғ → g',
 * ҳ → h, қ → q), so that a Cyrillic name on a Latin screen stays readable.
 */
const CYRILLIC: Record<string, string> = {
  а: "a",
  б: "b",
  в: "v",
  г: "g",
  д: "d",
  е: "e",
  ё: "yo",
  ж: "j",
  з: "z",
  и: "i",
  й: "y",
  к: "k",
  л: "l",
  м: "m",
  н: "n",
  о: "o",
  п: "p",
  р: "r",
  с: "s",
  т: "t",
  у: "u",
  ф: "f",
  х: "x",
  ц: "ts",
  ч: "ch",
  ш: "sh",
  щ: "sh",
  ъ: "'",
  ы: "y",
  ь: "",
  э: "e",
  ю: "yu",
  я: "ya",
  ў: "o'",
  қ: "q",
  ғ: "g'",
  ҳ: "h",
  і: "i",
  ї: "yi",
  є: "ye",
};

function cyrillic(ch: string): string | undefined {
  const lower = ch.toLowerCase();
  const latin = CYRILLIC[lower];
  if (latin === undefined) return undefined;
  if (lower === ch || latin === "") return latin;
  // Capital: "Ш" → "Sh", "Ў" → "O'".
  return latin.charAt(0).toUpperCase() + latin.slice(1);
}

/**
 * Text in the 7-bit alphabet: Uzbek apostrophes and typographic punctuation replaced, accents
 * stripped, Cyrillic transliterated; anything else that cannot be written is dropped.
 */
export function toGsm7(text: string): string {
  // Most of a Latin screen is in the alphabet already; text in it is also in NFC (every character
  // of the alphabet is composed), so it comes out as it went in.
  if (isGsm7(text)) return text;
  let out = "";
  for (const ch of text.normalize("NFC")) {
    if (basicSet.has(ch) || extensionSet.has(ch)) {
      out += ch;
      continue;
    }
    const punctuation = PUNCTUATION[ch];
    if (punctuation !== undefined) {
      out += punctuation;
      continue;
    }
    const latin = cyrillic(ch);
    if (latin !== undefined) {
      out += latin;
      continue;
    }
    // Accented Latin letters outside the alphabet (ş, ä is kept above, ō, …): the base letter.
    const base = ch.normalize("NFD").replace(/\p{M}/gu, "");
    if (base !== ch && isGsm7(base)) out += base;
  }
  return out;
}
