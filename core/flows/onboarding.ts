import type { Locale } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import type { ArrivalContext, ArrivalOutcome } from "../engine/flow.js";
import { defineFlow, profileOf, text } from "../engine/flow.js";
import type { CitizenRecord } from "../services/citizens.js";
import { localeOptions } from "./language.js";

type OnboardingData = Record<string, never>;
type Arrival = Promise<ArrivalOutcome<OnboardingData>>;

async function arrive(ctx: ArrivalContext, citizen: CitizenRecord, locale: Locale): Arrival {
  await ctx.services.citizens.setLocale(citizen.id, locale);
  return { arrived: profileOf(citizen, locale) };
}

/**
 * A shared contact names the citizen: the one with that phone (from the register or USSD) is linked
 * to this Telegram user, or created. A language already chosen here wins over the one on record.
 */
async function byContact(ctx: ArrivalContext, phone: string): Arrival {
  const { telegramUserId, telegramChatId } = ctx.identity;
  const found = await ctx.services.citizens.findOrCreateForTelegram(phone, telegramUserId, telegramChatId);
  const locale = ctx.locale ?? found.locale ?? "uz";
  if (found.locale === locale) return { arrived: profileOf(found, locale) };
  return arrive(ctx, found, locale);
}

/**
 * First contact: choose the language (unless the channel suggested one), then, on Telegram, share
 * the phone number. A contact is taken on either screen.
 */
export const onboardingFlow = defineFlow<OnboardingData>({
  id: "onboarding",
  begin: () => ({ step: "language", data: {} }),
  steps: {
    language: {
      screen: () => ({ body: [text("onboarding.choose_language")], options: localeOptions() }),
      async on(ctx, data, input) {
        if (input.type === "contact") return byContact(ctx, input.phone);
        if (input.type !== "choose" || !isLocale(input.key)) return { invalid: text("errors.choose_option") };
        ctx.locale = input.key;
        return ctx.citizen ? arrive(ctx, ctx.citizen, input.key) : { to: "contact", data };
      },
      // A language the channel suggested needs no asking (Telegram's language_code).
      async skip(ctx, data) {
        if (!ctx.locale) return undefined;
        if (!ctx.citizen) return { to: "contact", data };
        return ctx.identity.localeHint ? arrive(ctx, ctx.citizen, ctx.locale) : undefined;
      },
    },
    contact: {
      screen: () => ({ body: [text("onboarding.share_contact")], input: { kind: "contact" } }),
      on: (ctx, _data, input) =>
        input.type === "contact" ? byContact(ctx, input.phone) : { invalid: text("errors.share_contact") },
    },
  },
});
