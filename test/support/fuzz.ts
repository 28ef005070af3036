/** A small seeded generator for fuzz tests: the same seed gives the same inputs on every run. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Chooses by weight: [[value, weight], …]. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [value, weight] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return (entries[entries.length - 1] as readonly [T, number])[0];
  }

  /** Any code units at all, lone surrogates and control characters included. */
  codeUnits(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += String.fromCharCode(this.int(0, 0xffff));
    return out;
  }

  /** Valid code points from every plane (emoji, CJK, RTL, combining marks…). */
  unicode(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) {
      let cp = this.int(0, 0x10ffff);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x1f600;
      out += String.fromCodePoint(cp);
    }
    return out;
  }

  controlChars(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++)
      out += String.fromCharCode(this.pick([0, 1, 7, 8, 9, 10, 13, 27, 127, 0x85, 0x2028]));
    return out;
  }
}

/** Things attackers and broken clients send: injection attempts, format strings, odd whitespace. */
export const MALICIOUS = [
  '\'; DROP TABLE "Citizen"; --',
  "1 OR 1=1",
  "1' OR '1'='1",
  '"; SELECT pg_sleep(10); --',
  "$1",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "{{constructor.constructor('return process')()}}",
  // A log4j-style lookup, written without a template placeholder.
  "$" + "{jndi:ldap://127.0.0.1/a}",
  "%s%s%s%n",
  "../../../../etc/passwd",
  "__proto__",
  "constructor",
  '{"__proto__":{"admin":true}}',
  "\u0000",
  "\u202eevil",
  "\ufeff1",
  "１",
  "٣",
  "👨‍👩‍👧‍👦",
  "🙂".repeat(60),
  "Z̷̡̛̘͍a̶̧͎l̸̡g̵̢o̴",
  "Ўзбекча Русский ғ қ ҳ",
  "oʻgʻil gʻ oʻ ʼ",
  "NaN",
  "Infinity",
  "-1",
  "1e309",
  "0x1F",
  "99999999999999999999",
  "0.5",
  " 1 ",
  "\t2\n",
  "#",
  "*",
  "**",
  "*#*#*",
  "98*98*98*98",
  "0*0*0*0*00",
  "A-0000-0000",
  "V 1234 5678",
  "31503610000413",
  "00000000000000",
  "+998901234567",
] as const;
