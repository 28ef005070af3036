import { hostname } from "node:os";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Screen } from "./engine/types.js";

/**
 * The product's operator metrics, one set per process (Prometheus adds the `instance` label when it
 * scrapes, so per-instance rates come from `rate(...)` by instance). Everything here is updated in
 * memory on the hot path (a counter increment, a histogram observation): nothing costs a database
 * statement. Figures that need the database (the outbox backlog) are read at scrape time by
 * app/metrics.ts. No label ever carries personal data: labels are channels, flows, outcomes and
 * Bot API method names, all from small fixed sets.
 */
export const metricsRegistry = new Registry();

let defaultsStarted = false;

/**
 * Node's own figures (CPU, memory, event-loop lag, GC, handles) under the `mc_` prefix, which keeps
 * `mc_process_resident_memory_bytes`, the name /metrics always had. Started by whoever serves
 * /metrics, so a test that only imports a module pays nothing for the event-loop monitor.
 */
export function startProcessMetrics(role: "app" | "worker"): void {
  if (defaultsStarted) return;
  defaultsStarted = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: "mc_" });
  instanceInfo.set({ instance: `${hostname()}:${process.pid}`, role }, 1);
}

const instanceInfo = new Gauge({
  name: "mc_instance_info",
  help: "Always 1; names this process (host:pid) and its role (app: HTTP and channels; worker: notification delivery and the periodic jobs, `npm run worker` or the duties worker of `npm start`).",
  labelNames: ["instance", "role"] as const,
  registers: [metricsRegistry],
});

/**
 * Under node:cluster /metrics adds every worker's figures up, so mc_process_resident_memory_bytes
 * is the machine's; the budget is per process, so this one is the largest worker's.
 */
new Gauge({
  name: "mc_worker_resident_memory_max_bytes",
  help: "Resident memory of the largest server process (under node:cluster, the largest worker; mc_process_resident_memory_bytes is their sum).",
  aggregator: "max",
  registers: [metricsRegistry],
  collect() {
    this.set(process.memoryUsage.rss());
  },
});

/** Buckets around the USSD deadlines: the 0.6 s admission wait, the 1.5 s step deadline. */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5];

export const stepDuration = new Histogram({
  name: "mc_step_duration_seconds",
  help: "Time from a conversation step's arrival to its answer, by channel and flow (USSD: the whole /ussd request, admission wait included; Telegram: the engine step, before the answer goes to the Bot API).",
  labelNames: ["channel", "flow"] as const,
  buckets: STEP_BUCKETS,
  registers: [metricsRegistry],
});

export type ApologyReason = "capacity" | "deadline" | "error";

export const ussdApologies = new Counter({
  name: "mc_ussd_apologies_total",
  help: 'USSD callers answered "temporarily unavailable" instead of a screen: capacity (refused by admission), deadline (no answer within the step deadline), error (the step failed).',
  labelNames: ["reason"] as const,
  registers: [metricsRegistry],
});

export const admissionRefusals = new Counter({
  name: "mc_ussd_admission_refused_total",
  help: "USSD steps refused without being run because they would have waited too long for a place.",
  registers: [metricsRegistry],
});

export const admissionActive = new Gauge({
  name: "mc_ussd_steps_in_progress",
  help: "USSD steps being run now (admission places taken).",
  registers: [metricsRegistry],
});

export const admissionWaiting = new Gauge({
  name: "mc_ussd_steps_waiting",
  help: "USSD steps waiting for an admission place.",
  registers: [metricsRegistry],
});

export const deliveries = new Counter({
  name: "mc_notification_deliveries_total",
  help: "Notification delivery attempts by channel and outcome (sent, logged, retry, dead, interrupted). For sent and logged the channel is the one it left by (Telegram rows may fall back to SMS).",
  labelNames: ["channel", "outcome"] as const,
  registers: [metricsRegistry],
});

export const deadLetters = new Counter({
  name: "mc_notification_dead_letters_total",
  help: "Notifications given up by this process (permanent error or too many attempts), by channel.",
  labelNames: ["channel"] as const,
  registers: [metricsRegistry],
});

export const telegramRateLimited = new Counter({
  name: "mc_telegram_rate_limited_total",
  help: "Bot API calls answered 429 Too Many Requests (each attempt counts; auto-retry then waits retry_after), by method.",
  labelNames: ["method"] as const,
  registers: [metricsRegistry],
});

/** What a delivery engine learns from one attempt (structural, so delivery.ts need not be imported). */
export interface DeliveryResult {
  outcome: "sent" | "logged" | "retry" | "dead" | "interrupted";
  channel?: string;
}

/** One delivery attempt of a row addressed to `rowChannel`; returns the result, to count in passing. */
export function recordDelivery<R extends DeliveryResult>(rowChannel: string, result: R): R {
  const channel = knownChannel(result.channel ?? rowChannel);
  deliveries.inc({ channel, outcome: result.outcome });
  if (result.outcome === "dead") deadLetters.inc({ channel });
  return result;
}

const knownChannel = (channel: string) => (channel === "sms" || channel === "telegram" ? channel : "other");

/** Observes one step, timed from `startedAt` (a `performance.now()` reading). */
export function observeStep(channel: "ussd" | "telegram", flow: string, startedAt: number): void {
  stepDuration.observe({ channel, flow }, (performance.now() - startedAt) / 1000);
}

/**
 * Message namespaces of the flows (core/flows/*), by the flow id they belong to. A screen names its
 * flow through its message keys (`visit.choose_day` is the visit flow), so the channel can label a
 * step without the engine reporting which flow ran.
 */
const FLOW_NAMESPACES: Record<string, string> = {
  menu: "menu",
  language: "language",
  onboarding: "onboarding",
  apply: "apply",
  status: "status",
  payments: "payments",
  visit: "visit",
  my_visits: "myVisits",
  appeal: "appeal",
  help: "help",
};

/** Shared screens, used by several flows: labelled as such when no flow-specific key is present. */
const SHARED_NAMESPACES = new Set(["mahalla", "pinfl", "errors"]);

/**
 * The flow label of the screen a step answered with: the first flow-specific message namespace in
 * its body, else a shared one (mahalla picker, PINFL entry, errors such as the rate limit), else
 * `other`. Bounded to these names, so a new message key can never grow the label set.
 */
export function flowOfScreen(screen: Pick<Screen, "body">): string {
  let shared: string | undefined;
  for (const part of screen.body) {
    if (!("key" in part)) continue;
    const dot = part.key.indexOf(".");
    const namespace = dot < 0 ? part.key : part.key.slice(0, dot);
    const flow = FLOW_NAMESPACES[namespace];
    if (flow) return flow;
    if (!shared && SHARED_NAMESPACES.has(namespace)) shared = namespace;
  }
  return shared ?? "other";
}
