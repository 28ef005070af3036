/**
 * The benchmark population: who exists in the database before the server starts, and which
 * phone number / Telegram account a virtual session uses. Shared by the seeder and the load
 * generator so both agree without talking to each other.
 */

export const SESSION_KINDS = ["payments", "status", "visit", "apply"] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** Share of sessions per kind on payment day (the mix). */
export const MIX: Record<SessionKind, number> = { payments: 0.6, status: 0.2, visit: 0.1, apply: 0.1 };

/** How many citizens of each kind are seeded. Apply citizens are used once per back end. */
export type PoolSizes = Record<SessionKind, number>;

export interface Pool {
  kind: SessionKind;
  /** First global citizen index of this pool. */
  first: number;
  size: number;
}

export const BENCH_DISTRICT_CODE = "1727259";
export const BENCH_MAHALLAS = 500;
export const BENCH_WORKERS = 50;
/** Visits per half-day slot and worker: large, so the load never runs out of free slots. */
export const BENCH_WORKER_CAPACITY = 1_000_000;

export function poolSizes(citizens: number): PoolSizes {
  const payments = Math.round(citizens * 0.5);
  const status = Math.round(citizens * 0.15);
  const visit = Math.round(citizens * 0.15);
  return { payments, status, visit, apply: citizens - payments - status - visit };
}

export function pools(sizes: PoolSizes): Record<SessionKind, Pool> {
  let first = 0;
  const out = {} as Record<SessionKind, Pool>;
  for (const kind of SESSION_KINDS) {
    out[kind] = { kind, first, size: sizes[kind] };
    first += sizes[kind];
  }
  return out;
}

/** +998 90 1xx xx xx: nine national digits, a valid mobile prefix, one number per citizen. */
export const phoneOf = (index: number) => `+99890${String(1_000_000 + index)}`;
/** Telegram user id (= private chat id) of the same citizen. */
/** Payment day's SMS-only citizens (`payday-citizen-<n>`), apart from the session population. */
export const paydayPhoneOf = (index: number) => `+99893${String(1_000_000 + index)}`;
/** Of the payments imported on payment day, the share for citizens on Telegram (the rest go by SMS). */
export const PAYDAY_TELEGRAM_SHARE = 0.1;
export const telegramIdOf = (index: number) => 7_000_000_000 + index;
export const LOCALE_CYCLE = ["uz", "uz", "uz", "ru", "uz", "uz", "uz-Cyrl", "uz", "ru", "uz"] as const;
export const localeOf = (index: number) => LOCALE_CYCLE[index % LOCALE_CYCLE.length] as (typeof LOCALE_CYCLE)[number];

/**
 * Hands out citizens of one pool in order, from a starting offset. Pools larger than the
 * concurrency guarantee that sessions running at the same time use distinct numbers.
 */
export class PoolCursor {
  private next: number;
  wrapped = false;

  constructor(
    readonly pool: Pool,
    offset = 0,
  ) {
    this.next = offset;
  }

  take(): number {
    if (this.next >= this.pool.size) this.wrapped = true;
    const index = this.pool.first + (this.next % this.pool.size);
    this.next++;
    return index;
  }

  get taken(): number {
    return this.next;
  }
}

/** Deterministic mix: session n is of the kind whose cumulative share covers n's position. */
export function kindFor(n: number): SessionKind {
  // 20 slots (5 % each) spread so every short window has the right proportions.
  const slot = (n * 7) % 20;
  if (slot < 12) return "payments";
  if (slot < 16) return "status";
  if (slot < 18) return "visit";
  return "apply";
}

/** The servers run with NODE_ENV=production, which requires a USSD callback token of 32+ characters. */
export const BENCH_USSD_TOKEN = "bench-ussd-callback-token-0123456789abcdef";
