import { sequentialize } from "@grammyjs/runner";
import { apiThrottler } from "@grammyjs/transformer-throttler";
import { Bot } from "grammy";
import type { Update, UserFromGetMe } from "grammy/types";
import type { AppConfig } from "../app/config.js";
import type { Logger } from "../app/logger.js";
import type { SqlExecutor } from "../core/db/adapters.js";
import { type PrismaClient, prismaSql } from "../core/db/database.js";
import type { ConversationEngine } from "../core/engine/index.js";
import { Translator } from "../core/i18n/index.js";
import { StaffVisitService } from "../core/services/staff-visits.js";
import { CitizenChat } from "./citizen.js";
import { publishCommands } from "./commands.js";
import { RecentUpdates } from "./recent-updates.js";
import { boundedRetry, type RetrySettings } from "./retry.js";
import { localeHint, route } from "./router.js";
import { type BotSender, countRateLimits, createTelegramSender } from "./sender.js";
import { StaffChat } from "./staff/chat.js";
import { StaffRenderer } from "./staff/render.js";
import { StaffChatStore } from "./staff/state.js";
import { TelegramIo } from "./telegram-io.js";
import { UpdateLedger } from "./update-ledger.js";

export type TelegramSettings = Extract<AppConfig["telegram"], { enabled: true }>;

/** Outgoing rate: Telegram allows about 30 messages a second overall and one a second per chat. */
export interface ThrottleSettings {
  globalPerSecond: number;
  perChatIntervalMs: number;
}

export const TELEGRAM_LIMITS: ThrottleSettings = { globalPerSecond: 30, perChatIntervalMs: 1000 };

export const DEFAULT_TIMEOUT_SECONDS = 10;
/** Three calls and waits of up to 5 s: a send ends within about 45 s, far inside the outbox lease. */
export const DEFAULT_RETRY: RetrySettings = { maxAttempts: 3, maxDelaySeconds: 5 };

export interface TelegramOptions {
  config: Pick<TelegramSettings, "token" | "apiRoot" | "sessionIdleSeconds"> &
    Partial<Pick<TelegramSettings, "timeoutSeconds">>;
  prisma: PrismaClient;
  /** Plain SQL on the same database, for the statements every update runs (default: through Prisma). */
  sql?: SqlExecutor;
  logger: Logger;
  /** Known bot identity: skips getMe at start-up. */
  botInfo?: UserFromGetMe;
  throttle?: ThrottleSettings;
  retry?: Partial<RetrySettings>;
  clock?: () => Date;
  translator?: Translator;
  /** The conversation core shared with the other channels, built once by app/core.ts. */
  core: { engine: ConversationEngine };
}

export interface TelegramBot {
  readonly bot: Bot;
  /** Longest one Bot API call may take (long polling waits less than this). */
  readonly timeoutSeconds: number;
  /** getMe (unless botInfo was given) and the command menus; safe to call more than once. */
  init(): Promise<void>;
  /** One update from the webhook or the poller: taken once, processed in order within its chat. */
  handleUpdate(update: Update): Promise<void>;
  /**
   * For the outbox relay: `sendMessage` for plain notifications, `sendStaffVisitCard` for
   * notify.visit_requested_staff (the card with action buttons). Errors are the relay's
   * RecipientUnreachableError / PermanentSendError / TransientSendError.
   */
  readonly sender: BotSender;
}

/**
 * The Telegram bot: grammY over the Bot API root from the config, every outgoing call throttled,
 * bounded by a timeout and retried briefly on 429 retry_after and 5xx (see retry.ts), updates
 * taken once and serialised per chat.
 */
export function createTelegram(options: TelegramOptions): TelegramBot {
  const { config, prisma, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const sql = options.sql ?? prismaSql(prisma);
  const translator = options.translator ?? new Translator();
  const timeoutSeconds = config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const bot = new Bot(config.token, {
    client: { apiRoot: config.apiRoot, timeoutSeconds },
    ...(options.botInfo ? { botInfo: options.botInfo } : {}),
  });
  // Innermost: sees every attempt's answer, each 429 included.
  bot.api.config.use(countRateLimits);
  // Installed first, so it runs inside the throttler: a retried call keeps its place in its
  // chat's queue, and per-chat order survives a 429.
  bot.api.config.use(boundedRetry({ ...DEFAULT_RETRY, ...options.retry }));
  bot.api.config.use(throttler(options.throttle ?? TELEGRAM_LIMITS));

  const { engine } = options.core;
  const io = new TelegramIo(bot.api, logger);
  const staffVisits = new StaffVisitService(prisma, { clock, sql });
  const staff = new StaffChat({
    service: staffVisits,
    renderer: new StaffRenderer(translator),
    store: new StaffChatStore(prisma, clock),
    io,
    translator,
    logger,
  });
  const citizen = new CitizenChat(engine, translator, io);
  const recent = new RecentUpdates();

  bot.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      logger.error({ err, updateId: ctx.update.update_id }, "telegram update failed");
      if (ctx.callbackQuery) await io.answer(ctx.callbackQuery.id);
      if (ctx.chat?.type === "private") {
        // The language the person last used here (from memory: the database may be what failed).
        const known = ctx.from ? engine.knownLocale(String(ctx.from.id)) : undefined;
        const locale = known ?? localeHint(ctx.from?.language_code) ?? "uz";
        await io.sendText(ctx.chat.id, translator.t(locale, "errors.unavailable")).catch(() => undefined);
      }
    }
  });
  const ledger = new UpdateLedger(sql, clock);
  bot.use(async (ctx, next) => {
    if (recent.admit(ctx.update.update_id) && (await ledger.admit(ctx.update.update_id))) await next();
  });
  bot.use(sequentialize((ctx) => (ctx.chat ? String(ctx.chat.id) : undefined)));
  bot.use((ctx) => route(ctx, { citizen, staff, staffVisits }));

  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= (async () => {
      await bot.init();
      await publishCommands(bot.api, translator).catch((err: unknown) =>
        logger.warn({ err }, "telegram: command menus not published"),
      );
    })().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };

  return {
    bot,
    timeoutSeconds,
    init,
    async handleUpdate(update) {
      await init();
      await bot.handleUpdate(update);
    },
    sender: createTelegramSender(bot.api, (input) => staff.sendCard(input)),
  };
}

function throttler(settings: ThrottleSettings) {
  return apiThrottler({
    global: {
      reservoir: settings.globalPerSecond,
      reservoirRefreshAmount: settings.globalPerSecond,
      reservoirRefreshInterval: 1000,
    },
    out: { maxConcurrent: 1, minTime: settings.perChatIntervalMs },
    // Groups are not served, but the throttler needs a policy: Telegram's 20 a minute.
    group: {
      maxConcurrent: 1,
      minTime: 3000,
      reservoir: 20,
      reservoirRefreshAmount: 20,
      reservoirRefreshInterval: 60_000,
    },
  });
}
