import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { localeHint } from "../bot/context.js";
import {
  decodeToken,
  encodeToken,
  MAX_CALLBACK_BYTES,
  PAGE_SIZE,
  renderScreen,
  replyButtonEvent,
  type ScreenToken,
} from "../bot/render.js";
import { decodeStaff, encodeStaff, type StaffCommand } from "../bot/staff/callbacks.js";
import { APPLIED_KEPT, decide, readView } from "../bot/turns.js";
import type { PreviousTurn } from "../core/engine/engine.js";
import type { Screen } from "../core/engine/types.js";
import { Translator } from "../core/i18n/index.js";

const translator = new Translator();

const screen = (parts: Partial<Screen> = {}): Screen => ({
  body: [{ key: "menu.title" }],
  options: [],
  input: { kind: "choice" },
  nav: { back: true, home: true },
  end: false,
  ...parts,
});
const options = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: `k${i}`,
    label: { names: { uz: `U${i}`, "uz-Cyrl": `C${i}`, ru: `R${i}` } },
  }));
type Button = { text: string; callback_data: string };
const inline = (s: Screen, page = 0, turn = 7) => {
  const r = renderScreen(s, "uz", translator, { turn, page });
  if (r.markup.kind !== "inline") throw new Error(`expected inline, got ${r.markup.kind}`);
  return r.markup.keyboard.inline_keyboard as Button[][];
};

describe("callback tokens", () => {
  const token = fc.oneof(
    fc.record({ kind: fc.constant("option" as const), turn: fc.nat(), index: fc.nat({ max: 9999 }) }),
    fc.record({ kind: fc.constant("page" as const), turn: fc.nat(), page: fc.nat({ max: 9999 }) }),
    fc.record({
      kind: fc.constant("nav" as const),
      turn: fc.nat(),
      to: fc.constantFrom("back" as const, "home" as const),
    }),
  );

  it("round-trip and stay within Telegram's 64 bytes", () => {
    fc.assert(
      fc.property(token, (t: ScreenToken) => {
        const data = encodeToken(t);
        expect(Buffer.byteLength(data)).toBeLessThanOrEqual(MAX_CALLBACK_BYTES);
        expect(decodeToken(data)).toEqual(t);
      }),
    );
  });

  it("reject anything else", () => {
    for (const data of ["", "o:1", "o:x:1", "n:1:left", "p:1:back", "s:a:V-0000-0000", "o:1:2:3"]) {
      expect(decodeToken(data)).toBeNull();
    }
  });

  it("staff commands round-trip within 64 bytes and reject malformed visits", () => {
    const commands: StaffCommand[] = [
      { kind: "menu", to: "week" },
      { kind: "open", reference: "V-1234-5671" },
      { kind: "card", reference: "V-1234-5671" },
      { kind: "accept", reference: "V-1234-5671" },
      { kind: "reschedule", reference: "V-1234-5671", slot: { date: "2026-11-30", part: "afternoon" } },
      { kind: "assign", reference: "V-1234-5671", staffId: 123456789 },
    ];
    for (const command of commands) {
      const data = encodeStaff(command);
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(MAX_CALLBACK_BYTES);
      expect(decodeStaff(data)).toEqual(command);
    }
    expect(decodeStaff("s:a:V-1234-5678")).toBeNull(); // wrong check digit
    expect(decodeStaff("s:a:A-1234-5675")).toBeNull(); // an application, not a visit
    expect(decodeStaff("s:r:V-1234-5671:2026113m")).toBeNull();
  });
});

describe("rendering a screen", () => {
  it("shows up to 8 options per page with ◀ ▶, then Back and Main menu", () => {
    const s = screen({ options: options(PAGE_SIZE * 2 + 3) });
    const first = inline(s, 0);
    expect(first.slice(0, PAGE_SIZE).map((r) => r[0]?.text)).toEqual(options(8).map((o) => o.label.names.uz));
    expect(first[PAGE_SIZE]?.map((b) => b.text)).toEqual(["Keyingi ▶️"]);
    expect(first[PAGE_SIZE + 1]?.map((b) => b.text)).toEqual(["⬅️ Orqaga", "🏠 Bosh menyu"]);
    const middle = inline(s, 1);
    expect(middle[0]?.[0]?.callback_data).toBe("o:7:8");
    expect(middle[PAGE_SIZE]?.map((b) => decodeToken(b.callback_data))).toEqual([
      { kind: "page", turn: 7, page: 0 },
      { kind: "page", turn: 7, page: 2 },
    ]);
    const last = inline(s, 99); // clamped
    expect(last).toHaveLength(3 + 2);
  });

  it("puts the error first and gives an end screen only the main menu", () => {
    const r = renderScreen(
      screen({ end: true, nav: { back: false, home: false }, error: { key: "errors.choose_option" } }),
      "ru",
      translator,
      { turn: 1, page: 0 },
    );
    expect(r.text.split("\n\n")).toEqual([`⚠️ ${translator.t("ru", "errors.choose_option")}`, "Mahalla Connect:"]);
    expect(r.markup.kind === "inline" && r.markup.keyboard.inline_keyboard).toEqual([
      [{ text: "🏠 Главное меню", callback_data: "n:1:home" }],
    ]);
  });

  it("asks for the contact and the location with reply keyboards whose captions map back", () => {
    const contact = renderScreen(
      screen({ input: { kind: "contact" }, nav: { back: false, home: false } }),
      "uz",
      translator,
      {
        turn: 1,
        page: 0,
      },
    );
    expect(contact.markup).toMatchObject({
      kind: "reply",
      keyboard: { keyboard: [[{ text: translator.t("uz", "bot.share_contact_button"), request_contact: true }]] },
    });
    const address = screen({ input: { kind: "text", format: "address", maxLength: 120 }, acceptsLocation: true });
    const rendered = renderScreen(address, "uz-Cyrl", translator, { turn: 1, page: 0 });
    expect(rendered.markup.kind).toBe("reply");
    const rows = rendered.markup.kind === "reply" ? rendered.markup.keyboard.keyboard : [];
    expect(rows[0]?.[0]).toMatchObject({ request_location: true });
    const back = rows[1]?.[0];
    const backText = typeof back === "string" ? back : (back?.text ?? "");
    expect(replyButtonEvent(address, "uz-Cyrl", translator, backText)).toEqual({ type: "back" });
    expect(replyButtonEvent(address, "uz-Cyrl", translator, "Навоий кўчаси 7")).toBeNull();
  });
});

