// `npm run telegram:webhook -- --url https://bot.example.uz` registers the bot's webhook with
// TELEGRAM_WEBHOOK_SECRET and the updates the bot handles, then prints getWebhookInfo;
// `npm run telegram:webhook -- --delete` removes it (the bot may then use long polling);
// `npm run telegram:webhook` alone prints getWebhookInfo.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Api, GrammyError, HttpError } from "grammy";
import type { WebhookInfo } from "grammy/types";
import { ConfigError, loadConfig } from "../app/config.js";
import { ALLOWED_UPDATES } from "../bot/polling.js";

export const WEBHOOK_PATH = "/telegram/webhook";
const USAGE =
  "usage: npm run telegram:webhook -- --url https://<public host>[/telegram/webhook] [--drop-pending] | --delete | (nothing: show)";

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/**
 * The URL Telegram should post to: a bare origin gets the app's webhook path, a full URL is kept.
 * Telegram accepts only HTTPS, so anything else is refused here with a clear message.
 */
export function webhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: ${raw}`);
  }
  if (url.protocol !== "https:") throw new UsageError(`Telegram posts only to https:// URLs, not ${url.protocol}//`);
  if (url.pathname === "/" || url.pathname === "") url.pathname = WEBHOOK_PATH;
  return url.toString();
}

class UsageError extends Error {}

/** getWebhookInfo as a few readable lines (never the secret: Telegram does not return it). */
export function describeWebhook(info: WebhookInfo): string[] {
  if (!info.url) return [`webhook: none (updates wait for getUpdates; pending ${info.pending_update_count})`];
  const lines = [
    `webhook: ${info.url}`,
    `pending updates: ${info.pending_update_count}`,
    `allowed updates: ${info.allowed_updates?.join(", ") ?? "Telegram's default (all but a few)"}`,
  ];
  if (info.max_connections !== undefined) lines.push(`max connections: ${info.max_connections}`);
  if (info.last_error_message) {
    const at = info.last_error_date ? new Date(info.last_error_date * 1000).toISOString() : "unknown time";
    lines.push(`last error: ${info.last_error_message} (${at})`);
  }
  return lines;
}

/** The command itself: returns the exit code (0 done, 1 Telegram or configuration refused, 2 usage). */
export async function runTelegramWebhook(argv: string[], env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  let values: { url?: string | undefined; delete?: boolean | undefined; "drop-pending"?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { url: { type: "string" }, delete: { type: "boolean" }, "drop-pending": { type: "boolean" } },
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.url && values.delete) {
    io.err(`--url and --delete exclude each other\n${USAGE}`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(err.message);
    return 1;
  }
  if (!config.telegram.enabled) {
    io.err("TELEGRAM_BOT_TOKEN is not set: there is no bot to configure");
    return 1;
  }
  const { token, apiRoot, webhookSecret } = config.telegram;
  const api = new Api(token, { apiRoot });
  try {
    if (values.url) {
      let url: string;
      try {
        url = webhookUrl(values.url);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        io.err(err.message);
        return 2;
      }
      // Without the secret the app runs long polling, which deletes the webhook on start, and it
      // could not tell Telegram's posts from anyone else's.
      if (!webhookSecret) {
        io.err(
          "TELEGRAM_WEBHOOK_SECRET is not set: the app checks it on every webhook post; set it here and on the app",
        );
        return 1;
      }
      await api.setWebhook(url, {
        secret_token: webhookSecret,
        allowed_updates: [...ALLOWED_UPDATES],
        drop_pending_updates: values["drop-pending"] ?? false,
      });
      io.out(`registered ${url}`);
    } else if (values.delete) {
      await api.deleteWebhook({ drop_pending_updates: values["drop-pending"] ?? false });
      io.out("webhook deleted");
    }
    const info = await api.getWebhookInfo();
    for (const line of describeWebhook(info)) io.out(line);
    if (values.url && info.url !== webhookUrl(values.url)) {
      io.err(`Telegram reports ${info.url || "no webhook"}, not the URL just registered`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof GrammyError) {
      io.err(`Telegram refused ${err.method}: ${err.error_code} ${err.description}`);
      return 1;
    }
    if (err instanceof HttpError) {
      io.err(`cannot reach the Bot API at ${apiRoot}: ${(err.error as Error).message ?? String(err.error)}`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runTelegramWebhook(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`telegram:webhook: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
