/**
 * The load generator, a process of its own (forked by bench/run.ts with an IPC channel): N virtual
 * USSD gateways or Telegram chats replay payment-day sessions against one server on 127.0.0.1,
 * each waiting for its answer before the next step, and report what they measured.
 */
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { type Answer, KeepAliveClient, RequestFailed } from "./http-client.js";
import {
  BENCH_USSD_TOKEN,
  kindFor,
  localeOf,
  PoolCursor,
  phoneOf,
  poolSizes,
  pools,
  SESSION_KINDS,
  type SessionKind,
  telegramIdOf,
} from "./population.js";
import { readMetric } from "./processes.js";
import {
  buttonFor,
  callbackUpdate,
  hasNextPage,
  TELEGRAM_SCRIPTS,
  type TelegramAction,
  textUpdate,
  USSD_SCRIPTS,
  ussdText,
} from "./scenarios.js";
import { type LatencySummary, Samples } from "./stats.js";
import type { ScreenEvent } from "./tg-double.js";

export interface LoadSpec {
  mode: "ussd" | "telegram" | "calibrate";
  /** http://127.0.0.1:<port> */
  target: string;
  /**
   * Several instances behind one imaginary load balancer: connection i goes to targets[i mod n]
   * (default: `target` alone). Metrics are still read from `target`.
   */
  targets?: string[];
  concurrency: number;
  /** Not measured: connections open, caches fill, the pace settles. */
  warmupMs: number;
  durationMs: number;
  citizens: number;
  /** Where each pool's cursor starts (apply citizens must not apply twice on one database). */
  offsets: Record<SessionKind, number>;
  /** Makes USSD session ids unique across the runs of one back end. */
  sessionPrefix: string;
  /** The ceiling: the bare route answers "END ok" and sends no Telegram replies. */
  bare: boolean;
  requestTimeoutMs: number;
  telegram?: { secret: string; botId: number; updateIdBase: number; replyTimeoutMs: number };
  /** Calibration: sessions per kind, one at a time. */
  calibrateSessions?: number;
  /**
   * A person's pause after each answer before the next input (ms, varied ±50 %); 0 or unset: none,
   * so the sessions are closed-loop and measure capacity.
   */
  thinkMs?: number;
  /**
   * Keep when each step of the window was answered, with its latency (`LoadResult.timeline`), so
   * a run with phases of its own (payment day's import, then its drain) can be cut by them.
   */
  timeline?: boolean;
}

export interface ErrorCounts {
  /** Connection refused/reset, or no answer within the request timeout. */
  network: number;
  timeout: number;
  /** Answers other than 200, by status. */
  status: Record<string, number>;
  /** USSD answers not starting with "CON " or "END ". */
  badPrefix: number;
  /** Telegram: the bot sent no screen after an update. */
  noReply: number;
  /** The server's "temporarily unavailable" END: it failed the step and apologised. */
  apology: number;
}

export interface KindCalibration {
  sessions: number;
  steps: number;
  statements: number;
  perStep: number;
}

