import { DomainError } from "../domain/errors.js";
import type { Channel, FlowData, JsonValue, Locale, Text } from "../domain/vocabulary.js";
import type { CitizenRecord, CitizenService } from "../services/citizens.js";
import type { Services } from "../services/index.js";
import type {
  ArrivalContext,
  ArrivalFlow,
  ArrivalOutcome,
  CitizenProfile,
  Flow,
  FlowId,
  Outcome,
  StepContext,
  StepInput,
  StepScreen,
} from "./flow.js";
import { profileOf, text } from "./flow.js";
import type { RateLimiter } from "./rate-limit.js";
import type { ClaimedSession, SessionState, SessionStore } from "./session-store.js";
import type { ConversationEvent, Identity, Screen } from "./types.js";

export interface EngineOptions {
  services: Services;
  sessions: SessionStore;
  flows: Flow[];
  /** What runs before the person is known with a language (core/flows/onboarding.ts). */
  onboarding: ArrivalFlow;
  /** Idle time after which a session starts afresh (drafts survive in their own table). */
  idleSeconds: Record<Channel, number>;
  clock?: () => Date;
  /** Steps per person (phone or Telegram user) and window; over it the person is asked to wait. */
  stepLimiter?: RateLimiter;
  /**
   * What a plain start opens instead of the main menu when the session store says the caller has
   * a question waiting (the rating question on USSD, core/flows/rating.ts); undefined: the menu.
   */
  opening?: (ctx: StepContext) => Promise<Outcome<FlowData> | undefined>;
}

/** What the channel saw last time in this session: the screen on display and its own view state. */
export interface PreviousTurn {
  screen: Screen;
  view: JsonValue;
  locale: Locale;
  steps: number;
}

/**
 * How a channel turns its raw input into an event, knowing the previous turn (USSD resends the
 * whole input history; only the channel can tell which part is new).
 *  - `event`: process it; `view` is stored with the new screen (e.g. the raw input seen so far).
 *  - `replay`: a retry of a step already processed; answer the stored screen, change nothing.
 *  - `redisplay`: same screen, new view (a page turn); the flow does not move.
 */
export type ChannelDecision =
  | { event: ConversationEvent; view?: JsonValue }
  | { replay: true }
  | { redisplay: true; view: JsonValue };

export interface StepRequest {
  channel: Channel;
  /** USSD sessionId or Telegram chat id. */
  sessionKey: string;
  identity: Identity;
  event: ConversationEvent | ((previous: PreviousTurn | undefined) => ChannelDecision);
}

export interface StepReply {
  screen: Screen;
  locale: Locale;
  citizenId: number | null;
  /** The channel's view state stored with this screen. */
  view: JsonValue;
  /** True when nothing was processed (a retry or a page turn). */
  replayed: boolean;
}

type ResolvedRequest = Omit<StepRequest, "event"> & { event: ConversationEvent };

/** What one step leaves: the session state to store, the screen, and the language it is shown in. */
type Turn = { state: SessionState; screen: Screen; locale: Locale };

const MAX_INVALID = 3;
const MAX_HISTORY = 30;
/** How long after a step began people still count as being served (see `busy`). */
const BUSY_MS = 1_000;

/**
 * The conversation engine: one step per event, the same for every channel. It loads the session,
 * applies navigation, lets the current flow step handle the input, renders the next screen and
 * persists the session before answering.
 */
