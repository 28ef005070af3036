import type { JsonValue, Locale } from "../core/domain/vocabulary.js";
import type { ChannelDecision, PreviousTurn } from "../core/engine/engine.js";
import type { ConversationEvent, Screen } from "../core/engine/types.js";
import { NAV_KEYS, zeroIsAnswer } from "./keys.js";

/** What the USSD channel keeps with each screen: the gateway's `text` seen so far and the page shown. */
export interface UssdView {
  seen: string;
  page: number;
}

export function toView(value: JsonValue | undefined): UssdView | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const { seen, page } = value as { seen?: unknown; page?: unknown };
  if (typeof seen !== "string") return null;
  return { seen, page: typeof page === "number" && Number.isInteger(page) && page >= 1 ? page : 1 };
}

const view = (seen: string, page: number): JsonValue => ({ seen, page });

/**
 * The new input in the gateway's `text`, which repeats every input of the session joined by "*".
 * The part after what was already processed is new, even when it contains "*" itself (an address
 * such as "12*3"). Text equal to what was processed is a retry. When the history does not match
 * (a gateway that rewrote it), only the last segment is trusted.
 */
export function newInput(seen: string, text: string): { retry: true } | { retry: false; input: string } {
  if (text === seen) return { retry: true };
  if (seen === "") return { retry: false, input: text };
  if (text.startsWith(`${seen}*`)) return { retry: false, input: text.slice(seen.length + 1) };
  const segments = text.split("*");
  return { retry: false, input: segments[segments.length - 1] ?? "" };
}

/**
 * Turns one USSD request into an engine decision, knowing the previous turn of the session
 * (`pagesOf` tells how many pages its screen took, so "98" and "0" can turn them).
 */
export function decide(
  text: string,
  previous: PreviousTurn | undefined,
  pagesOf: (screen: Screen, locale: Locale) => number,
): ChannelDecision {
  const stored = previous ? toView(previous.view) : null;
  if (!previous || !stored) {
    // Inputs after the dial, yet no session: the session was lost (the Redis holding sessions
    // restarted, or it expired). The caller is told and starts at the menu; whatever they typed
    // last (a confirmation, say) is not acted on, since no one knows what screen it answered.
    if (text.includes("*")) return { event: { type: "start", lost: true }, view: view(text, 1) };
    // First request of a session: "" is a plain dial, "3" is *1146*3# (a shortcut to menu item 3).
    const shortcut = text.split("*")[0]?.trim() ?? "";
    const event: ConversationEvent = shortcut ? { type: "start", shortcut } : { type: "start" };
    return { event, view: view(text, 1) };
  }
  const found = newInput(stored.seen, text);
  if (found.retry) return { replay: true };
  const input = found.input.trim();
  const { screen } = previous;
  // Laying the previous screen out again is most of a step's rendering cost: only a page turn, or
  // a screen left on a later page, needs its page count.
  const paging =
    input === NAV_KEYS.next || (input === NAV_KEYS.back && stored.page > 1) || (input === "" && stored.page > 1);
  const pages = paging ? pagesOf(screen, previous.locale) : 1;
  const page = Math.min(stored.page, pages);

  if (input === "") return { redisplay: true, view: view(text, page) };
  if (input === NAV_KEYS.next && page < pages) return { redisplay: true, view: view(text, page + 1) };
  if (input === NAV_KEYS.back && page > 1) return { redisplay: true, view: view(text, page - 1) };
  const event = toEvent(input, screen);
  return { event, view: view(text, 1) };
}

/** The event for one input on a screen (page turns already handled). */
export function toEvent(input: string, screen: Screen): ConversationEvent {
  if (input === NAV_KEYS.home) return { type: "home" };
  if (input === NAV_KEYS.back && !zeroIsAnswer(screen)) return { type: "back" };
  if (screen.input.kind !== "text" && /^\d{1,3}$/.test(input)) {
    const option = screen.options[Number(input) - 1];
    if (option) return { type: "choose", key: option.key };
  }
  return { type: "text", value: input };
}
