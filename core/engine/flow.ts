import type { Channel, FlowData, Locale, Params, Text } from "../domain/vocabulary.js";
import type { Services } from "../services/index.js";
import type { InputSpec, Option } from "./types.js";

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

export interface Step<D extends FlowData> {
  screen(ctx: StepContext, data: D): StepScreen | Promise<StepScreen>;
  on?(ctx: StepContext, data: D, input: StepInput): Outcome<D> | Promise<Outcome<D>>;
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
  | "profile";

export interface Flow<D extends FlowData = FlowData> {
  id: FlowId;
  /** Builds the first step and its data; may look at drafts or the profile. */
  begin(ctx: StepContext, args: FlowData | undefined): { step: string; data: D } | Promise<{ step: string; data: D }>;
  steps: Record<string, Step<D>>;
}

/** Declares a flow with its data type checked against its steps. */
export const defineFlow = <D extends FlowData>(flow: Flow<D>): Flow<D> => flow;

export const text = (key: string, params?: Params): Text => (params ? { key, params } : { key });
export const option = (key: string, labelKey: string, params?: Params): Option => ({
  key,
  label: text(labelKey, params),
});