export interface LoadResult {
  mode: LoadSpec["mode"];
  concurrency: number;
  /** The pause between steps (0: closed-loop). */
  thinkMs: number;
  windowMs: number;
  /** Steps (USSD requests or Telegram updates) answered inside the measured window. */
  steps: number;
  stepsPerSecond: number;
  latency: LatencySummary;
  histogram: number[];
  errors: ErrorCounts;
  /** Errors over the whole run (warm-up and drain included): slow answers often land after the window. */
  errorsInRun: number;
  /** Steps above one second answered after the warm-up (window and drain). */
  slowAfterWarmup: number;
  /** A well-formed answer the script did not expect (e.g. CON where it expected END). */
  unexpected: number;
  unexpectedSamples: string[];
  sessionsCompleted: Record<SessionKind, number>;
  /** Every step answered during the whole run (warm-up and drain included), for statements/step. */
  totalSteps: number;
  /** Telegram: Bot API methods carried in webhook answers (made by Telegram, not requested). */
  webhookReplyCalls?: number;
  /** CPU the generator itself spent per step inside the measured window (ms). */
  generatorCpuMsPerStep: number;
  /**
   * The generator's own event-loop delay inside the window (ms, p99 and max): an answer it read
   * late is counted late, so a figure here near the latencies means they are partly its own.
   */
  generatorLoopDelayMs: { p99: number; max: number };
  /** The measured window on the monotonic clock (µs, as process.hrtime), to cut a CPU profile. */
  windowMicros: { from: number; to: number };
  /** With `spec.timeline`: each step of the window, when it was answered (epoch ms) and its latency (ms). */
  timeline?: { at: number[]; ms: number[] };
  /** Cursor positions after the run: the next run's offsets. */
  taken: Record<SessionKind, number>;
  wrapped: SessionKind[];
  calibration?: {
    idleStatementsPerSecond: number;
    kinds: Record<SessionKind, KindCalibration>;
    /** Step latency with one session at a time: the floor under every concurrent figure. */
    latency: LatencySummary;
  };
}

/** Counters shared by every virtual client of one run. */
class Meter {
  readonly samples = new Samples();
  readonly errors: ErrorCounts = { network: 0, timeout: 0, status: {}, badPrefix: 0, noReply: 0, apology: 0 };
  unexpected = 0;
  readonly unexpectedSamples: string[] = [];
  totalSteps = 0;
  readonly completed = Object.fromEntries(SESSION_KINDS.map((k) => [k, 0])) as Record<SessionKind, number>;
  windowStart = 0;
  windowEnd = 0;
  windowMicros = { from: 0, to: 0 };
  /** The generator's own CPU time inside the window. */
  windowCpuMs = 0;
  /** Its own event-loop delay inside the window (ms). */
  loopDelayMs = { p99: Number.NaN, max: Number.NaN };
  /** Errors of every kind over the whole run, warm-up and drain included. */
  allErrors = 0;
  /** Steps above one second answered in the window or while draining. */
  slowAfterWarmup = 0;
  /** Telegram: webhook answers that carried a Bot API method for Telegram to make. */
  webhookReplyCalls = 0;
  stopping = false;
  /** Set for a spec that asks for its timeline. */
  timeline: { at: number[]; ms: number[] } | undefined;

  inWindow(at: number) {
    return at >= this.windowStart && at <= this.windowEnd;
  }

  record(startedAt: number, endedAt: number) {
    this.totalSteps++;
    if (this.inWindow(endedAt)) {
      this.samples.add(endedAt - startedAt);
      // Epoch ms: the process that cuts the timeline has a clock of its own.
      this.timeline?.at.push(performance.timeOrigin + endedAt);
      this.timeline?.ms.push(endedAt - startedAt);
    }
    // Steps answered while draining were sent inside the window: a slow one still counts.
    if (endedAt >= this.windowStart && endedAt - startedAt > 1000) this.slowAfterWarmup++;
  }

  error(at: number, apply: (e: ErrorCounts) => void) {
    this.allErrors++;
    if (this.inWindow(at)) apply(this.errors);
  }

  surprise(at: number, what: string) {
    if (!this.inWindow(at)) return;
    this.unexpected++;
    if (this.unexpectedSamples.length < 5) this.unexpectedSamples.push(what.slice(0, 300));
  }
}

