import type { Names, Params, Text } from "../../core/domain/vocabulary.js";
import { option, text } from "../../core/engine/flow.js";
import type { Option, Screen } from "../../core/engine/types.js";
import { MAIN_MENU } from "../../core/flows/menu.js";
import { loadReferenceData } from "../../core/reference/seed.js";

/**
 * Screens as the flows build them for the sessions the benchmark replays (menu, payments, status,
 * visit, apply) and a few that stress the renderer (a long list that pages, an error line, a
 * Cyrillic name on a Latin screen, a final screen that does not fit), with the seeded catalogue's
 * real names. Built by hand from the flows' own keys so rendering can be pinned and profiled
 * without a database: test/ussd-render-pinned.test.ts and scripts/render-profile.ts.
 */
export interface NamedScreen {
  name: string;
  screen: Screen;
}

const base = (parts: Partial<Screen>): Screen => ({
  body: [],
  options: [],
  input: parts.options?.length ? { kind: "choice" } : { kind: "none" },
  nav: { back: true, home: true },
  end: false,
  ...parts,
});

const slot = (date: string, weekday: string, part: "morning" | "afternoon"): Params => ({
  weekday: { t: `weekday.${weekday}` },
  date: { date },
  part: { t: `visit.part.${part}` },
});

export async function representativeScreens(): Promise<NamedScreen[]> {
  const { benefitTypes, visitReasons } = await loadReferenceData();
  const benefit = (i: number): Names => (benefitTypes[i] as { names: Names }).names;
  const short = (i: number): Names => (benefitTypes[i] as { shortNames: Names }).shortNames;
  const reasons: Option[] = visitReasons.map((r, i) => ({ key: String(i + 1), label: { names: r.shortNames } }));
  const benefits: Option[] = benefitTypes.map((b) => ({ key: b.code, label: { names: b.shortNames } }));
  const menuOptions = MAIN_MENU.map((id) => option(id, `menu.item.${id}`));
  const payment = (date: string, money: number, i: number): Text =>
    text("payments.line", { date: { date }, amount: { money }, benefit: { names: short(i) } });
  const slots = [
    slot("2026-12-02", "wed", "morning"),
    slot("2026-12-02", "wed", "afternoon"),
    slot("2026-12-03", "thu", "morning"),
    slot("2026-12-04", "fri", "afternoon"),
  ].map((params, i) => ({ key: `s${i}`, label: text("visit.slot", params) }));

  return [
    {
      name: "language choice",
      screen: base({
        body: [text("onboarding.choose_language")],
        options: [
          { key: "uz", label: text("language.name.uz") },
          { key: "uz-Cyrl", label: text("language.name.uz-Cyrl") },
          { key: "ru", label: text("language.name.ru") },
        ],
        nav: { back: false, home: false },
      }),
    },
    {
      name: "main menu",
      screen: base({ body: [text("menu.title")], options: menuOptions, nav: { back: false, home: false } }),
    },
    {
      name: "main menu after a notice",
      screen: base({
        body: [text("visit.cancelled"), text("menu.title")],
        options: menuOptions,
        nav: { back: false, home: false },
      }),
    },
    {
      name: "payments: card and three payments",
      screen: base({
        body: [
          text("payments.card", { number: "8600 **** **** 1234", status: { t: "status.card.active" } }),
          text("payments.latest"),
          payment("2026-11-25T06:00:00Z", 123_456_700, 0),
          payment("2026-10-25T06:00:00Z", 123_456_750, 1),
          payment("2026-09-25T06:00:00Z", 98_000_000, 0),
        ],
        end: true,
      }),
    },
    {
      name: "payments: no card",
      screen: base({ body: [text("payments.no_card")], end: true }),
    },
    {
      name: "status: two applications",
      screen: base({
        body: [text("status.list_title", { count: 2 })],
        options: [
          {
            key: "A-1234-5678",
            label: text("status.list_item", {
              benefit: { names: benefit(0) },
              status: { t: "status.application.under_review" },
            }),
          },
          {
            key: "A-2345-6789",
            label: text("status.list_item", {
              benefit: { names: benefit(1) },
              status: { t: "status.application.submitted" },
            }),
          },
          option("lookup", "status.lookup_option"),
        ],
      }),
    },
    {
      name: "status: details with history",
      screen: base({
        body: [
          text("status.details", {
            reference: "A-1234-5678",
            benefit: { names: benefit(0) },
            status: { t: "status.application.rejected" },
            date: { date: "2026-11-20T09:30:00Z" },
          }),
          text("status.rejection_reason", { reason: "Oila daromadi belgilangan miqdordan yuqori — «Inson» markazi" }),
          text("status.history_line", {
            date: { date: "2026-11-28T12:00:00Z" },
            status: { t: "status.application.rejected" },
          }),
          text("status.history_line", {
            date: { date: "2026-11-21T12:00:00Z" },
            status: { t: "status.application.under_review" },
          }),
          text("status.history_line", {
            date: { date: "2026-11-20T09:30:00Z" },
            status: { t: "status.application.submitted" },
          }),
        ],
      }),
    },
    {
      name: "status: reference prompt after a wrong one",
      screen: base({
        body: [text("status.enter_reference")],
        input: { kind: "text", format: "reference", maxLength: 20 },
        error: text("status.not_found", { reference: "A-9999-0000" }),
      }),
    },
    { name: "visit: reasons", screen: base({ body: [text("visit.choose_reason")], options: reasons }) },
    { name: "visit: free slots", screen: base({ body: [text("visit.choose_slot")], options: slots }) },
    {
      name: "visit: address prompt",
      screen: base({ body: [text("visit.enter_address")], input: { kind: "text", format: "address", maxLength: 120 } }),
    },
    {
      name: "visit: summary",
      screen: base({
        body: [
          text("visit.summary", {
            reason: { names: (visitReasons[0] as { shortNames: Names }).shortNames },
            slot: { t: "visit.slot", params: slot("2026-12-02", "wed", "morning") },
            address: "Navoiy ko'chasi 12",
          }),
        ],
        options: [option("confirm", "visit.confirm"), option("cancel", "visit.cancel")],
      }),
    },
    { name: "visit: booked", screen: base({ body: [text("visit.booked", { reference: "V-1234-5678" })], end: true }) },
    { name: "apply: benefits (pages)", screen: base({ body: [text("apply.choose_benefit")], options: benefits }) },
    {
      name: "apply: a number question after a bad answer",
      screen: base({
        body: [text("apply.q.household_size.prompt")],
        input: { kind: "text", format: "digits", maxLength: 80 },
        error: text("errors.number_range", { min: 1, max: 30 }),
      }),
    },
    {
      name: "apply: summary",
      screen: base({
        body: [
          text("apply.summary_title", { benefit: { names: short(0) } }),
          text("apply.q.household_size.summary", { value: 4 }),
          text("apply.q.children_under_18.summary", { value: 2 }),
          text("apply.q.monthly_income.summary", { value: { money: 150_000_000 } }),
        ],
        options: [option("confirm", "apply.confirm"), option("cancel", "apply.cancel")],
      }),
    },
    {
      name: "apply: submitted",
      screen: base({ body: [text("apply.submitted", { reference: "A-1234-5678" })], end: true }),
    },
    {
      name: "a final screen longer than one page",
      screen: base({
        body: [
          {
            names: {
              uz: "Ўзбекча ном — «Inson» markazi",
              "uz-Cyrl": "Ўзбекча ном — «Инсон» маркази",
              ru: "Имя — «Инсон»",
            },
          },
          ...Array.from({ length: 6 }, (_, i) => payment(`2026-0${i + 1}-25T06:00:00Z`, 1_000_000 * (i + 1), i)),
        ],
        end: true,
      }),
    },
    {
      name: "rate limited",
      screen: base({ body: [text("errors.rate_limited")], nav: { back: false, home: false }, end: true }),
    },
  ];
}
