/** Command-line flags of `npm run bench` (see --help). */

export const BACKENDS = ["embedded", "postgres", "postgres-redis"] as const;
export type BackendId = (typeof BACKENDS)[number];

export interface BenchOptions {
  quick: boolean;
  backends: BackendId[];
  /** False when --backends was not given (quick runs then measure PostgreSQL only). */
  backendsGiven: boolean;
  /** Concurrent USSD sessions per measured point. */
  concurrency: number[];
  /** Measured seconds per point, after `warmup` unmeasured seconds at the same concurrency. */
  duration: number;
  warmup: number;
  telegramConcurrency: number;
  telegramDuration: number;
  /**
   * Seconds of the same Telegram load, unmeasured, before the Telegram point. At the bot's 30 calls
   * a second a point's own warm-up runs the bot's code about a hundred times, still in V8's first
   * tiers; a server that has taken updates for a while runs it compiled.
   */
  telegramWarmup: number;
  /** Citizens seeded per database. */
  citizens: number;
  /** Sessions per kind in the one-at-a-time calibration (statements per step by kind). */
  calibrateSessions: number;
  /** `dist`: `npm run build` then `node dist/app/main.js`; `tsx`: `node --import tsx app/main.ts`. */
  server: "dist" | "tsx";
  profile: boolean;
  /** Payments imported on payment day (0: no payment-day point). */
  paymentDay: number;
  /** The scaling points: one worker, and two instances sharing one PostgreSQL and one Redis. */
  scaling: boolean;
  profileSeconds: number;
  profileConcurrency: number;
  /**
   * Pause between a profiled session's steps (0: closed loop). V8 samples on the wall clock: with
   * every core busy, a worker waiting for a core is sampled as busy, inside whatever call it was
   * preempted in. Paced, the profile is of the load people make, with the cores not saturated; the
   * report gives the kernel's share of the server's CPU beside it.
   */
  profileThinkMs: number;
  out: string;
  keep: boolean;
  help: boolean;
}

export const USAGE = `npm run bench -- [flags]

  --quick                  smoke run of about a minute: short points, small population, and only
                           PostgreSQL (the embedded database when PostgreSQL is not installed) unless
                           --backends is given
  --backends a,b           embedded,postgres,postgres-redis (default: all; skipped with a note when
                           their binaries are missing)
  --concurrency 50,200,1000  concurrent USSD sessions per point
  --duration S             measured seconds per point (default 12; quick 2)
  --warmup S               unmeasured seconds before each point (default 3; quick 1)
  --telegram-concurrency N concurrent Telegram chats (default 50; quick 20)
  --telegram-duration S    measured Telegram seconds (default: --duration)
  --telegram-warmup S      the same Telegram load, unmeasured but reported, before the Telegram
                           point, so the bot's code is as warm as on a server that has run a while
                           (default 60; quick 0)
  --citizens N             citizens seeded per database (default 40000; quick 8000)
  --calibrate N            sessions per kind for statements-per-step (default 10; quick 3)
  --server dist|tsx        how the server runs (default dist, built first; quick tsx)
  --payment-day N          payments imported and drained on payment day while 200 paced USSD sessions
                           run (default 50000; quick 2000; 0: no payment-day point)
  --no-scaling             skip the scaling points (one worker; two instances on one PostgreSQL + Redis)
  --profile / --no-profile CPU profile of the server at --profile-concurrency (default: on, off in quick)
  --profile-seconds S      (default 10)
  --profile-concurrency N  (default 200)
  --profile-think-ms MS    pause between a profiled session's steps (default 1000, as people pause;
                           0: closed loop, where every core is busy and samples also count time a
                           worker waited for a core)
  --out FILE               report file (default BENCHMARKS.md)
  --keep                   keep the temporary directory (logs, profile, payment-day timeline, data)
`;

export class UsageError extends Error {}

const positive = (flag: string, value: string | undefined): number => {
  const n = Number(value);
  if (!value || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a positive number`);
  return n;
};

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes("--quick");
  const o: BenchOptions = {
    quick,
    backends: quick ? ["postgres"] : [...BACKENDS],
    backendsGiven: false,
    concurrency: [50, 200, 1000],
    duration: quick ? 2 : 12,
    warmup: quick ? 1 : 3,
    telegramConcurrency: quick ? 20 : 50,
    telegramDuration: Number.NaN,
    telegramWarmup: quick ? 0 : 60,
    citizens: quick ? 8000 : 40_000,
    calibrateSessions: quick ? 3 : 10,
    server: quick ? "tsx" : "dist",
    profile: !quick,
    paymentDay: quick ? 2000 : 50_000,
    scaling: !quick,
    profileSeconds: 10,
    profileConcurrency: 200,
    profileThinkMs: 1_000,
    out: "BENCHMARKS.md",
    keep: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--quick":
        break;
      case "--backends": {
        const list = value().split(",").filter(Boolean);
        for (const b of list) {
          if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`unknown back end "${b}"`);
        }
        o.backends = list as BackendId[];
        o.backendsGiven = true;
        break;
      }
      case "--concurrency":
        o.concurrency = value()
          .split(",")
          .map((v) => Math.round(positive(flag, v)));
        break;
      case "--duration":
        o.duration = positive(flag, value());
        break;
      case "--warmup":
        o.warmup = Number(value());
        if (!(o.warmup >= 0)) throw new UsageError("--warmup needs a number ≥ 0");
        break;
      case "--telegram-concurrency":
        o.telegramConcurrency = Math.round(positive(flag, value()));
        break;
      case "--telegram-duration":
        o.telegramDuration = positive(flag, value());
        break;
      case "--telegram-warmup":
        o.telegramWarmup = Number(value());
        if (!(o.telegramWarmup >= 0)) throw new UsageError("--telegram-warmup needs a number ≥ 0");
        break;
      case "--citizens":
        o.citizens = Math.round(positive(flag, value()));
        break;
      case "--calibrate":
        o.calibrateSessions = Math.round(positive(flag, value()));
        break;
      case "--server": {
        const v = value();
        if (v !== "dist" && v !== "tsx") throw new UsageError("--server is dist or tsx");
        o.server = v;
        break;
      }
      case "--profile":
        o.profile = true;
        break;
      case "--no-profile":
        o.profile = false;
        break;
      case "--payment-day": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 0) throw new UsageError("--payment-day needs a whole number ≥ 0");
        o.paymentDay = n;
        break;
      }
      case "--scaling":
        o.scaling = true;
        break;
      case "--no-scaling":
        o.scaling = false;
        break;
      case "--profile-seconds":
        o.profileSeconds = positive(flag, value());
        break;
      case "--profile-concurrency":
        o.profileConcurrency = Math.round(positive(flag, value()));
        break;
      case "--profile-think-ms": {
        const n = Number(value());
        if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} needs a number of milliseconds, 0 or more`);
        o.profileThinkMs = n;
        break;
      }
      case "--out":
        o.out = value();
        break;
      case "--keep":
        o.keep = true;
        break;
      case "--help":
      case "-h":
        o.help = true;
        break;
      default:
        throw new UsageError(`unknown flag ${flag}`);
    }
  }
  if (Number.isNaN(o.telegramDuration)) o.telegramDuration = o.duration;
  const busiest = Math.max(...o.concurrency, o.telegramConcurrency, o.profileConcurrency);
  if (o.citizens < busiest * 8) {
    throw new UsageError(`--citizens must be at least 8 × the highest concurrency (${busiest * 8})`);
  }
  return o;
}
