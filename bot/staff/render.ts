import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { formatUzPhone } from "../../core/domain/phone.js";
import { type Slot, weekday } from "../../core/domain/slots.js";
import type { Locale, Params } from "../../core/domain/vocabulary.js";
import type { Translator } from "../../core/i18n/index.js";
import type { OverdueStaffVisit, StaffMember, StaffVisit } from "../../core/services/staff-visits.js";
import { encodeStaff } from "./callbacks.js";

export interface StaffMessage {
  text: string;
  keyboard: InlineKeyboardMarkup;
}

const button = (text: string, data: string): InlineKeyboardButton => ({ text, callback_data: data });

/** "Thu 26.11.2026 morning" in the staff member's language. */
export function slotParams(slot: Slot): Params {
  return {
    weekday: { t: `weekday.${weekday(slot.date)}` },
    date: { date: slot.date },
    part: { t: `visit.part.${slot.part}` },
  };
}

/**
 * Pure renderers for what staff see: their menu, visit lists, the visit card with its actions and
 * the pickers for a new time or another worker.
 */
export class StaffRenderer {
  constructor(private readonly translator: Translator) {}

  private t(locale: Locale, key: string, params?: Params) {
    return this.translator.t(locale, key, params);
  }

  menu(staff: StaffMember): StaffMessage {
    const l = staff.locale;
    return {
      text: this.t(l, "staff.menu.title", { name: staff.fullName }),
      keyboard: {
        inline_keyboard: [
          [button(this.t(l, "staff.menu.today"), encodeStaff({ kind: "menu", to: "today" }))],
          [button(this.t(l, "staff.menu.week"), encodeStaff({ kind: "menu", to: "week" }))],
          [button(this.t(l, "staff.menu.citizen"), encodeStaff({ kind: "menu", to: "citizen" }))],
        ],
      },
    };
  }

  list(
    staff: StaffMember,
    range: "today" | "week",
    visits: StaffVisit[],
    overdue: OverdueStaffVisit[] = [],
  ): StaffMessage {
    const l = staff.locale;
    const late = overdue.map((v) =>
      this.t(l, "staff.late.item", {
        reference: v.reference,
        mahalla: { names: v.mahalla },
        status: { t: `status.visit.${v.status}` },
        late: { t: `staff.late.${v.late.unit}`, params: { count: v.late.late } },
      }),
    );
    const lateBlock = late.length ? [this.t(l, "staff.late.title", { count: late.length }), ...late, ""] : [];
    const lateButtons = overdue.map((v) => [
      button(`⚠️ ${v.reference}`, encodeStaff({ kind: "open", reference: v.reference })),
    ]);
    const showWorker = staff.role === "district_admin";
    const lines = visits.map((v) =>
      this.t(l, showWorker ? "staff.list.item_worker" : "staff.list.item", {
        reference: v.reference,
        date: { date: v.date },
        part: { t: `visit.part.${v.part}` },
        mahalla: { names: v.mahalla },
        status: { t: `status.visit.${v.status}` },
        worker: v.assignedStaff?.fullName ?? { t: "staff.card.unassigned" },
      }),
    );
    const title =
      visits.length === 0
        ? this.t(l, range === "today" ? "staff.list.none_today" : "staff.list.none_week")
        : this.t(l, range === "today" ? "staff.list.today" : "staff.list.week", { count: visits.length });
    return {
      text: [...lateBlock, title, ...lines].join("\n"),
      keyboard: {
        inline_keyboard: [
          ...lateButtons,
          ...visits.map((v) => [
            button(
              this.t(l, "staff.action.open", {
                reference: v.reference,
                date: { date: v.date },
                part: { t: `visit.part.${v.part}` },
              }),
              encodeStaff({ kind: "open", reference: v.reference }),
            ),
          ]),
          [button(this.t(l, "staff.action.menu"), encodeStaff({ kind: "menu", to: "menu" }))],
        ],
      },
    };
  }

