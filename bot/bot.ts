import { sequentialize } from "@grammyjs/runner";
import { Bot, type BotError, Composer } from "grammy";
import type { Update, UserFromGetMe } from "grammy/types";
import type { SqlExecutor } from "../core/db/adapters.js";
import { type PrismaClient, prismaSql } from "../core/db/database.js";
import type { ConversationEngine } from "../core/engine/engine.js";
import { Translator } from "../core/i18n/index.js";
import type { Logger } from "../core/logger.js";
import type { CitizenService } from "../core/services/citizens.js";
import type { FeedbackService } from "../core/services/feedback.js";
import type { StaffVisitService } from "../core/services/staff-visits.js";
import { ratingSide } from "./citizen/rating.js";
import { CitizenChat } from "./citizen.js";
import { citizenSide } from "./citizen-side.js";
import { type ClientOptions, configureApi } from "./client.js";
import { publishCommands } from "./commands.js";
import { type BotContext, localeHint } from "./context.js";
import { type BotSender, createTelegramSender } from "./sender.js";
import { DEFAULT_TIMEOUT_SECONDS, type TelegramSettings } from "./settings.js";
import { StaffCards } from "./staff/cards.js";
import { StaffChat } from "./staff/chat.js";
import { EscalationCards } from "./staff/escalation.js";
import { StaffRenderer } from "./staff/render.js";
import { staffSide } from "./staff/side.js";
import { StaffChatStore } from "./staff/state.js";
import { TelegramIo } from "./telegram-io.js";
import { type SenderFacts, UpdateLedger } from "./update-ledger.js";
import { UpdateAbandoned, UpdateQueue } from "./update-queue.js";

/** How long what the update ledger read about a sender stands in for asking again. */
const FACTS_FRESH_MS = 2000;

export interface TelegramOptions extends ClientOptions {
  /** app's `config.telegram` fits; only the connection fields are required. */
  config: Pick<TelegramSettings, "token" | "apiRoot"> & Partial<Omit<TelegramSettings, "token" | "apiRoot">>;
  prisma: PrismaClient;
  /** Plain SQL on the same database, for the statements every update runs (default: through Prisma). */
  sql?: SqlExecutor;
  logger: Logger;
  /** The conversation engine shared with the other channels, built by the caller. */
  engine: ConversationEngine;
  /** The staff side's decisions, built by the caller. */
  staffVisits: StaffVisitService;
  /** The citizen's rating answers (the core's `services.feedback`). */
  feedback: FeedbackService;
  /** The citizens' records, for the reply language (the core's `services.citizens`). */
  citizens: CitizenService;
  /** Known bot identity: skips getMe at start-up. */
  botInfo?: UserFromGetMe;
  clock?: () => Date;
  translator?: Translator;
  /** How long a recorded webhook update is this process's before another may take it over. */
  leaseSeconds?: number;
}

export interface TelegramBot {
  readonly bot: Bot<BotContext>;
  /** Longest one Bot API call may take (long polling waits less than this). */
  readonly timeoutSeconds: number;
  /** getMe (unless botInfo was given) and the command menus; safe to call more than once. */
  init(): Promise<void>;
  /**
   * For the outbox relay: `sendMessage` for plain notifications, `sendStaffVisitCard` for
   * notify.visit_requested_staff (the card with action buttons). Errors are the relay's
   * RecipientUnreachableError / PermanentSendError / TransientSendError. It shares the bot's Api,
   * so replies and notifications share one throttle.
   */
  readonly sender: BotSender;
  /**
   * Webhook updates: recorded in the ledger, then handled here in each chat's order; updates a
   * dead process left unhandled are claimed once `updates.start()` runs.
   */
  readonly updates: UpdateQueue;
  /** The bot's Bot API calls for screens (the webhook takes callback answers from it). */
  readonly io: TelegramIo;
}

/**
 * The Telegram bot on grammY: every outgoing call throttled and bounded (client.ts); each update
 * apologised for if it fails (errorBoundary), taken once (the update ledger, the one place
 * redeliveries are caught), kept in order within its chat (sequentialize), then offered to the
 * staff side and, if the staff side lets it through, to the citizen side.
 */
