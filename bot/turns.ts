import type { JsonValue } from "../core/domain/vocabulary.js";
import type { ChannelDecision, PreviousTurn } from "../core/engine/engine.js";
import type { ConversationEvent } from "../core/engine/types.js";
import type { Translator } from "../core/i18n/index.js";
import { keyboardKind, replyButtonEvent, type ScreenToken } from "./render.js";

/**
 * What the bot keeps with each screen in the engine session (the channel-owned `view`):
 *  - `turn` counts screens shown in this chat; buttons carry it, so an old button is recognised;
 *  - `page` of a long option list;
 *  - `applied`: the ids of the chat's last updates that moved it (an event or a page turn).
 * Which message shows the screen is not kept: a press edits the message it came from, typed input
 * gets a new one, and older messages keep their keyboards, whose `turn` makes every press on them
 * stale. Keeping the id would cost a second session write per typed screen (the id is known only
 * once Telegram has answered) and taking old keyboards away a second Bot API call.
 * A redelivered update never gets this far: the update ledger takes each update id once. But the
 * ledger marks an update handled a moment after its step was saved (bot/update-ledger.ts rides the
 * mark on the next record): a process dying in between leaves it to be taken over and handled
 * again. `applied` is saved with the step itself, so that second handling finds the update already
 * applied and shows the screen it led to instead of applying it twice.
 */
export interface BotView {
  turn: number;
  page: number;
  applied: number[];
}

/**
 * Applied update ids kept per chat: an update is taken over at the earliest a lease (10 s) after
 * it was recorded, and a chat's updates that the live processes applied meanwhile are fewer.
 */
export const APPLIED_KEPT = 16;

export function readView(value: JsonValue | undefined): BotView {
  const v = value && typeof value === "object" && !Array.isArray(value) ? value : {};
  const num = (x: JsonValue | undefined) => (typeof x === "number" && Number.isSafeInteger(x) ? x : null);
  const applied = Array.isArray(v.applied)
    ? v.applied
        .map(num)
        .filter((id): id is number => id !== null)
        .slice(-APPLIED_KEPT)
    : [];
  return {
    turn: num(v.turn) ?? 0,
    page: num(v.page) ?? 0,
    applied,
  };
}

/** Applied ids with this update's (unchanged when the input came with no update id). */
const applying = (applied: number[], updateId: number | undefined) =>
  updateId === undefined ? applied : [...applied, updateId].slice(-APPLIED_KEPT);

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
 *  - `again`: an update this chat already applied (handled before its process died): the current
 *    screen, in place for a press, in case its first handling never got to show it;
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
  | { kind: "again" }
  | { kind: "refused"; key: string };

/**
 * Resolves the raw input against the previous turn (same database read as the step). Pure: the
 * engine calls it inside `step` and stores the returned view with the screen. `updateId` is the
 * Telegram update the input came in.
 */
export function decide(
  previous: PreviousTurn | undefined,
  input: CitizenInput,
  translator: Translator,
  updateId?: number,
): { decision: ChannelDecision; verdict: Verdict } {
  if (!previous) {
    // Nothing on display yet: whatever arrived, the conversation starts.
    const notice = input.kind === "refused" ? input.key : undefined;
    return {
      decision: {
        event: toEvent(input) ?? { type: "start" },
        view: viewJson({ turn: 1, page: 0, applied: applying([], updateId) }),
      },
      verdict: { kind: "event", previousKind: null, ...(notice ? { notice } : {}) },
    };
  }
  const view = readView(previous.view);
  if (updateId !== undefined && view.applied.includes(updateId)) {
    return { decision: { replay: true }, verdict: { kind: "again" } };
  }
  if (input.kind === "refused") return { decision: { replay: true }, verdict: { kind: "refused", key: input.key } };

  let event: ConversationEvent | null;
  if (input.kind === "button") {
    const token = input.token;
    if (!token || token.turn !== view.turn) return { decision: { replay: true }, verdict: { kind: "stale" } };
    if (token.kind === "page") {
      return {
        decision: {
          redisplay: true,
          view: viewJson({ ...view, page: token.page, applied: applying(view.applied, updateId) }),
        },
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
      view: viewJson({ turn: view.turn + 1, page: 0, applied: applying(view.applied, updateId) }),
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
