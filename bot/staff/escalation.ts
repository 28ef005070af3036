import type { Api } from "grammy";
import type { InlineKeyboardButton } from "grammy/types";
import { ForbiddenError, NotFoundError } from "../../core/domain/errors.js";
import type { Translator } from "../../core/i18n/index.js";
import { PermanentSendError, RecipientUnreachableError } from "../../core/notifications/senders.js";
import type { StaffMember, StaffVisit, StaffVisitService } from "../../core/services/staff-visits.js";
import type { GrammySignal } from "../retry.js";
import { encodeStaff } from "./callbacks.js";
import type { StaffMessage } from "./render.js";

const button = (text: string, data: string): InlineKeyboardButton => ({ text, callback_data: data });

/**
 * The district admin's escalation message (issue 15): the requests nobody accepted in time, each
 * with "another worker" and "take it" buttons. Sent by the outbox (notify.visit_escalated_admin),
 * also from `npm run worker`; rendered when sent, so it shows each request as it is then.
 */
export class EscalationCards {
  constructor(
    private readonly api: Api,
    private readonly service: StaffVisitService,
    private readonly translator: Translator,
  ) {}

  render(staff: StaffMember, visits: StaffVisit[]): StaffMessage {
    const l = staff.locale;
    const t = (key: string, params?: Parameters<Translator["t"]>[2]) => this.translator.t(l, key, params);
    const lines = visits.map((v) =>
      t("staff.list.item_worker", {
        reference: v.reference,
        date: { date: v.date },
        part: { t: `visit.part.${v.part}` },
        mahalla: { names: v.mahalla },
        status: { t: `status.visit.${v.status}` },
        worker: v.assignedStaff?.fullName ?? { t: "staff.card.unassigned" },
      }),
    );
    const rows = visits
      .filter((v) => v.status === "requested")
      .map((v) => [
        button(
          t("staff.escalation.reassign", { reference: v.reference }),
          encodeStaff({ kind: "escalated", reference: v.reference }),
        ),
        button(
          t("staff.escalation.take", { reference: v.reference }),
          encodeStaff({ kind: "take", reference: v.reference }),
        ),
      ]);
    return {
      text: [t("staff.escalation.title", { count: visits.length }), ...lines].join("\n"),
      keyboard: { inline_keyboard: rows },
    };
  }

  /** The short list of workers to hand an escalated request to. */
  workers(staff: StaffMember, visit: StaffVisit, workers: { id: number; fullName: string }[]): StaffMessage {
    const l = staff.locale;
    const t = (key: string) => this.translator.t(l, key);
    return {
      text: `${this.translator.t(l, "staff.card.title", { reference: visit.reference })}\n${t(workers.length ? "staff.choose_worker" : "staff.no_workers")}`,
      keyboard: {
        inline_keyboard: workers
          .slice(0, 10)
          .map((w) => [
            button(w.fullName, encodeStaff({ kind: "escalated_assign", reference: visit.reference, staffId: w.id })),
          ]),
      },
    };
  }

  /** `signal` (the outbox's deadline) aborts the Bot API call, even while it waits in the throttle. */
  async send(input: { staffId: number; references: string[] }, signal?: AbortSignal): Promise<{ messageId: string }> {
    const staff = await this.service.findById(input.staffId);
    if (!staff?.active) throw new PermanentSendError("STAFF_NOT_FOUND", `staff ${input.staffId} not found or inactive`);
    // Not on Telegram (any more): the relay sends the plain text by SMS instead.
    if (staff.telegramChatId === null)
      throw new RecipientUnreachableError(`staff ${input.staffId} has no Telegram chat`);
    const visits: StaffVisit[] = [];
    for (const reference of input.references) {
      try {
        visits.push(await this.service.get(staff, reference));
      } catch (err) {
        // Gone, or moved out of the admin's district since: the others are still worth sending.
        if (!(err instanceof NotFoundError || err instanceof ForbiddenError)) throw err;
      }
    }
    if (visits.length === 0) throw new PermanentSendError("VISIT_NOT_FOUND", "no escalated visit left to show");
    const message = this.render(staff, visits);
    const sent = await this.api.sendMessage(
      Number(staff.telegramChatId),
      message.text,
      { reply_markup: message.keyboard },
      signal as GrammySignal,
    );
    return { messageId: String(sent.message_id) };
  }
}
