import pino, { type Logger } from "pino";
import pinoPretty from "pino-pretty";

export type { Logger } from "pino";

/**
 * Personal data never reaches the logs in clear: known fields are censored by path, and any phone
 * number or 14-digit PINFL inside a message string is masked.
 */
const REDACT_PATHS = [
  "phone",
  "phoneNumber",
  "pinfl",
  "fullName",
  "*.phone",
  "*.phoneNumber",
  "*.pinfl",
  "*.fullName",
  "req.body",
  "req.headers.authorization",
  'req.headers["x-telegram-bot-api-secret-token"]',
];

export function maskPersonalData(text: string): string {
  return text
    .replace(/\b\d{14}\b/g, (m) => `${m.slice(0, 2)}**********${m.slice(-2)}`)
    .replace(/\+?998[\s-]?\d{2}[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}/g, (m) => `${m.slice(0, 6)}*****${m.slice(-2)}`);
}

/**
 * Readable lines for a person at a terminal in development; JSON for everything else (production,
 * a log collector, a pipe, tests), so machines never have to parse the pretty form.
 */
export function wantsPrettyLogs(nodeEnv: string, stdoutIsTty: boolean = process.stdout.isTTY === true): boolean {
  return stdoutIsTty && nodeEnv !== "production";
}

/** pino-pretty as a stream in this thread: redaction and masking happen before it sees a line. */
export function prettyDestination(output?: NodeJS.WritableStream): pino.DestinationStream {
  return pinoPretty({
    colorize: output === undefined,
    translateTime: "SYS:HH:MM:ss",
    ignore: "pid,hostname",
    singleLine: true,
    ...(output ? { destination: output } : {}),
  });
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === "string" ? maskPersonalData(a) : a));
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
      // Request URLs can carry tokens (USSD callback) and numbers; log the route only.
      serializers: {
        req: (req: { method: string; routeOptions?: { url?: string }; url: string }) => ({
          method: req.method,
          url: req.routeOptions?.url ?? req.url.split("?")[0],
        }),
      },
    },
    destination,
  );
}
