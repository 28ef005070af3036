import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCALES, type Param, type Text } from "../core/domain/vocabulary.js";
import type { Flow } from "../core/engine/flow.js";
import type { SessionState } from "../core/engine/session-store.js";
import type { ConversationEvent, Screen } from "../core/engine/types.js";
import { citizenFlows } from "../core/flows/index.js";
import { Translator } from "../core/i18n/index.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPinfl, setupWorld } from "./support/fixtures.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
});
afterAll(() => db.close());

const translator = new Translator();
const flows = new Map<string, Flow>(citizenFlows.map((f) => [f.id, f]));

/** A move a person could make: mostly sensible choices, sometimes nonsense. */
type Move = { kind: "option"; index: number } | { kind: "event"; event: ConversationEvent };

const textValues = fc.oneof(
  fc.constantFrom("1", "0", "00", "98", "5", "2 400 000", "15.03.2027", "31.02.2027", "Navbahor", "A-1234-5678"),
  fc.constant(nextPinfl()),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constant("x".repeat(600)),
);

const moves: fc.Arbitrary<Move> = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 12 }).map((index) => ({ kind: "option" as const, index })) },
  {
    weight: 2,
    arbitrary: textValues.map((value) => ({ kind: "event" as const, event: { type: "text" as const, value } })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "event" as const, event: { type: "back" as const } }) },
  { weight: 1, arbitrary: fc.constant({ kind: "event" as const, event: { type: "home" as const } }) },
  {
    weight: 1,
    arbitrary: fc
      .option(fc.constantFrom("1", "2", "3", "4", "5", "6", "7", "8", "9", "99"), { nil: undefined })
      .map((shortcut) => ({
        kind: "event" as const,
        event: shortcut ? { type: "start" as const, shortcut } : { type: "start" as const },
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ maxLength: 12 })
      .map((key) => ({ kind: "event" as const, event: { type: "choose" as const, key } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.double({ min: -200, max: 200, noNaN: true }), fc.double({ min: -200, max: 200, noNaN: true }))
      .map(([latitude, longitude]) => ({
        kind: "event" as const,
        event: { type: "location" as const, latitude, longitude },
      })),
  },
);

function textKeys(text: Text, out: string[] = []): string[] {
  if ("names" in text) return out;
  out.push(text.key);
  for (const value of Object.values(text.params ?? {})) collectParam(value, out);
  return out;
}

function collectParam(value: Param, out: string[]) {
  if (typeof value === "object" && "t" in value) textKeys({ key: value.t, params: value.params ?? {} }, out);
}

function assertRenders(screen: Screen) {
  const texts = [...screen.body, ...screen.options.map((o) => o.label), ...(screen.error ? [screen.error] : [])];
  for (const text of texts) {
    for (const key of textKeys(text)) {
      for (const locale of LOCALES) expect(translator.has(locale, key), `${key} in ${locale}`).toBe(true);
    }
    for (const locale of LOCALES) {
      const rendered = translator.text(locale, text);
      expect(rendered.trim().length).toBeGreaterThan(0);
      expect(rendered).not.toMatch(/\{\{|\}\}/);
    }
  }
  expect(new Set(screen.options.map((o) => o.key)).size).toBe(screen.options.length);
}

describe("the engine under random input", () => {
  it.each(["ussd", "telegram"] as const)(
    "never throws, always renders in every language, and never points at a missing step (%s)",
    async (channel) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...LOCALES),
          fc.array(moves, { minLength: 1, maxLength: 14 }),
          async (locale, plan) => {
            const citizen = await createCitizen(db.prisma, { locale });
            const sessionKey = `prop-${channel}-${run++}`;
            const identity =
              channel === "ussd"
                ? { phone: citizen.phone }
                : { phone: citizen.phone, telegramUserId: BigInt(900_000 + run) };
            const c = new Conversation(db, identity, channel, sessionKey);
            await c.start();
            assertRenders(c.screen);
            for (const move of plan) {
              if (move.kind === "option") {
                const option = c.screen.options[move.index % Math.max(1, c.screen.options.length)];
                await c.send(
                  option ? { type: "choose", key: option.key } : { type: "text", value: String(move.index) },
                );
              } else {
                await c.send(move.event);
              }
              assertRenders(c.screen);
              const row = await db.prisma.conversationSession.findUniqueOrThrow({
                where: { channel_sessionKey: { channel, sessionKey } },
              });
              const state = row.state as unknown as SessionState;
              if (state.flow !== "onboarding") {
                const flow = flows.get(state.flow);
                expect(flow, `flow ${state.flow}`).toBeDefined();
                expect(flow?.steps[state.step], `${state.flow}.${state.step}`).toBeDefined();
                for (const h of state.history) expect(flow?.steps[h.step]).toBeDefined();
              }
            }
          },
        ),
        { numRuns: 80, seed: 20261125 },
      );
    },
  );
});