export function createTelegram(options: TelegramOptions): TelegramBot {
  const { config, prisma, logger, engine } = options;
  const clock = options.clock ?? (() => new Date());
  const sql = options.sql ?? prismaSql(prisma);
  const translator = options.translator ?? new Translator();
  const timeoutSeconds = config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const bot = new Bot<BotContext>(config.token, {
    client: { apiRoot: config.apiRoot, timeoutSeconds },
    ...(options.botInfo ? { botInfo: options.botInfo } : {}),
  });
  configureApi(bot.api, options);

  const io = new TelegramIo(bot.api, logger);
  const cards = new StaffCards(bot.api, options.staffVisits, new StaffRenderer(translator));
  const escalations = new EscalationCards(bot.api, options.staffVisits, translator);
  const staff = new StaffChat({
    service: options.staffVisits,
    renderer: new StaffRenderer(translator),
    store: new StaffChatStore(sql, clock),
    cards,
    escalations,
    io,
    translator,
    logger,
  });
  const citizen = new CitizenChat(engine, translator, io);
  const ledger = new UpdateLedger(sql, clock);

  const apologise = async (error: BotError<BotContext>) => {
    const ctx = error.ctx;
    logger.error({ err: error.error, updateId: ctx.update.update_id }, "telegram update failed");
    try {
      if (ctx.callbackQuery) await io.answer(ctx.callbackQuery.id);
      if (ctx.chat?.type === "private") {
        // The language the person last used here (from memory: the database may be what failed).
        const known = ctx.from ? engine.knownLocale(String(ctx.from.id)) : undefined;
        const locale = known ?? localeHint(ctx.from?.language_code) ?? "uz";
        await io.sendText(ctx.chat.id, translator.t(locale, "errors.unavailable"));
      }
    } catch (err) {
      logger.warn({ err, updateId: ctx.update.update_id }, "telegram: apology not sent");
    }
  };

  const served = bot.errorBoundary(apologise);
  // Webhook updates were recorded (taken once) and put in their chat's order by the update queue
  // before they reach the bot. Long polling's come straight from getUpdates: Telegram redelivers
  // an update when a poll's answer was lost, so the ledger takes each id once across instances
  // and restarts before any work is done, and sequentialize keeps each chat in order.
  const queued = new WeakSet<Update>();
  const facts = new WeakMap<Update, SenderFacts>();
  const polled = new Composer<BotContext>();
  polled.use(async (ctx, next) => {
    if (await ledger.admit(ctx.update.update_id)) await next();
  });
  polled.use(sequentialize((ctx: BotContext) => (ctx.chat ? String(ctx.chat.id) : undefined)));
  const viaPolling = polled.middleware();
  served.use((ctx, next) => {
    if (!queued.has(ctx.update)) return viaPolling(ctx, next);
    const known = facts.get(ctx.update);
    if (known) ctx.sender = known;
    return next();
  });
  // Only people in private chats are served; groups, channels and other bots are ignored.
  const people = served.chatType("private").filter((ctx) => ctx.from !== undefined && !ctx.from.is_bot);
  people.use(
    ratingSide({
      feedback: options.feedback,
      citizens: options.citizens,
      translator,
      io,
    }),
  );
  people.use(staffSide({ staff, staffVisits: options.staffVisits, citizen }));
  people.use(citizenSide(citizen));

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

  const updates = new UpdateQueue({
    ledger,
    logger,
    ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
    handle: async (update, known) => {
      // The bot must know who it is first: getMe is asked again until the Bot API answers, the
      // update's lease renewed meanwhile.
      for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
        try {
          await init();
          break;
        } catch (err) {
          if (updates.stopping) throw new UpdateAbandoned();
          logger.warn({ err, updateId: update.update_id }, "telegram: Bot API not reachable yet; update waits");
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      queued.add(update);
      // Read when the update was recorded: good for an update handled straight away, not for one
      // that waited (for the Bot API, say) while an administrator may have changed the account.
      if (known && performance.now() - known.readAt < FACTS_FRESH_MS) facts.set(update, known);
      await bot.handleUpdate(update);
    },
  });

  return {
    bot,
    timeoutSeconds,
    init,
    updates,
    io,
    sender: createTelegramSender(
      bot.api,
      (input, signal) => cards.send(input, signal),
      (input, signal) => escalations.send(input, signal),
    ),
  };
}