/** One keep-alive connection per virtual client, created on first use. */
function poster(targets: string[], timeoutMs: number) {
  const urls = targets.map((t) => new URL(t));
  const clients: KeepAliveClient[] = [];
  const client = () => {
    const url = urls[clients.length % urls.length] as URL;
    const c = new KeepAliveClient(url.hostname, Number(url.port), timeoutMs);
    clients.push(c);
    return c;
  };
  return {
    client,
    /**
     * Connects `n` clients a batch at a time, as a gateway's pool grows: a thousand simultaneous
     * SYNs overflow the listen backlog and would measure TCP retransmits, not the server.
     */
    async openMany(n: number): Promise<KeepAliveClient[]> {
      const opened: KeepAliveClient[] = [];
      for (let i = 0; i < n; i += 50) {
        const batch = Array.from({ length: Math.min(50, n - i) }, client);
        await Promise.all(batch.map((c) => c.open()));
        opened.push(...batch);
      }
      return opened;
    },
    close: () => {
      for (const c of clients) c.close();
    },
  };
}

type Post = KeepAliveClient["post"];

/**
 * The opening words of the apology the USSD route answers when a step fails (errors.unavailable in
 * each language, as the GSM alphabet writes it), so a failed step is not mistaken for a screen.
 */
const APOLOGIES: string[] = ["uz", "uz-Cyrl", "ru"].flatMap((locale) => {
  try {
    const file = new URL(`../locales/${locale}.json`, import.meta.url);
    const text = (JSON.parse(readFileSync(file, "utf8")) as { errors?: { unavailable?: string } }).errors?.unavailable;
    return text ? [`END ${text.replace(/[ʻʼ‘’]/g, "'").slice(0, 16)}`] : [];
  } catch {
    return [];
  }
});
const isApology = (answer: string) => APOLOGIES.some((a) => answer.replace(/[ʻʼ‘’]/g, "'").startsWith(a));

/**
 * Sends one step and records it: its latency when answered, a network error or timeout when not,
 * and a non-200 status as an error. `ok` only for a 200 answer, which the caller then checks.
 */
async function timedStep(
  meter: Meter,
  send: () => Promise<Answer>,
  /** Telegram: the step ends when its screen reaches the Bot API, so the caller records it. */
  recordOnAnswer = true,
): Promise<
  { ok: true; answered: true; answer: Answer; startedAt: number; endedAt: number } | { ok: false; answered: boolean }
> {
  const startedAt = performance.now();
  let answer: Answer;
  try {
    answer = await send();
  } catch (err) {
    meter.error(performance.now(), (e) =>
      err instanceof RequestFailed && err.kind === "timeout" ? e.timeout++ : e.network++,
    );
    return { ok: false, answered: false };
  }
  const endedAt = performance.now();
  if (recordOnAnswer || answer.status !== 200) meter.record(startedAt, endedAt);
  if (answer.status !== 200) {
    meter.error(endedAt, (e) => {
      e.status[answer.status] = (e.status[answer.status] ?? 0) + 1;
    });
    return { ok: false, answered: true };
  }
  return { ok: true, answered: true, answer, startedAt, endedAt };
}

/** One USSD session, step by step, exactly as Africa's Talking posts it. */
async function ussdSession(
  post: Post,
  meter: Meter,
  spec: LoadSpec,
  kind: SessionKind,
  citizen: number,
  sessionId: string,
): Promise<number> {
  const script = USSD_SCRIPTS[kind];
  const inputs = [...script.inputs];
  const expect = [...script.expect];
  let steps = 0;
  for (let step = 0; step < inputs.length; step++) {
    if (meter.stopping) return steps;
    const body = new URLSearchParams({
      sessionId,
      serviceCode: "*1146#",
      phoneNumber: phoneOf(citizen),
      networkCode: "63902",
      text: ussdText(inputs, step),
    }).toString();
    const sent = await timedStep(meter, () =>
      post(`/ussd?token=${BENCH_USSD_TOKEN}`, body, { "content-type": "application/x-www-form-urlencoded" }),
    );
    if (sent.answered) steps++;
    if (!sent.ok) return steps;
    const { answer, endedAt } = sent;
    const prefix = answer.body.slice(0, 4);
    if (prefix !== "CON " && prefix !== "END ") {
      meter.error(endedAt, (e) => e.badPrefix++);
      return steps;
    }
    if (spec.bare) continue;
    if (isApology(answer.body)) {
      meter.error(endedAt, (e) => e.apology++);
      return steps;
    }
    const wanted = expect[step];
    if (wanted === "END" && prefix === "CON " && hasNextPage(answer.body) && inputs.length < 12) {
      // The answer did not fit one screen: the caller pages on with 98, as the screen says.
      inputs.splice(step + 1, 0, "98");
      expect.splice(step, 0, "CON");
      continue;
    }
    if (`${wanted} ` !== prefix) {
      meter.surprise(endedAt, `${kind} step ${step} (${ussdText(inputs, step)}): ${answer.body}`);
      return steps;
    }
    if (spec.thinkMs) await sleep(spec.thinkMs * (0.5 + Math.random()));
  }
  meter.completed[kind]++;
  return steps;
}

