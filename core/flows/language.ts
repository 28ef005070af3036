import { isLocale, LOCALES } from "../domain/vocabulary.js";
import { defineFlow, text } from "../engine/flow.js";

/** Menu item 8: change the language; the main menu then answers in the new one. */
export const languageFlow = defineFlow<Record<string, never>>({
  id: "language",
  begin: () => ({ step: "choose", data: {} }),
  steps: {
    choose: {
      screen: () => ({
        body: [text("language.choose")],
        options: LOCALES.map((l) => ({ key: l, label: text(`language.name.${l}`) })),
      }),
      async on(ctx, _data, input) {
        if (input.type !== "choose" || !isLocale(input.key)) return { invalid: text("errors.choose_option") };
        await ctx.changeLocale(input.key);
        return { flow: "menu", args: { notice: "language.changed" } };
      },
    },
  },
});
