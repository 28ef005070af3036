import type { Update } from "grammy/types";
import type { Logger } from "../core/logger.js";
import type { SenderFacts, UpdateLedger } from "./update-ledger.js";

export interface UpdateQueueOptions {
  ledger: UpdateLedger;
  /**
   * Handles one update (the bot's middleware); a failure is the handler's to apologise for.
   * `facts` (read when it was recorded) come only when nothing of its chat was waiting here then,
   * so no earlier update of the person can have changed them (an invite code, a rating).
   */
  handle: (update: Update, facts?: SenderFacts) => Promise<void>;
  logger: Logger;
  /** How long a recorded update is this process's before another may take it over. */
  leaseSeconds?: number;
  /** How often updates whose lease ran out are looked for (another instance's dead process). */
  sweepSeconds?: number;
}

export const DEFAULT_LEASE_SECONDS = 10;

/** Thrown by a handler that gave an update up unhandled (the process is stopping): its lease decides. */
export class UpdateAbandoned extends Error {
  constructor() {
    super("telegram update left for another process");
  }
}

/**
 * The chat an update belongs to, whatever its kind (messages, button presses, member changes);
 * undefined when none has an integer id (such an update is ordered on its own).
 */
export function chatOfUpdate(update: Update): number | undefined {
  for (const value of Object.values(update)) {
    if (!value || typeof value !== "object") continue;
    const v = value as { chat?: { id?: unknown }; message?: { chat?: { id?: unknown } }; from?: { id?: unknown } };
    const id = v.chat?.id ?? v.message?.chat?.id ?? v.from?.id;
    // Kinds the webhook's schema does not check may carry anything: only a real id orders a chat.
    if (Number.isSafeInteger(id)) return id as number;
  }
  return undefined;
}

/**
 * Recorded updates on their way to the bot: each chat's updates one after another in the order
 * they were recorded (the bot's replies, and the engine's turn count, depend on it), different
 * chats at once. Every update this process holds keeps its lease renewed until it is handled;
 * updates another process recorded and never finished (it died) are claimed and handled here.
 */
export class UpdateQueue {
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Update id → settles when it is handled (or failed): what tests wait for. */
  private readonly handling = new Map<number, Promise<unknown>>();
  /** Update id → settles when it is handled and marked so: what shutdown waits for. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly leaseSeconds: number;
  private readonly sweepSeconds: number;
  private timers: NodeJS.Timeout[] = [];
  private sweeping = false;
  private stopped = false;

  constructor(private readonly options: UpdateQueueOptions) {
    this.leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    this.sweepSeconds = options.sweepSeconds ?? this.leaseSeconds / 2;
  }

  get lease(): number {
    return this.leaseSeconds;
  }

  /** True once stop() was called: handlers waiting for something should give up. */
  get stopping(): boolean {
    return this.stopped;
  }

  /**
   * Records the update and queues it here: `taken` false for a redelivery (someone has it already);
   * `behind` when its chat has earlier updates still waiting here.
   */
  async take(update: Update): Promise<{ taken: boolean; behind: boolean }> {
    const chatId = chatOfUpdate(update);
    const recorded = await this.options.ledger.record(update, chatId, this.leaseSeconds);
    if (!recorded) return { taken: false, behind: false };
    return { taken: true, behind: this.enqueue(update, chatId, recorded.facts) };
  }

  /** Resolves once this update (if this process holds it) is handled; its mark may follow. */
  async settled(updateId: number): Promise<void> {
    await this.handling.get(updateId);
  }

  /** Resolves once every update this process holds now is handled. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()]);
  }

  /** Starts renewing leases and claiming abandoned updates (at once, then every sweep). */
  start(): void {
    if (this.timers.length > 0) return;
    this.stopped = false;
    void this.sweep();
    const sweep = setInterval(() => void this.sweep(), this.sweepSeconds * 1000);
    const renew = setInterval(() => void this.renew(), (this.leaseSeconds * 1000) / 3);
    sweep.unref();
    renew.unref();
    this.timers = [sweep, renew];
  }

  /**
   * Stops taking over other processes' updates and waits (at most `waitMs`) for this one's to be
   * handled; what is still running then is left to its lease, for the next process.
   */
  async stop(waitMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /** True when the update waits behind earlier ones of its chat. */
  private enqueue(update: Update, chatId: number | undefined, facts?: SenderFacts): boolean {
    const id = update.update_id;
    const key = chatId === undefined ? `u:${id}` : String(chatId);
    const before = this.chains.get(key);
    const fresh = before === undefined ? facts : undefined;
    const handled = (before ?? Promise.resolve()).then(() => this.handleOne(update, fresh));
    this.chains.set(key, handled);
    // The chat's next update need not wait for the mark; `settled` does.
    const done = handled.then((outcome) => (outcome === "abandoned" ? undefined : this.finish(id)));
    this.inFlight.set(id, done);
    this.handling.set(id, handled);
    void handled.then(() => {
      if (this.chains.get(key) === handled) this.chains.delete(key);
      if (this.handling.get(id) === handled) this.handling.delete(id);
    });
    void done.then(() => this.inFlight.delete(id));
    return before !== undefined;
  }

  private async handleOne(update: Update, facts: SenderFacts | undefined): Promise<"handled" | "abandoned"> {
    try {
      await this.options.handle(update, facts);
    } catch (err) {
      if (err instanceof UpdateAbandoned) return "abandoned";
      this.options.logger.error({ err, updateId: update.update_id }, "telegram update failed");
    }
    return "handled";
  }

  /** Handled (or apologised for): a mark that fails is retried with the lease renewals. */
  private async finish(updateId: number): Promise<void> {
    await this.options.ledger.finish(updateId).catch((err: unknown) => {
      this.options.logger.warn({ err, updateId }, "telegram: update not marked handled");
    });
  }

  private async renew(): Promise<void> {
    const { ledger, logger } = this.options;
    // Handled but not yet marked (the database failed): still ours, so still leased.
    const held = [...this.inFlight.keys(), ...ledger.unfinished()];
    await ledger.renew(held, this.leaseSeconds).catch((err: unknown) => {
      logger.warn({ err }, "telegram: update leases not renewed");
    });
    await ledger.retryFinish().catch((err: unknown) => logger.warn({ err }, "telegram: updates not marked handled"));
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      for (;;) {
        const claimed = await this.options.ledger.claimStale(this.leaseSeconds);
        for (const update of claimed) {
          // Its lease ran out while this process was still at it (a stalled event loop): still ours.
          if (this.inFlight.has(update.update_id)) continue;
          this.options.logger.warn({ updateId: update.update_id }, "telegram: handling an update left unhandled");
          this.enqueue(update, chatOfUpdate(update));
        }
        if (claimed.length < 100 || this.stopped) break;
      }
    } catch (err) {
      this.options.logger.warn({ err }, "telegram: could not look for unhandled updates");
    } finally {
      this.sweeping = false;
    }
  }
}