interface ChatScreen {
  seq: number;
  messageId: number;
  rows: string[][];
}

/** What each chat shows now, fed by the orchestrator's Bot API double. */
class Screens {
  private readonly byChat = new Map<number, ChatScreen>();
  /** Chats whose latest note was the "temporarily unavailable" apology. */
  private readonly apologised = new Set<number>();
  private readonly waiters = new Map<number, () => void>();

  onScreen(event: ScreenEvent) {
    if (event.kind === "note") {
      if (!isApology(`END ${event.text}`)) return;
      this.apologised.add(event.chatId);
    } else {
      const previous = this.byChat.get(event.chatId);
      this.byChat.set(event.chatId, { seq: (previous?.seq ?? 0) + 1, messageId: event.messageId, rows: event.rows });
    }
    const waiter = this.waiters.get(event.chatId);
    if (waiter) {
      this.waiters.delete(event.chatId);
      waiter();
    }
  }

  get(chatId: number): ChatScreen | undefined {
    return this.byChat.get(chatId);
  }

  /** Waits until the chat shows a screen newer than `seq`, the bot apologises, or `timeoutMs` passes. */
  async newer(chatId: number, seq: number, timeoutMs: number): Promise<"screen" | "apology" | "timeout"> {
    this.apologised.delete(chatId);
    const deadline = performance.now() + timeoutMs;
    while ((this.byChat.get(chatId)?.seq ?? 0) <= seq) {
      if (this.apologised.has(chatId)) return "apology";
      const left = deadline - performance.now();
      if (left <= 0) return "timeout";
      const arrived = new Promise<void>((resolve) => this.waiters.set(chatId, resolve));
      await Promise.race([arrived, sleep(left)]);
    }
    return "screen";
  }
}

let updateCounter = 0;
let userMessageCounter = 0;

/** One Telegram session: updates as Telegram posts them, each after the bot's previous screen. */
async function telegramSession(
  post: Post,
  meter: Meter,
  spec: LoadSpec,
  screens: Screens,
  kind: SessionKind,
  citizen: number,
): Promise<number> {
  const tg = spec.telegram;
  if (!tg) throw new Error("telegram settings missing");
  const locale = localeOf(citizen);
  const user = { id: telegramIdOf(citizen), firstName: "Bench", languageCode: locale === "ru" ? "ru" : "uz" };
  let steps = 0;
  for (const action of TELEGRAM_SCRIPTS[kind].actions) {
    if (meter.stopping) return steps;
    const shown = screens.get(user.id);
    const update = toUpdate(action, spec, user, shown);
    if (!update) {
      meter.surprise(performance.now(), `${kind}: no button for ${JSON.stringify(action)} on ${JSON.stringify(shown)}`);
      return steps;
    }
    const seq = shown?.seq ?? 0;
    const sent = await timedStep(
      meter,
      () =>
        post("/telegram/webhook", JSON.stringify(update), {
          "content-type": "application/json",
          "x-telegram-bot-api-secret-token": tg.secret,
        }),
      spec.bare,
    );
    if (sent.answered) steps++;
    if (!sent.ok) return steps;
    if (spec.bare) continue;
    // A method in the webhook's answer is a call Telegram makes for the bot (no request of ours).
    if (sent.answer.body.includes('"method"')) meter.webhookReplyCalls++;
    const reply = await screens.newer(user.id, seq, tg.replyTimeoutMs);
    meter.record(sent.startedAt, performance.now());
    if (reply !== "screen") {
      meter.error(performance.now(), (e) => (reply === "apology" ? e.apology++ : e.noReply++));
      return steps;
    }
  }
  meter.completed[kind]++;
  return steps;
}

