import type { AppConfig } from "./config.js";

export interface StartupFacts {
  /** Demo activity rows loaded or already present (0: none). */
  demoCitizens: number;
  /** A demo number to dial in the web phone: it has records on every screen. */
  demoPhone?: string;
}

/** The address a person types into a browser: a wildcard bind is reached as localhost. */
export function publicBase(config: Pick<AppConfig, "http">): string {
  const host = ["0.0.0.0", "::", "[::]"].includes(config.http.host) ? "localhost" : config.http.host;
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `http://${shown}:${config.http.port}`;
}

/**
 * The logger masks every +998 number (it cannot tell a demo one from a citizen's), so the demo
 * number is shown in its national form, which the masking leaves alone.
 */
const demoDialled = (e164: string) =>
  e164.replace(/^\+998(\d{2})(\d{3})(\d{2})(\d{2})$/, "$1 $2 $3 $4 (country code +998)");

/**
 * What a newcomer needs after `npm start`: where to click, which channels are on, and for each one
 * that is off the variable that turns it on. Pure, so the wording is tested without a server.
 */
export function startupSummary(config: AppConfig, facts: StartupFacts): string[] {
  const base = publicBase(config);
  const database =
    config.database.kind === "postgres"
      ? "PostgreSQL (DATABASE_URL)"
      : `embedded database in ${config.database.dataDir}`;
  const lines = [
    `Mahalla Connect is serving ${base} on the ${database}`,
    config.simulatorEnabled
      ? `web USSD phone: ${base}/simulator`
      : "web USSD phone: off (SIMULATOR_ENABLED=true turns it on)",
    `open data: ${base}/open`,
    `API document: ${base}/docs/json`,
    `USSD gateway callback: POST ${base}/ussd${config.ussd.callbackToken ? "?token=…" : " (no USSD_CALLBACK_TOKEN: any caller is believed)"}`,
  ];
  if (!config.telegram.enabled) lines.push("Telegram bot: off (TELEGRAM_BOT_TOKEN turns it on)");
  else if (config.telegram.webhookSecret) lines.push(`Telegram bot: on, webhook at ${base}/telegram/webhook`);
  else lines.push("Telegram bot: on, long polling (TELEGRAM_WEBHOOK_SECRET switches to a webhook)");
  lines.push(
    config.sms
      ? `SMS: Africa's Talking as "${config.sms.username}"`
      : "SMS: recorded and logged, not sent (AT_USERNAME and AT_API_KEY send them)",
  );
  lines.push(
    config.redisUrl
      ? "notifications: BullMQ on Redis (REDIS_URL)"
      : "notifications: in-process relay (REDIS_URL delivers through BullMQ for several instances)",
  );
  lines.push(
    config.apiTokens.length
      ? `back-office API: ${config.apiTokens.length} token(s) in API_TOKENS`
      : "back-office API: refuses every request until API_TOKENS is set",
  );
  if (facts.demoCitizens > 0) {
    lines.push(
      `demo data: ${facts.demoCitizens} demo citizens with a few weeks of activity${facts.demoPhone ? `; dial as ${demoDialled(facts.demoPhone)} to see their records` : ""} (SEED_DEMO=false leaves it out)`,
    );
  }
  return lines;
}
