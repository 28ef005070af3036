import type { Api } from "grammy";
import { ForbiddenError, NotFoundError } from "../../core/domain/errors.js";
import { PermanentSendError, RecipientUnreachableError } from "../../core/notifications/senders.js";
import type { StaffMember, StaffVisitService } from "../../core/services/staff-visits.js";
import type { GrammySignal } from "../retry.js";
import type { StaffRenderer } from "./render.js";

export type StaffVisit = Awaited<ReturnType<StaffVisitService["get"]>>;

/**
 * The visit request card with its action buttons, and a map pin when the citizen shared a
 * location. Apart from StaffChat because the outbox sends it too (notify.visit_requested_staff),
 * also from `npm run worker`, which runs no conversation.
 */
export class StaffCards {
  constructor(
    private readonly api: Api,
    private readonly service: StaffVisitService,
    private readonly renderer: StaffRenderer,
  ) {}

  /** `signal` (the outbox's deadline) aborts the Bot API call, even while it waits in the throttle. */
  async send(input: { staffId: number; reference: string }, signal?: AbortSignal): Promise<{ messageId: string }> {
    const staff = await this.service.findById(input.staffId);
    if (!staff?.active) throw new PermanentSendError("STAFF_NOT_FOUND", `staff ${input.staffId} not found or inactive`);
    // Not on Telegram (any more): the relay sends the plain text by SMS instead.
    if (staff.telegramChatId === null)
      throw new RecipientUnreachableError(`staff ${input.staffId} has no Telegram chat`);
    let visit: StaffVisit;
    try {
      visit = await this.service.get(staff, input.reference);
    } catch (err) {
      if (err instanceof NotFoundError) throw new PermanentSendError("VISIT_NOT_FOUND", err.message);
      if (err instanceof ForbiddenError) throw new PermanentSendError("VISIT_FORBIDDEN", err.message);
      throw err;
    }
    const messageId = await this.sendTo(Number(staff.telegramChatId), staff, visit, signal);
    return { messageId: String(messageId) };
  }

  async sendTo(chatId: number, staff: StaffMember, visit: StaffVisit, signal?: AbortSignal): Promise<number> {
    const card = this.renderer.card(staff, visit);
    const message = await this.api.sendMessage(
      chatId,
      card.text,
      { reply_markup: card.keyboard },
      signal as GrammySignal,
    );
    if (visit.location) {
      await this.api.sendLocation(chatId, visit.location.latitude, visit.location.longitude, {
        reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      });
    }
    return message.message_id;
  }
}