export class ConversationEngine {
  private readonly flows: Map<FlowId, Flow>;
  private readonly clock: () => Date;
  /** The language each recent person used, so a refusal without a database read is still theirs. */
  private readonly recentLocales = new Map<string, Locale>();
  /** When this process's last step began, on the monotonic clock (not `clock`: no business time). */
  private lastStepAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: EngineOptions) {
    this.flows = new Map(options.flows.map((f) => [f.id, f]));
    this.clock = options.clock ?? (() => new Date());
    for (const id of ["menu", "language"] as const) {
      if (!this.flows.has(id)) throw new Error(`the engine needs the "${id}" flow`);
    }
  }

  flow(id: FlowId): Flow {
    const flow = this.flows.get(id);
    if (!flow) throw new Error(`unknown flow "${id}"`);
    return flow;
  }

  /**
   * True while people are being served here: a step began within the last second. Work that can
   * wait (an import, core/services/imports/rows.ts's importPace) rests while it is.
   */
  busy(): boolean {
    return performance.now() - this.lastStepAt < BUSY_MS;
  }

  async step(input: StepRequest): Promise<StepReply> {
    this.lastStepAt = performance.now();
    const now = this.clock();
    // A Telegram user is one person whether or not this update carries their phone (a shared contact).
    const person = input.identity.telegramUserId?.toString() ?? input.identity.phone;
    const limiter = this.options.stepLimiter;
    if (person && limiter && !(await limiter.hit(person, now.getTime()))) {
      // Answered without touching the database: the point is to shed load.
      return {
        screen: {
          body: [text("errors.rate_limited")],
          options: [],
          input: { kind: "none" },
          nav: { back: false, home: false },
          end: true,
        },
        locale: this.recentLocales.get(person) ?? input.identity.localeHint ?? "uz",
        citizenId: null,
        view: null,
        replayed: true,
      };
    }
    const claimed = await this.options.sessions.claim(input.channel, input.sessionKey, input.identity.phone);
    try {
      return await this.run(input, claimed, person, now);
    } catch (err) {
      // Nothing of this step is stored: the next copy of the request runs it afresh.
      await this.options.sessions.release(input.channel, input.sessionKey, claimed.lease).catch(() => {});
      throw err;
    }
  }

  /** One step on a session this request holds; every way out writes the session (or the caller releases it). */
  private async run(input: StepRequest, claimed: ClaimedSession, person: string | undefined, now: Date) {
    const { lease, citizen: known } = claimed;
    const owner = ownerOf(input.identity);
    // A session key is only the gateway's (or chat's) word: a request from another person under it
    // starts afresh, and never sees, replays or continues what the first one did.
    const stored = claimed.session && claimed.session.state.owner === owner ? claimed.session : undefined;
    const previous: PreviousTurn | undefined = stored?.lastScreen
      ? { screen: stored.lastScreen, view: stored.view, locale: stored.locale, steps: stored.steps }
      : undefined;
    const decision: ChannelDecision =
      typeof input.event === "function" ? input.event(previous) : { event: input.event };
    const idle = this.options.idleSeconds[input.channel];
    if (stored && previous && !("event" in decision)) {
      const replay = "replay" in decision;
      if (replay) {
        await this.options.sessions.release(input.channel, input.sessionKey, lease);
      } else {
        await this.options.sessions.save(
          {
            ...stored,
            channel: input.channel,
            sessionKey: input.sessionKey,
            lastScreen: previous.screen,
            view: decision.view,
            expiresAt: new Date(now.getTime() + idle * 1000),
          },
          lease,
        );
      }
      const view = replay ? previous.view : decision.view;
      return { screen: previous.screen, locale: previous.locale, citizenId: stored.citizenId, view, replayed: true };
    }
    const request = { ...input, event: "event" in decision ? decision.event : ({ type: "start" } as const) };
    const view = "event" in decision ? (decision.view ?? null) : null;
    const live = stored && stored.expiresAt > now ? stored : undefined;
    // The loaded citizen is trusted only if it is the caller (identify checks), live session or not.
    const citizen = await this.identify(request, known);

    const questionOpen = claimed.questionOpen === true && citizen?.id === known?.id;
    const watch: CitizenWatch = { changed: false };
    const { state, screen, locale } = citizen?.locale
      ? await this.converse(request, live?.state, profileOf(citizen, citizen.locale), now, questionOpen, watch)
      : await this.onboard(request, live?.state, citizen, now);
    if (person) this.rememberLocale(person, locale);
    const sessionCitizen = state.citizenId ?? citizen?.id ?? null;
    // The record read for this step is still the citizen's only if no step of a flow wrote to them
    // (onboarding always does): a store may keep it with the session instead of reading it again.
    const vouched = citizen?.locale && !watch.changed && citizen.id === sessionCitizen ? citizen : null;
    await this.options.sessions.save(
      {
        channel: request.channel,
        sessionKey: request.sessionKey,
        citizenId: sessionCitizen,
        state: { ...state, owner },
        steps: (stored?.steps ?? 0) + 1,
        lastScreen: screen,
        view,
        locale,
        expiresAt: new Date(now.getTime() + idle * 1000),
        citizen: vouched,
      },
      lease,
    );
    return { screen, locale, citizenId: sessionCitizen, view, replayed: false };
  }

  /**
   * The language a person (phone, or Telegram user id) last used here, from memory: lets a channel
   * apologise in their language when the database cannot be asked.
   */
  knownLocale(person: string): Locale | undefined {
    return this.recentLocales.get(person);
  }

  private rememberLocale(person: string, locale: Locale) {
    if (this.recentLocales.size >= 100_000) this.recentLocales.clear();
    this.recentLocales.set(person, locale);
  }

  private async identify(request: ResolvedRequest, known: CitizenRecord | null): Promise<CitizenRecord | null> {
    const { citizens } = this.options.services;
    const { identity } = request;
    // The session's citizen was read with the session; it is the caller when the identities agree.
    if (known && (identity.phone ? known.phone === identity.phone : identity.telegramUserId === known.telegramUserId)) {
      if (identity.telegramUserId === undefined || known.telegramUserId === identity.telegramUserId) return known;
    }
    if (identity.phone) {
      const byPhone = await citizens.findByPhone(identity.phone);
      if (byPhone && identity.telegramUserId !== undefined && byPhone.telegramUserId !== identity.telegramUserId) {
        return citizens.linkTelegram(byPhone.id, identity.telegramUserId, identity.telegramChatId);
      }
      return byPhone ?? (request.channel === "ussd" ? citizens.create({ phone: identity.phone }) : null);
    }
    if (identity.telegramUserId !== undefined) return citizens.findByTelegram(identity.telegramUserId);
    return known;
  }

  /**
   * Runs the onboarding flow's step for this event. The flow's own rules decide; the engine adds
   * what it does for every flow: counting refusals in a row (an input sent before the person saw
   * the screen is not one), the error line, and the limit of three.
   */
  private async onboard(
    request: ResolvedRequest,
    previous: SessionState | undefined,
    citizen: CitizenRecord | null,
    now: Date,
  ): Promise<Turn> {
    const { event, identity } = request;
    const flow = this.options.onboarding;
    const resumed = previous?.flow === flow.id && flow.steps[previous.step] ? previous : undefined;
    const ctx: ArrivalContext = {
      services: this.options.services,
      channel: request.channel,
      now,
      identity,
      citizen,
      locale: resumed?.locale ?? identity.localeHint,
    };
    const base: SessionState = resumed ?? {
      flow: flow.id,
      ...(await flow.begin(ctx)),
      history: [],
      optionKeys: [],
      invalid: 0,
      pending: event.type === "start" && event.shortcut ? { shortcut: event.shortcut } : undefined,
    };
    const step = this.arrivalStep(base.step);
    let outcome: ArrivalOutcome<FlowData> | undefined =
      isInputEvent(event) && step.on ? await step.on(ctx, base.data, event) : undefined;
    if (!outcome || "invalid" in outcome) outcome = (await step.skip?.(ctx, base.data)) ?? outcome;
    if (outcome && "arrived" in outcome) {
      // Known now, with a language: the conversation opens as a start would, where first contact was heading.
      return this.converse({ ...request, event: { type: "start", ...base.pending } }, undefined, outcome.arrived, now);
    }
    const refused = outcome && "invalid" in outcome && resumed ? outcome.invalid : undefined;
    const state: SessionState = {
      ...base,
      ...(outcome && "to" in outcome ? { step: outcome.to, data: outcome.data } : {}),
      locale: ctx.locale,
      invalid: refused ? base.invalid + 1 : 0,
    };
    const shownLocale = ctx.locale ?? "uz";
    if (state.invalid >= MAX_INVALID)
      return { state: resetState(state), screen: tooManyInvalid(), locale: shownLocale };
    const screen = toScreen(await this.arrivalStep(state.step).screen(ctx, state.data), false, false);
    if (refused) screen.error = refused;
    state.optionKeys = screen.options.map((o) => o.key);
    return { state, screen, locale: shownLocale };
  }

  private arrivalStep(id: string) {
    const step = this.options.onboarding.steps[id];
    if (!step) throw new Error(`flow "onboarding" has no step "${id}"`);
    return step;
  }

  /** A dialled shortcut (*1146*3#) picks the main menu's option at that position. */
  private async menuChoice(ctx: StepContext, shortcut: string): Promise<Outcome<FlowData>> {
    const menu = this.flow("menu");
    const first = await menu.begin(ctx, undefined);
    const step = menu.steps[first.step];
    const position = /^\d{1,2}$/.test(shortcut) ? Number(shortcut) : 0;
    const chosen = step && (await step.screen(ctx, first.data)).options?.[position - 1];
    if (!step?.on || !chosen) return { flow: "menu" };
    const outcome = await step.on(ctx, first.data, { type: "choose", key: chosen.key });
    return "invalid" in outcome ? { flow: "menu" } : outcome;
  }

  private context(channel: Channel, citizen: CitizenProfile, now: Date, watch: CitizenWatch): StepContext {
    const services = this.options.services;
    const ctx: StepContext = {
      services: { ...services, citizens: watchWrites(services.citizens, watch) },
      citizen,
      locale: citizen.locale,
      channel,
      now,
      changeLocale: async (locale) => {
        watch.changed = true;
        await services.citizens.setLocale(citizen.id, locale);
        ctx.locale = locale;
        ctx.citizen = { ...ctx.citizen, locale };
      },
    };
    return ctx;
  }

  /** One step of a citizen known with a language; the answer is in the language the step leaves. */
  private async converse(
    request: ResolvedRequest,
    previous: SessionState | undefined,
    citizen: CitizenProfile,
    now: Date,
    questionOpen = false,
    watch: CitizenWatch = { changed: false },
  ): Promise<Turn> {
    const { state, screen } = await this.advance(request, previous, citizen, now, questionOpen, watch);
    return { state, screen, locale: state.locale ?? citizen.locale };
  }

  private async advance(
    request: ResolvedRequest,
    previous: SessionState | undefined,
    citizen: CitizenProfile,
    now: Date,
    questionOpen: boolean,
    watch: CitizenWatch,
  ): Promise<{ state: SessionState; screen: Screen }> {
    const ctx = this.context(request.channel, citizen, now, watch);
    const { event } = request;
    const current = previous && previous.flow !== "onboarding" && !previous.ended ? previous : undefined;

    if (event.type === "start") {
      if (event.lost) {
        const shown = await this.enterFlow(ctx, "menu");
        shown.screen.error = text("errors.session_restarted");
        return shown;
      }
      if (event.shortcut) return this.applyOutcome(ctx, undefined, await this.menuChoice(ctx, event.shortcut));
      // Asked only when the session's own read said so: a plain start costs nothing more otherwise.
      const opening = questionOpen ? await this.options.opening?.(ctx) : undefined;
      if (opening) return this.applyOutcome(ctx, undefined, opening);
      return this.enterFlow(ctx, "menu");
    }
    if (!current) return this.enterFlow(ctx, "menu");
    if (event.type === "home") return this.enterFlow(ctx, "menu");
    if (event.type === "back") {
      const last = current.history.at(-1);
      if (!last) return this.enterFlow(ctx, "menu");
      return this.show(ctx, { ...current, step: last.step, data: last.data, history: current.history.slice(0, -1) });
    }

    const flow = this.flows.get(current.flow as FlowId);
    const step = flow?.steps[current.step];
    if (!flow || !step) return this.enterFlow(ctx, "menu");
    if (event.type === "choose" && !current.optionKeys.includes(event.key)) {
      return this.refuse(ctx, current, text("errors.choose_option"));
    }
    if (!step.on) return this.refuse(ctx, current, text("errors.choose_option"));
    let outcome: Outcome<FlowData>;
    try {
      outcome = await step.on(ctx, current.data, event);
    } catch (err) {
      if (err instanceof DomainError) return this.refuse(ctx, current, err.text);
      throw err;
    }
    return this.applyOutcome(ctx, current, outcome);
  }

  private async applyOutcome(
    ctx: StepContext,
    current: SessionState | undefined,
    outcome: Outcome<FlowData>,
  ): Promise<{ state: SessionState; screen: Screen }> {
    if ("invalid" in outcome) {
      if (!current) return this.enterFlow(ctx, "menu");
      return this.refuse(ctx, current, outcome.invalid);
    }
    if ("flow" in outcome) return this.enterFlow(ctx, outcome.flow, outcome.args);
    if (!current) throw new Error("a step outcome needs a current step");
    if ("to" in outcome) {
      const history = [...current.history, { step: current.step, data: current.data }].slice(-MAX_HISTORY);
      return this.show(ctx, { ...current, step: outcome.to, data: outcome.data, history, invalid: 0 });
    }
    return this.show(ctx, { ...current, step: outcome.replace, data: outcome.data, invalid: 0 });
  }

  private async enterFlow(ctx: StepContext, id: FlowId, args?: FlowData) {
    const flow = this.flow(id);
    const { step, data } = await flow.begin(ctx, args);
    return this.show(ctx, {
      flow: id,
      step,
      data,
      history: [],
      optionKeys: [],
      invalid: 0,
      citizenId: ctx.citizen.id,
      locale: ctx.locale,
    });
  }

  private async refuse(ctx: StepContext, current: SessionState, reason: Text) {
    const invalid = current.invalid + 1;
    if (invalid >= MAX_INVALID) {
      return {
        state: { ...resetState(current), locale: ctx.locale },
        screen: tooManyInvalid(),
      };
    }
    const shown = await this.show(ctx, { ...current, invalid });
    shown.screen.error = reason;
    return shown;
  }

  private async show(ctx: StepContext, state: SessionState): Promise<{ state: SessionState; screen: Screen }> {
    const flow = this.flow(state.flow as FlowId);
    const step = flow.steps[state.step];
    if (!step) throw new Error(`flow "${flow.id}" has no step "${state.step}"`);
    const parts = await step.screen(ctx, state.data);
    const screen = toScreen(parts, state.history.length > 0 || flow.id !== "menu", flow.id !== "menu");
    return {
      state: { ...state, locale: ctx.locale, ended: screen.end, optionKeys: screen.options.map((o) => o.key) },
      screen,
    };
  }
}

