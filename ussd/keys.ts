import type { Screen } from "../core/engine/types.js";

/** The keys every USSD screen understands, printed on the navigation lines. */
export const NAV_KEYS = { next: "98", back: "0", home: "00" } as const;

/**
 * On a screen that asks for a number, "0" is an answer (no children, no work years), not Back:
 * such a screen does not offer Back, only the main menu.
 */
export const zeroIsAnswer = (screen: Screen): boolean =>
  screen.input.kind === "text" && screen.input.format === "digits";
