import { isLocale, LOCALES } from "../domain/vocabulary.js";
import { defineFlow, text } from "../engine/flow.js";
import type { Option } from "../engine/types.js";

/** The three languages, each named in itself: the same list at first contact and in menu item 8. */
export const localeOptions = (): Option[] => LOCALES.map((l) => ({ key: l, label: text(`language.name.${l}`) }));

/** Menu item 8: change the language; the main menu then answers in the new one. */
export const languageFlow = defineFlow<Record<string, never>>({
  id: "language",
  begin: () => ({ step: "choose", data: {} }),
  steps: {
    choose: {
      screen: () => ({ body: [text("language.choose")], options: localeOptions() }),
      async on(ctx, _data, input) {
        if (input.type !== "choose" || !isLocale(input.key)) return { invalid: text("errors.choose_option") };
        await ctx.changeLocale(input.key);
        return { flow: "menu", args: { notice: "language.changed" } };
      },
    },
  },
});