function toScreen(parts: StepScreen, canGoBack: boolean, canGoHome: boolean): Screen {
  const end = parts.end ?? false;
  const options = parts.options ?? [];
  return {
    body: parts.body,
    options,
    input: parts.input ?? (options.length ? { kind: "choice" } : { kind: "none" }),
    nav: { back: !end && !parts.noBack && canGoBack, home: canGoHome },
    end,
    ...(parts.acceptsLocation ? { acceptsLocation: true } : {}),
  };
}

/** Where to turn instead: a place every citizen has, not a number that may not be set. */
function tooManyInvalid(): Screen {
  return {
    body: [text("errors.too_many_invalid"), text("help.inson_any")],
    options: [],
    input: { kind: "none" },
    nav: { back: false, home: true },
    end: true,
  };
}

function resetState(state: SessionState): SessionState {
  return { ...state, flow: "menu", step: "main", data: {}, history: [], optionKeys: [], invalid: 0, ended: true };
}

/** Whether a step wrote to its citizen (so the record read at its start is no longer theirs). */
interface CitizenWatch {
  changed: boolean;
}

/**
 * The citizen service as a flow step sees it: every method but a read (find…, has…) marks the
 * step as having changed the citizen. A method added later counts as a write until named a read.
 */
function watchWrites(citizens: CitizenService, watch: CitizenWatch): CitizenService {
  return new Proxy(citizens, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const read = typeof property === "string" && /^(find|has)[A-Z]/.test(property);
      return (...args: unknown[]) => {
        if (!read) watch.changed = true;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const isInputEvent = (event: ConversationEvent): event is StepInput & ConversationEvent =>
  event.type === "choose" || event.type === "text" || event.type === "contact" || event.type === "location";

/** Who a request comes from, as a session records its holder: the Telegram user, else the phone. */
function ownerOf(identity: Identity): string {
  if (identity.telegramUserId !== undefined) return `telegram:${identity.telegramUserId}`;
  return `phone:${identity.phone ?? ""}`;
}
