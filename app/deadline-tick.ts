import type { EscalationService } from "../core/services/escalations.js";
import type { Logger } from "./logger.js";
import { runPeriodically } from "./periodic.js";

/** Often enough for hour-based acceptance deadlines and their two-hour reminder window. */
export const DEADLINE_TICK_MS = 5 * 60_000;

export interface DeadlineTickOptions {
  escalations: Pick<EscalationService, "tick">;
  logger: Logger;
  everyMs?: number;
  clock?: () => Date;
}

/**
 * The deadline tick (issue 15): once at start and then every five minutes, on every instance.
 * Safe with several instances: each reminder, escalation and late notice is claimed through a
 * unique key in the transaction that writes its message, so two ticks at once split the work.
 */
export function startDeadlineTick(options: DeadlineTickOptions): { stop(): void } {
  const { escalations, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const tick = async () => {
    try {
      const done = await escalations.tick(clock());
      if (done.messages > 0) logger.info(done, "deadline tick: reminders, escalations and late notices queued");
    } catch (err) {
      logger.warn({ err }, "deadline tick failed; the next one tries again");
    }
  };
  return runPeriodically(tick, options.everyMs ?? DEADLINE_TICK_MS);
}
