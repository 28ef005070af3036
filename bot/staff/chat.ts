import { DomainError, ForbiddenError, NotFoundError } from "../../core/domain/errors.js";
import type { Locale } from "../../core/domain/vocabulary.js";
import type { Translator } from "../../core/i18n/index.js";
import type { Logger } from "../../core/logger.js";
import type { StaffMember, StaffVisitService } from "../../core/services/staff-visits.js";
import { publishStaffCommands } from "../commands.js";
import type { TelegramIo } from "../telegram-io.js";
import type { StaffCommand } from "./callbacks.js";
import type { StaffCards } from "./cards.js";
import type { EscalationCards } from "./escalation.js";
import type { StaffMessage, StaffRenderer } from "./render.js";
import type { StaffChatStore } from "./state.js";

export interface StaffDeps {
  service: StaffVisitService;
  renderer: StaffRenderer;
  store: StaffChatStore;
  cards: StaffCards;
  /** The admin's escalation messages and their worker picker. */
  escalations: EscalationCards;
  io: TelegramIo;
  translator: Translator;
  logger: Logger;
}

/**
 * The staff side of the bot: linking with an invite code, the staff menu, visit lists and cards,
 * and the actions on a visit. Decisions belong to StaffVisitService; this class only talks.
 */
export class StaffChat {
  constructor(private readonly deps: StaffDeps) {}

  private t(locale: Locale, key: string, params?: Parameters<Translator["t"]>[2]) {
    return this.deps.translator.t(locale, key, params);
  }

  /** `/start <code>`: links the account, or explains why not. */
  async link(chatId: number, userId: number, code: string, locale: Locale): Promise<void> {
    const result = await this.deps.service.linkTelegram(code, { userId: BigInt(userId), chatId: BigInt(chatId) });
    if (!result.ok) {
      this.deps.logger.warn({ chatId, reason: result.reason }, "staff invite refused");
      await this.deps.io.sendText(chatId, this.t(locale, `staff.invite.${result.reason}`));
      return;
    }
    const staff = result.staff;
    this.deps.logger.info({ staffId: staff.id }, "staff linked their Telegram account");
    await this.deps.store.save(chatId, { mode: "staff", pendingNote: null });
    await this.deps.io.sendText(chatId, this.t(staff.locale, "staff.linked", { name: staff.fullName }));
    await this.showMenu(chatId, staff);
    await publishStaffCommands(this.deps.io.api, this.deps.translator, chatId, staff.locale).catch((err: unknown) =>
      this.deps.logger.warn({ err }, "telegram: staff commands not set"),
    );
  }

  async showMenu(chatId: number, staff: StaffMember): Promise<void> {
    const menu = this.deps.renderer.menu(staff);
    await this.deps.io.api.sendMessage(chatId, menu.text, { reply_markup: menu.keyboard });
  }

  async showList(chatId: number, staff: StaffMember, range: "today" | "week"): Promise<void> {
    // Today's list starts with what is late (issue 15): it can still be put right.
    const overdue = range === "today" ? await this.deps.service.overdue(staff) : [];
    const list = this.deps.renderer.list(staff, range, await this.deps.service.list(staff, range), overdue);
    await this.deps.io.api.sendMessage(chatId, list.text, { reply_markup: list.keyboard });
  }

  /** Switching to the citizen services drops a note still awaited, so typed text goes there. */
  async setMode(chatId: number, mode: "staff" | "citizen"): Promise<void> {
    const state = await this.deps.store.load(chatId);
    const pendingNote = mode === "citizen" ? null : state.pendingNote;
    if (state.mode !== mode || pendingNote !== state.pendingNote) {
      await this.deps.store.save(chatId, { mode, pendingNote });
    }
  }

