import type { Channel, FlowData, Locale, Params, Text } from "../domain/vocabulary.js";
import type { CitizenRecord } from "../services/citizens.js";
import type { Services } from "../services/index.js";
import type { Identity, InputSpec, Option } from "./types.js";

export interface CitizenProfile {
  id: number;
  phone: string;
  locale: Locale;
  pinfl: string | null;
  fullName: string | null;
  mahallaId: number | null;
}

export interface StepContext {
  services: Services;
  citizen: CitizenProfile;
  /** The language of this step's answer; `changeLocale` switches it (and the citizen's) at once. */
  locale: Locale;
  channel: Channel;
  now: Date;
  changeLocale(locale: Locale): Promise<void>;
}

/**
 * What onboarding's steps see: the person may not be known yet (on Telegram, before they share
 * their contact) and has no language until they choose one or the channel suggests one.
 */
export interface ArrivalContext {
  services: Services;
  channel: Channel;
  now: Date;
  identity: Identity;
  /** The citizen the channel's identity already names (every USSD phone), still without a language. */
  citizen: CitizenRecord | null;
  /** The language chosen so far, else the channel's suggestion; a step sets it when one is chosen. */
  locale: Locale | undefined;
}

/** The parts of a screen a step decides; the engine adds navigation and the error line. */
export interface StepScreen {
  body: Text[];
  options?: Option[];
  input?: InputSpec;
  acceptsLocation?: boolean;
  /** A final screen: the conversation can close here (USSD END), the next input starts afresh. */
  end?: boolean;
  /** Hide Back on this screen (e.g. after a submission, going back would replay it). */
  noBack?: boolean;
}

/** The input a step receives: navigation is handled by the engine before steps see anything. */
export type StepInput =
  | { type: "choose"; key: string }
  | { type: "text"; value: string }
  | { type: "contact"; phone: string }
  | { type: "location"; latitude: number; longitude: number };

export type Outcome<D extends FlowData> =
  /** Move to another step; Back returns to this one with this data. */
  | { to: string; data: D }
  /** Show another step (or the same one) without recording history: paging, filtering, refreshing. */
  | { replace: string; data: D }
  /** The input was refused: the same screen again, with this reason. */
  | { invalid: Text }
  /** Leave this flow for another (the main menu when `flow` is "menu"). */
  | { flow: FlowId; args?: FlowData };

/**
 * How onboarding moves: to another of its steps (it has no Back), a refusal, or its end, the person
 * known and with a language; the conversation then opens as a start would.
 */
export type ArrivalOutcome<D extends FlowData> =
  | { to: string; data: D }
  | { invalid: Text }
  | { arrived: CitizenProfile };

export interface Step<D extends FlowData, C = StepContext, O = Outcome<D>> {
  screen(ctx: C, data: D): StepScreen | Promise<StepScreen>;
  on?(ctx: C, data: D, input: StepInput): O | Promise<O>;
}

export interface ArrivalStep<D extends FlowData> extends Step<D, ArrivalContext, ArrivalOutcome<D>> {
  /**
   * What to do instead of asking when the answer is already known (a language the channel
   * suggested): consulted when this step, on display or just begun, took no valid answer (a
   * refused input, or an event that is no answer, such as a start).
   */
  skip?(ctx: ArrivalContext, data: D): ArrivalOutcome<D> | undefined | Promise<ArrivalOutcome<D> | undefined>;
}

export type FlowId =
  | "menu"
  | "language"
  | "apply"
  | "status"
  | "payments"
  | "visit"
  | "myVisits"
  | "appeal"
  | "help"
  | "rating";

export interface Flow<D extends FlowData = FlowData> {
  id: FlowId;
  /** Builds the first step and its data; may look at drafts or the profile. */
  begin(ctx: StepContext, args: FlowData | undefined): { step: string; data: D } | Promise<{ step: string; data: D }>;
  steps: Record<string, Step<D>>;
}

/** The flow that runs before the person is known with a language; the engine runs it instead of the others. */
export interface ArrivalFlow<D extends FlowData = FlowData> {
  id: "onboarding";
  begin(ctx: ArrivalContext): { step: string; data: D } | Promise<{ step: string; data: D }>;
  steps: Record<string, ArrivalStep<D>>;
}

/** Declares a flow with its data type checked against its steps. */
export function defineFlow<D extends FlowData>(flow: Flow<D>): Flow<D>;
export function defineFlow<D extends FlowData>(flow: ArrivalFlow<D>): ArrivalFlow<D>;
export function defineFlow<D extends FlowData>(flow: Flow<D> | ArrivalFlow<D>): Flow<D> | ArrivalFlow<D> {
  return flow;
}

/** The citizen as steps see them, in the language of the conversation. */
export const profileOf = (citizen: Omit<CitizenProfile, "locale">, locale: Locale): CitizenProfile => ({
  id: citizen.id,
  phone: citizen.phone,
  locale,
  pinfl: citizen.pinfl,
  fullName: citizen.fullName,
  mahallaId: citizen.mahallaId,
});

export const text = (key: string, params?: Params): Text => (params ? { key, params } : { key });
export const option = (key: string, labelKey: string, params?: Params): Option => ({
  key,
  label: text(labelKey, params),
});
