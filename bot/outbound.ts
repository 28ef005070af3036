import { Api } from "grammy";
import { Translator } from "../core/i18n/index.js";
import type { StaffVisitService } from "../core/services/staff-visits.js";
import { type ClientOptions, configureApi } from "./client.js";
import { type BotSender, createTelegramSender } from "./sender.js";
import { type ClientSettings, DEFAULT_TIMEOUT_SECONDS } from "./settings.js";
import { StaffCards } from "./staff/cards.js";
import { EscalationCards } from "./staff/escalation.js";
import { StaffRenderer } from "./staff/render.js";

export interface BotSenderOptions extends ClientOptions {
  config: ClientSettings;
  /** For the staff visit card (who the worker is, the visit as they may see it). */
  staffVisits: StaffVisitService;
  translator?: Translator;
}

/**
 * The outbox's Telegram sender on an Api of its own, without the bot: for `npm run worker`,
 * which delivers notifications but takes no updates, so it builds no conversation engine.
 */
export function createBotSender(options: BotSenderOptions): BotSender {
  const { config } = options;
  const api = configureApi(
    new Api(config.token, {
      apiRoot: config.apiRoot,
      timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    }),
    options,
  );
  const translator = options.translator ?? new Translator();
  const cards = new StaffCards(api, options.staffVisits, new StaffRenderer(translator));
  const escalations = new EscalationCards(api, options.staffVisits, translator);
  return createTelegramSender(
    api,
    (input, signal) => cards.send(input, signal),
    (input, signal) => escalations.send(input, signal),
  );
}
