import type { JsonValue } from "../core/domain/vocabulary.js";
import type { ChannelDecision, PreviousTurn } from "../core/engine/engine.js";
import type { ConversationEvent } from "../core/engine/types.js";
import type { Translator } from "../core/i18n/index.js";
import { keyboardKind, replyButtonEvent, type ScreenToken } from "./render.js";

/**
 * What the bot keeps with each screen in the engine session (the channel-owned `view`):
 *  - `turn` counts screens shown in this chat; buttons carry it, so an old button is recognised;
 *  - `page` of a long option list.
 * Which message shows the screen is not kept: a press edits the message it came from, typed input
 * gets a new one, and older messages keep their keyboards, whose `turn` makes every press on them
 * stale. Keeping the id would cost a second session write per typed screen (the id is known only
 * once Telegram has answered) and taking old keyboards away a second Bot API call.
 * A redelivered update never gets this far: the update ledger takes each update id once.
 */
export interface BotView {
  turn: number;
  page: number;
}

export function readView(value: JsonValue | undefined): BotView {
  const v = value && typeof value === "object" && !Array.isArray(value) ? value : {};
  const num = (x: JsonValue | undefined) => (typeof x === "number" && Number.isSafeInteger(x) ? x : null);
  return {
    turn: num(v.turn) ?? 0,
    page: num(v.page) ?? 0,
  };
}

export const viewJson = (view: BotView): JsonValue => ({ ...view });

/** What a Telegram update means for the citizen conversation, before the engine sees it. */
export type CitizenInput =
  | { kind: "event"; event: ConversationEvent }
  | { kind: "text"; value: string }
  | { kind: "contact"; phone: string }
  | { kind: "location"; latitude: number; longitude: number }
  | { kind: "button"; token: ScreenToken | null; messageId: number }
  /** Refused before the engine: someone else's contact, a foreign number, a sticker. */
  | { kind: "refused"; key: string };

/**
 * How the bot must answer once the engine has decided:
 *  - `event`: a new screen (after `notice`, when set);
 *  - `stale`: a button of an older screen: notice, then the current screen again;
 *  - `page`: the same screen, another page;
 *  - `refused`: explain `key`, keep the current screen.
 */
export type Verdict =
  | {
      kind: "event";
      /** The keyboard the replaced screen had (a reply keyboard must be removed explicitly). */
      previousKind: "inline" | "reply" | "none" | null;
      notice?: string;
    }
  | { kind: "stale" }
  | { kind: "page" }
  | { kind: "refused"; key: string };

/**
 * Resolves the raw input against the previous turn (same database read as the step). Pure: the
 * engine calls it inside `step` and stores the returned view with the screen.
 */
export function decide(
  previous: PreviousTurn | undefined,
  input: CitizenInput,
  translator: Translator,
): { decision: ChannelDecision; verdict: Verdict } {
  if (!previous) {
    // Nothing on display yet: whatever arrived, the conversation starts.
    const notice = input.kind === "refused" ? input.key : undefined;
    return {
      decision: {
        event: toEvent(input) ?? { type: "start" },
        view: viewJson({ turn: 1, page: 0 }),
      },
      verdict: { kind: "event", previousKind: null, ...(notice ? { notice } : {}) },
    };
  }
  const view = readView(previous.view);
  if (input.kind === "refused") return { decision: { replay: true }, verdict: { kind: "refused", key: input.key } };

  let event: ConversationEvent | null;
  if (input.kind === "button") {
    const token = input.token;
    if (!token || token.turn !== view.turn) return { decision: { replay: true }, verdict: { kind: "stale" } };
    if (token.kind === "page") {
      return {
        decision: { redisplay: true, view: viewJson({ ...view, page: token.page }) },
        verdict: { kind: "page" },
      };
    }
    if (token.kind === "nav") event = { type: token.to };
    else {
      const option = previous.screen.options[token.index];
      if (!option) return { decision: { replay: true }, verdict: { kind: "stale" } };
      event = { type: "choose", key: option.key };
    }
  } else if (input.kind === "text" && keyboardKind(previous.screen) === "reply") {
    event = replyButtonEvent(previous.screen, previous.locale, translator, input.value) ?? toEvent(input);
  } else {
    event = input.kind === "event" ? input.event : toEvent(input);
  }
  return {
    decision: {
      event: event ?? { type: "start" },
      view: viewJson({ turn: view.turn + 1, page: 0 }),
    },
    verdict: { kind: "event", previousKind: keyboardKind(previous.screen) },
  };
}

function toEvent(input: CitizenInput): ConversationEvent | null {
  switch (input.kind) {
    case "event":
      return input.event;
    case "text":
      return { type: "text", value: input.value };
    case "contact":
      return { type: "contact", phone: input.phone };
    case "location":
      return { type: "location", latitude: input.latitude, longitude: input.longitude };
    default:
      return null;
  }
}