function toUpdate(
  action: TelegramAction,
  spec: LoadSpec,
  user: { id: number; firstName: string; languageCode: string },
  shown: ChatScreen | undefined,
) {
  const tg = spec.telegram as NonNullable<LoadSpec["telegram"]>;
  const updateId = tg.updateIdBase + ++updateCounter;
  if (action.type === "text") return textUpdate(updateId, ++userMessageCounter, user, action.text);
  if (spec.bare) return callbackUpdate(updateId, user, "o:1:0", { messageId: 1, botId: tg.botId });
  const data = shown ? buttonFor(action, shown.rows) : null;
  if (!shown || !data) return null;
  return callbackUpdate(updateId, user, data, { messageId: shown.messageId, botId: tg.botId });
}

function cursors(spec: LoadSpec): Record<SessionKind, PoolCursor> {
  const layout = pools(poolSizes(spec.citizens));
  return Object.fromEntries(SESSION_KINDS.map((k) => [k, new PoolCursor(layout[k], spec.offsets[k] ?? 0)])) as Record<
    SessionKind,
    PoolCursor
  >;
}

async function run(spec: LoadSpec, screens: Screens): Promise<LoadResult> {
  const { client, openMany, close } = poster(spec.targets ?? [spec.target], spec.requestTimeoutMs);
  const meter = new Meter();
  if (spec.timeline) meter.timeline = { at: [], ms: [] };
  const pool = cursors(spec);
  let sessionCounter = 0;
  const nextSession = () => {
    const n = sessionCounter++;
    const kind = kindFor(n);
    return { n, kind, citizen: pool[kind].take() };
  };
  try {
    if (spec.mode === "calibrate") {
      const one = client();
      return await calibrate(spec, one.post.bind(one), meter, pool);
    }

    const connections = await openMany(spec.concurrency);
    const began = performance.now();
    const beganMicros = Number(process.hrtime.bigint() / 1000n);
    meter.windowStart = began + spec.warmupMs;
    meter.windowEnd = meter.windowStart + spec.durationMs;
    meter.windowMicros = {
      from: beganMicros + spec.warmupMs * 1000,
      to: beganMicros + (spec.warmupMs + spec.durationMs) * 1000,
    };
    const virtualClient = async (connection: KeepAliveClient) => {
      const post = connection.post.bind(connection);
      while (!meter.stopping) {
        const { n, kind, citizen } = nextSession();
        if (spec.mode === "ussd") await ussdSession(post, meter, spec, kind, citizen, `${spec.sessionPrefix}-${n}`);
        else await telegramSession(post, meter, spec, screens, kind, citizen);
      }
    };
    const clients = connections.map(virtualClient);
    await sleep(Math.max(0, meter.windowStart - performance.now()));
    const cpuAtWindow = process.cpuUsage();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    await sleep(Math.max(0, meter.windowEnd - performance.now()));
    delay.disable();
    const cpu = process.cpuUsage(cpuAtWindow);
    meter.windowCpuMs = (cpu.user + cpu.system) / 1000;
    meter.loopDelayMs = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
    meter.stopping = true;
    await Promise.all(clients);
    return result(spec, meter, pool, spec.durationMs);
  } finally {
    close();
  }
}

