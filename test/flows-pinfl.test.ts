import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newReference } from "../core/domain/reference.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPinfl, setupWorld } from "./support/fixtures.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
});
afterAll(() => db.close());

const keyOf = (c: Conversation) => (c.screen.body[0] as { key?: string }).key;

/** A citizen without a PINFL, with a rejection decided five days ago: both forms ask for the PINFL. */
async function citizenWithoutPinfl() {
  const citizen = await createCitizen(db.prisma, { locale: "ru" });
  const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "LOW_INCOME_ASSISTANCE" } });
  await db.prisma.application.create({
    data: {
      reference: newReference("A"),
      citizenId: citizen.id,
      benefitTypeId: benefit.id,
      answers: {},
      status: "rejected",
      channel: "ussd",
      locale: "ru",
      decidedAt: new Date(Date.now() - 5 * 86_400_000),
    },
  });
  return citizen;
}

/** How each form reaches its PINFL screen, and the screen that follows a PINFL it takes. */
const forms = {
  apply: {
    open: async (c: Conversation) => {
      await c.start("1");
      await c.send({ type: "choose", key: "AGE_PENSION" });
    },
    after: "apply.q.work_years.prompt",
  },
  appeal: {
    open: async (c: Conversation) => {
      await c.start("6");
      await c.pick(1);
    },
    after: "appeal.enter_reason",
  },
} as const;

const claims = async (id: number) =>
  db.prisma.citizen.findUniqueOrThrow({ where: { id }, select: { pinfl: true, claimedPinfl: true } });

describe("the PINFL step, one for every form that asks for it", () => {
  const good = nextPinfl();
  const wrongCheck = good.slice(0, 13) + String((Number(good[13]) + 1) % 10);

  it.each([
    ["12345", "pinfl.invalid_format"],
    ["31234567890123", "pinfl.invalid_birth_date"],
    [wrongCheck, "pinfl.invalid_checksum"],
  ])(
    "refuses %s with the same reason (%s) in the application and in the appeal, and keeps nothing",
    async (typed, reason) => {
      for (const form of Object.values(forms)) {
        const citizen = await citizenWithoutPinfl();
        const c = new Conversation(db, { phone: citizen.phone });
        await form.open(c);
        expect(keyOf(c)).toBe("pinfl.prompt");
        expect(c.screen.input).toEqual({ kind: "text", format: "pinfl", maxLength: 14 });
        await c.say(typed);
        expect(c.screen.error).toEqual({ key: reason });
        expect(keyOf(c)).toBe("pinfl.prompt");
        expect(await claims(citizen.id)).toEqual({ pinfl: null, claimedPinfl: null });
      }
    },
  );

  it.each(Object.keys(forms) as (keyof typeof forms)[])(
    "%s: keeps a valid PINFL as the citizen's claim and goes on to the form's next question",
    async (name) => {
      const citizen = await citizenWithoutPinfl();
      const c = new Conversation(db, { phone: citizen.phone });
      await forms[name].open(c);
      const pinfl = nextPinfl();
      await c.say(pinfl);
      expect(c.screen.error).toBeUndefined();
      expect(keyOf(c)).toBe(forms[name].after);
      expect(await claims(citizen.id)).toEqual({ pinfl: null, claimedPinfl: pinfl });
    },
  );

  it("is not asked again in the appeal once the application took the citizen's claim", async () => {
    const citizen = await citizenWithoutPinfl();
    const c = new Conversation(db, { phone: citizen.phone });
    await forms.apply.open(c);
    await c.say(nextPinfl());
    const d = new Conversation(db, { phone: citizen.phone });
    await d.start("6");
    await d.pick(1);
    expect(keyOf(d)).toBe(forms.appeal.after);
  });
});