  cardText(staff: StaffMember, visit: StaffVisit): string {
    const l = staff.locale;
    const address = visit.address
      ? visit.address
      : this.t(l, visit.location ? "staff.card.address_location" : "staff.card.address_none");
    const lines = [
      this.t(l, "staff.card.title", { reference: visit.reference }),
      this.t(l, "staff.card.citizen", { name: visit.citizen.name ?? this.t(l, "staff.card.name_unknown") }),
      this.t(l, "staff.card.phone", { phone: formatUzPhone(visit.citizen.phone) }),
      this.t(l, "staff.card.reason", { reason: { names: visit.reason } }),
      this.t(l, "staff.card.slot", { slot: { t: "visit.slot", params: slotParams(visit) } }),
      this.t(l, "staff.card.address", { address }),
      this.t(l, "staff.card.mahalla", { mahalla: { names: visit.mahalla } }),
      this.t(l, "staff.card.status", { status: { t: `status.visit.${visit.status}` } }),
    ];
    if (staff.role === "district_admin" || (visit.assignedStaff && visit.assignedStaff.id !== staff.id)) {
      lines.push(
        this.t(l, "staff.card.worker", {
          worker: visit.assignedStaff?.fullName ?? { t: "staff.card.unassigned" },
        }),
      );
    }
    if (visit.outcomeNote) lines.push(this.t(l, "staff.card.note", { note: visit.outcomeNote }));
    return lines.join("\n");
  }

  /** The visit card: details, and the actions its status still allows. */
  card(staff: StaffMember, visit: StaffVisit): StaffMessage {
    const l = staff.locale;
    const reference = visit.reference;
    const rows: InlineKeyboardButton[][] = [];
    const open = visit.status === "requested" || visit.status === "accepted" || visit.status === "rescheduled";
    if (visit.status === "requested") {
      rows.push([button(this.t(l, "staff.action.accept"), encodeStaff({ kind: "accept", reference }))]);
    }
    if (open) {
      rows.push([button(this.t(l, "staff.action.propose"), encodeStaff({ kind: "propose", reference }))]);
      rows.push([
        button(this.t(l, "staff.action.done"), encodeStaff({ kind: "done", reference })),
        button(this.t(l, "staff.action.not_home"), encodeStaff({ kind: "not_home", reference })),
      ]);
      if (staff.role === "district_admin") {
        rows.push([button(this.t(l, "staff.action.reassign"), encodeStaff({ kind: "reassign", reference }))]);
      }
    }
    return { text: this.cardText(staff, visit), keyboard: { inline_keyboard: rows } };
  }

  slots(staff: StaffMember, visit: StaffVisit, slots: Slot[]): StaffMessage {
    const l = staff.locale;
    const back = [button(this.t(l, "staff.action.back"), encodeStaff({ kind: "card", reference: visit.reference }))];
    return {
      text: `${this.cardText(staff, visit)}\n\n${this.t(l, slots.length ? "staff.choose_slot" : "staff.no_slots")}`,
      keyboard: {
        inline_keyboard: [
          ...slots
            .slice(0, 10)
            .map((slot) => [
              button(
                this.t(l, "visit.slot", slotParams(slot)),
                encodeStaff({ kind: "reschedule", reference: visit.reference, slot }),
              ),
            ]),
          back,
        ],
      },
    };
  }

  workers(staff: StaffMember, visit: StaffVisit, workers: { id: number; fullName: string }[]): StaffMessage {
    const l = staff.locale;
    const back = [button(this.t(l, "staff.action.back"), encodeStaff({ kind: "card", reference: visit.reference }))];
    return {
      text: `${this.cardText(staff, visit)}\n\n${this.t(l, workers.length ? "staff.choose_worker" : "staff.no_workers")}`,
      keyboard: {
        inline_keyboard: [
          ...workers
            .slice(0, 20)
            .map((w) => [
              button(w.fullName, encodeStaff({ kind: "assign", reference: visit.reference, staffId: w.id })),
            ]),
          back,
        ],
      },
    };
  }
}
