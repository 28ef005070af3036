import type { SqlExecutor } from "../core/db/adapters.js";
import { type KeptSessionStore, markSessionEnded, recordKeptSessionEnd } from "../core/engine/session-store.js";

/** Africa's Talking's end-of-session notification, as loosely as it arrives (every field a string). */
export interface SessionEndNotice {
  sessionId: string;
  status?: string | undefined;
  hopsCount?: string | number | undefined;
  durationInMillis?: string | number | undefined;
  input?: string | undefined;
  errorMessage?: string | undefined;
  networkCode?: string | undefined;
  serviceCode?: string | undefined;
  cost?: string | undefined;
  date?: string | undefined;
}

const toNumber = (value: string | number | undefined): number | null => {
  const n = typeof value === "number" ? value : value !== undefined && value.trim() !== "" ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : null;
};

const clip = (value: string | undefined, max: number) => (value === undefined ? null : value.slice(0, max));

/** The last input can be a PINFL or an address: keep its shape for monitoring, not the digits. */
export const maskInput = (input: string | undefined): string | null =>
  input === undefined ? null : input.slice(0, 200).replace(/\d{5,}/g, (m) => "#".repeat(m.length));

/**
 * Records how a USSD session ended (completed, dropped by the network, timed out) on its
 * conversation row, so monitoring can see at which screen citizens give up. Unknown sessions
 * (the gateway ended it before our first answer) are ignored.
 */
export async function recordSessionEnd(
  sql: SqlExecutor,
  notice: SessionEndNotice,
  now = new Date(),
  kept?: KeptSessionStore,
): Promise<boolean> {
  const end = {
    at: now,
    status: clip(notice.status, 40),
    info: {
      hopsCount: toNumber(notice.hopsCount),
      durationInMillis: toNumber(notice.durationInMillis),
      input: maskInput(notice.input),
      errorMessage: clip(notice.errorMessage, 500),
      networkCode: clip(notice.networkCode, 20),
      serviceCode: clip(notice.serviceCode, 40),
      cost: clip(notice.cost, 40),
      date: clip(notice.date, 40),
    },
  };
  // Sessions kept in Redis get their row now, with the screen they ended on.
  const turn = kept ? await kept.lastTurn("ussd", notice.sessionId) : undefined;
  if (turn) {
    await recordKeptSessionEnd(sql, "ussd", notice.sessionId, turn, end);
    return true;
  }
  return markSessionEnded(sql, "ussd", notice.sessionId, end);
}