describe("deciding what an update means", () => {
  const previous = (view: object, s = screen({ options: options(3) })): PreviousTurn => ({
    screen: s,
    view: view as PreviousTurn["view"],
    locale: "uz",
    steps: 4,
  });

  it("maps a current button to its option and counts the turn", () => {
    const { decision, verdict } = decide(
      previous({ turn: 4, page: 0 }),
      { kind: "button", token: { kind: "option", turn: 4, index: 2 }, messageId: 50 },
      translator,
    );
    expect(decision).toEqual({
      event: { type: "choose", key: "k2" },
      view: { turn: 5, page: 0, applied: [] },
    });
    expect(verdict).toMatchObject({ kind: "event", previousKind: "inline" });
  });

  it("treats an older turn's button or an unknown index as stale", () => {
    const p = previous({ turn: 4, page: 0 });
    const stale = decide(
      p,
      { kind: "button", token: { kind: "option", turn: 3, index: 0 }, messageId: 40 },
      translator,
    );
    expect(stale).toEqual({ decision: { replay: true }, verdict: { kind: "stale" } });
    const gone = decide(p, { kind: "button", token: { kind: "option", turn: 4, index: 9 }, messageId: 50 }, translator);
    expect(gone.verdict.kind).toBe("stale");
  });

  it("turns a page without moving the flow", () => {
    const { decision } = decide(
      previous({ turn: 4, page: 0 }),
      { kind: "button", token: { kind: "page", turn: 4, page: 1 }, messageId: 50 },
      translator,
    );
    expect(decision).toEqual({ redisplay: true, view: { turn: 4, page: 1, applied: [] } });
  });

  it("answers an update this chat already applied with the screen it led to, and applies it nowhere", () => {
    const p = previous({ turn: 4, page: 0, applied: [700, 701] });
    const press = { kind: "button", token: { kind: "option", turn: 4, index: 2 }, messageId: 50 } as const;
    expect(decide(p, press, translator, 701)).toEqual({ decision: { replay: true }, verdict: { kind: "again" } });
    expect(decide(p, { kind: "text", value: "4" }, translator, 700)).toEqual({
      decision: { replay: true },
      verdict: { kind: "again" },
    });
    // A new update moves the chat and is remembered with the screen it leads to.
    expect(decide(p, press, translator, 702).decision).toEqual({
      event: { type: "choose", key: "k2" },
      view: { turn: 5, page: 0, applied: [700, 701, 702] },
    });
  });

  it("remembers the last sixteen updates a chat applied, the first one's too", () => {
    const many = Array.from({ length: APPLIED_KEPT }, (_, i) => 1000 + i);
    const { decision } = decide(
      previous({ turn: 4, page: 0, applied: many }),
      { kind: "text", value: "x" },
      translator,
      2000,
    );
    expect(decision).toMatchObject({ view: { applied: [...many.slice(1), 2000] } });
    expect(decide(undefined, { kind: "text", value: "x" }, translator, 3000).decision).toMatchObject({
      view: { turn: 1, applied: [3000] },
    });
  });

  it("reads a view stored by an earlier version, dropping its update ids and message id", () => {
    expect(readView({ turn: 7, page: 2, messageId: 31, seen: [1, 2, 3] })).toEqual({ turn: 7, page: 2, applied: [] });
    expect(readView({ turn: 7, page: 2, applied: [5, "6", 7.5, 8] })).toEqual({ turn: 7, page: 2, applied: [5, 8] });
  });
});

describe("Telegram details", () => {
  it("guesses the language from language_code", () => {
    expect(localeHint("ru")).toBe("ru");
    expect(localeHint("uz-UZ")).toBe("uz");
    expect(localeHint("en")).toBeUndefined();
    expect(localeHint(undefined)).toBeUndefined();
  });
});