/** Sessions of each kind one at a time, with the statements the server sent for them. */
async function calibrate(
  spec: LoadSpec,
  post: Post,
  meter: Meter,
  pool: Record<SessionKind, PoolCursor>,
): Promise<LoadResult> {
  meter.windowStart = 0;
  meter.windowEnd = Number.POSITIVE_INFINITY;
  const name = "mc_db_queries_total";
  const idleFrom = await readMetric(spec.target, name);
  const idleStart = performance.now();
  await sleep(spec.warmupMs > 0 ? Math.min(2_000, 2 * spec.warmupMs) : 2_000);
  const idleTo = await readMetric(spec.target, name);
  const idleRate =
    idleFrom === null || idleTo === null ? Number.NaN : (idleTo - idleFrom) / ((performance.now() - idleStart) / 1000);
  const kinds = {} as Record<SessionKind, KindCalibration>;
  const per = spec.calibrateSessions ?? 10;
  let n = 0;
  for (const kind of SESSION_KINDS) {
    const before = await readMetric(spec.target, name);
    const started = performance.now();
    let steps = 0;
    for (let i = 0; i < per; i++) {
      steps += await ussdSession(post, meter, spec, kind, pool[kind].take(), `${spec.sessionPrefix}-cal-${n++}`);
    }
    const after = await readMetric(spec.target, name);
    const seconds = (performance.now() - started) / 1000;
    // Each /metrics read is itself free of statements; the relay's idle polling is not.
    const statements =
      before === null || after === null
        ? Number.NaN
        : after - before - (Number.isNaN(idleRate) ? 0 : idleRate * seconds);
    kinds[kind] = { sessions: per, steps, statements, perStep: steps ? statements / steps : Number.NaN };
  }
  const out = result(spec, meter, pool, 0);
  out.calibration = { idleStatementsPerSecond: idleRate, kinds, latency: out.latency };
  return out;
}

function result(spec: LoadSpec, meter: Meter, pool: Record<SessionKind, PoolCursor>, windowMs: number): LoadResult {
  return {
    generatorCpuMsPerStep: meter.samples.count ? meter.windowCpuMs / meter.samples.count : Number.NaN,
    generatorLoopDelayMs: meter.loopDelayMs,
    windowMicros: meter.windowMicros,
    ...(meter.timeline ? { timeline: meter.timeline } : {}),
    mode: spec.mode,
    concurrency: spec.concurrency,
    thinkMs: spec.thinkMs ?? 0,
    windowMs,
    steps: meter.samples.count,
    stepsPerSecond: windowMs > 0 ? meter.samples.count / (windowMs / 1000) : 0,
    latency: meter.samples.summary(),
    histogram: meter.samples.histogram(),
    errors: meter.errors,
    errorsInRun: meter.allErrors,
    slowAfterWarmup: meter.slowAfterWarmup,
    unexpected: meter.unexpected,
    unexpectedSamples: meter.unexpectedSamples,
    sessionsCompleted: meter.completed,
    totalSteps: meter.totalSteps,
    webhookReplyCalls: meter.webhookReplyCalls,
    taken: Object.fromEntries(SESSION_KINDS.map((k) => [k, pool[k].taken])) as Record<SessionKind, number>,
    wrapped: SESSION_KINDS.filter((k) => pool[k].wrapped),
  };
}

type Inbound = { type: "run"; spec: LoadSpec } | ScreenEvent;

function main() {
  if (!process.send) {
    process.stderr.write("bench/load.ts is started by bench/run.ts (it needs an IPC channel)\n");
    process.exit(2);
  }
  const screens = new Screens();
  process.on("message", (message: Inbound) => {
    if (message.type === "screen") screens.onScreen(message);
    else if (message.type === "run") {
      run(message.spec, screens).then(
        (outcome) => process.send?.({ type: "result", result: outcome }, () => process.exit(0)),
        (err: unknown) =>
          process.send?.({ type: "error", message: (err as Error).stack ?? String(err) }, () => process.exit(1)),
      );
    }
  });
  // The orchestrator going away ends the run.
  process.on("disconnect", () => process.exit(0));
}

main();
