import type { FlowId } from "../engine/flow.js";
import { defineFlow, option, text } from "../engine/flow.js";

/**
 * The main menu. Its order is a public contract: the numbers are printed on leaflets and dialled
 * as USSD shortcuts (*1146*3# opens item 3).
 */
export const MAIN_MENU: readonly FlowId[] = [
  "apply",
  "status",
  "payments",
  "visit",
  "myVisits",
  "appeal",
  "help",
  "language",
];

type MenuData = { notice: string | null };

export const menuFlow = defineFlow<MenuData>({
  id: "menu",
  begin: (_ctx, args) => ({
    step: "main",
    data: { notice: typeof args?.notice === "string" ? args.notice : null },
  }),
  steps: {
    main: {
      screen: (_ctx, data) => ({
        body: data.notice ? [text(data.notice), text("menu.title")] : [text("menu.title")],
        options: MAIN_MENU.map((id) => option(id, `menu.item.${id}`)),
      }),
      on(_ctx, _data, input) {
        const id = MAIN_MENU.find((f) => input.type === "choose" && f === input.key);
        return id ? { flow: id } : { invalid: text("errors.choose_option") };
      },
    },
  },
});