  /**
   * A staff button. Returns "citizen" when the worker asked for the citizen services (the router
   * then starts the citizen conversation).
   */
  async onButton(
    chatId: number,
    staff: StaffMember | null,
    command: StaffCommand | null,
    query: { id: string; messageId: number | null },
    fallbackLocale: Locale,
  ): Promise<"citizen" | undefined> {
    const io = this.deps.io;
    if (!staff) {
      this.deps.logger.warn({ chatId }, "staff button pressed by an unlinked account");
      await io.answer(query.id, this.t(fallbackLocale, "staff.refused.not_linked"), true);
      return undefined;
    }
    if (!command) {
      await io.answer(query.id);
      return undefined;
    }
    const l = staff.locale;
    const render = this.deps.renderer;
    const service = this.deps.service;
    const editOrSend = async (message: StaffMessage) => {
      if (query.messageId !== null && (await io.editCard(chatId, query.messageId, message.text, message.keyboard))) {
        return;
      }
      await io.api.sendMessage(chatId, message.text, { reply_markup: message.keyboard });
    };
    try {
      switch (command.kind) {
        case "menu":
          await io.answer(query.id);
          if (command.to === "citizen") {
            await this.setMode(chatId, "citizen");
            return "citizen";
          }
          await this.setMode(chatId, "staff");
          if (command.to === "menu") await this.showMenu(chatId, staff);
          else await this.showList(chatId, staff, command.to);
          return undefined;
        case "open": {
          const visit = await service.get(staff, command.reference);
          await io.answer(query.id);
          await this.deps.cards.sendTo(chatId, staff, visit);
          return undefined;
        }
        case "card": {
          const visit = await service.get(staff, command.reference);
          await io.answer(query.id);
          await editOrSend(render.card(staff, visit));
          return undefined;
        }
        case "accept": {
          const visit = await service.accept(staff, command.reference);
          await io.answer(query.id, this.t(l, "staff.result.accepted"));
          await editOrSend(render.card(staff, visit));
          return undefined;
        }
        case "propose": {
          const visit = await service.get(staff, command.reference);
          const slots = await service.freeSlots(staff, command.reference);
          await io.answer(query.id);
          await editOrSend(render.slots(staff, visit, slots));
          return undefined;
        }
        case "reschedule": {
          const visit = await service.reschedule(staff, command.reference, command.slot);
          await io.answer(query.id, this.t(l, "staff.result.rescheduled"));
          await editOrSend(render.card(staff, visit));
          return undefined;
        }
        case "done": {
          const visit = await service.get(staff, command.reference);
          if (!["requested", "accepted", "rescheduled"].includes(visit.status)) {
            throw new DomainError("VISIT_NOT_ACTIONABLE", {
              key: "staff.refused.not_actionable",
              params: { status: { t: `status.visit.${visit.status}` } },
            });
          }
          await this.deps.store.update(chatId, {
            pendingNote: {
              reference: visit.reference,
              cardMessageId: query.messageId,
              until: this.deps.store.noteDeadline(),
            },
          });
          await io.answer(query.id);
          await io.api.sendMessage(chatId, this.t(l, "staff.ask_note", { reference: visit.reference }), {
            reply_markup: { force_reply: true },
          });
          return undefined;
        }
        case "not_home": {
          const visit = await service.markNotHome(staff, command.reference);
          await io.answer(query.id, this.t(l, "staff.result.not_home"));
          await editOrSend(render.card(staff, visit));
          return undefined;
        }
        case "reassign": {
          const visit = await service.get(staff, command.reference);
          const workers = await service.reassignCandidates(staff, command.reference);
          await io.answer(query.id);
          await editOrSend(render.workers(staff, visit, workers));
          return undefined;
        }
        // From the card, or from an escalation's picker (which marks the reassignment as escalated).
        case "assign":
        case "escalated_assign": {
          const visit = await service.reassign(staff, command.reference, command.staffId, {
            escalated: command.kind === "escalated_assign",
          });
          await io.answer(
            query.id,
            this.t(l, "staff.result.reassigned", {
              reference: visit.reference,
              worker: visit.assignedStaff?.fullName ?? "",
            }),
          );
          await editOrSend(render.card(staff, visit));
          return undefined;
        }
        // Escalation buttons: the message names several requests, so answers come as new messages.
        case "take": {
          const visit = await service.take(staff, command.reference);
          await io.answer(query.id, this.t(l, "staff.result.taken", { reference: visit.reference }));
          await this.deps.cards.sendTo(chatId, staff, visit);
          return undefined;
        }
        case "escalated": {
          const visit = await service.get(staff, command.reference);
          const workers = await service.reassignCandidates(staff, command.reference);
          await io.answer(query.id);
          const picker = this.deps.escalations.workers(staff, visit, workers);
          await io.api.sendMessage(chatId, picker.text, { reply_markup: picker.keyboard });
          return undefined;
        }
      }
    } catch (err) {
      await this.refuse(chatId, staff, command, err, query.id);
    }
    return undefined;
  }

  /** The outcome note typed after "Visited". */
  async onNote(chatId: number, staff: StaffMember, text: string): Promise<boolean> {
    const state = await this.deps.store.load(chatId);
    const pending = state.pendingNote;
    if (!pending) return false;
    try {
      const visit = await this.deps.service.markDone(staff, pending.reference, text);
      await this.deps.store.save(chatId, { ...state, pendingNote: null });
      await this.deps.io.sendText(chatId, this.t(staff.locale, "staff.result.done", { reference: visit.reference }));
      const card = this.deps.renderer.card(staff, visit);
      if (pending.cardMessageId !== null) {
        await this.deps.io.editCard(chatId, pending.cardMessageId, card.text, card.keyboard);
      }
    } catch (err) {
      // A note too short stays pending; anything else ends the wait.
      const keep = err instanceof DomainError && err.code.startsWith("NOTE_");
      if (!keep) await this.deps.store.save(chatId, { ...state, pendingNote: null });
      await this.refuse(chatId, staff, { kind: "done", reference: pending.reference }, err);
    }
    return true;
  }

  /** Whether a note is awaited in this chat. */
  async awaitingNote(chatId: number): Promise<boolean> {
    return (await this.deps.store.load(chatId)).pendingNote !== null;
  }

  async mode(chatId: number): Promise<"staff" | "citizen"> {
    return (await this.deps.store.load(chatId)).mode;
  }

  private async refuse(
    chatId: number,
    staff: StaffMember,
    command: StaffCommand,
    err: unknown,
    queryId?: string,
  ): Promise<void> {
    const l = staff.locale;
    let text: string;
    if (err instanceof ForbiddenError) {
      this.deps.logger.warn(
        { staffId: staff.id, action: command.kind, reference: "reference" in command ? command.reference : undefined },
        "staff action refused: visit outside the staff member's area",
      );
      text = this.t(l, "staff.refused.forbidden");
    } else if (err instanceof NotFoundError) {
      text = this.t(l, "staff.refused.not_found");
    } else if (err instanceof DomainError) {
      text = this.deps.translator.text(l, err.text);
    } else {
      throw err;
    }
    if (queryId) await this.deps.io.answer(queryId, text, true);
    else await this.deps.io.sendText(chatId, text);
  }
}
