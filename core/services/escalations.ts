import type { PrismaClient, Tx } from "../db/database.js";
import { LOCK_TICK, TICK_KIND } from "../db/sql/escalation.js";
import { executeIn } from "../db/sql/statement.js";
import type { Params } from "../domain/vocabulary.js";
import { notifyCitizen, notifyStaff } from "../notifications/outbox.js";
import type { LogSink } from "../notifications/senders.js";
import { DEMO_PHONE_PREFIX } from "../reference/demo-activity.js";
import { calendarFor } from "./calendar.js";
import { displayPhone } from "./contacts.js";
import type { Claimed, DeadlineService } from "./deadlines.js";

/**
 * Requests named in one Telegram escalation message: two buttons each stay well within Telegram's
 * keyboard, and the message stays readable on a phone. More due at one tick go in further messages.
 */
export const ESCALATION_BATCH_TELEGRAM = 8;
/**
 * References named in one SMS (escalation or reminder): references are never shortened, so three
 * is what keeps a Cyrillic SMS within the two parts the other notifications keep to.
 */
export const REFERENCES_PER_SMS = 3;

/** The outbox templates of this module. */
export const ESCALATION_TEMPLATES = {
  reminder: "notify.deadline_reminder_staff",
  escalation: "notify.visit_escalated_admin",
  applicationLate: "notify.application_late",
  applicationLateNoContact: "notify.application_late_no_contact",
  visitLate: "notify.visit_late",
  visitLateNoContact: "notify.visit_late_no_contact",
} as const;

export interface TickResult {
  reminders: number;
  escalations: number;
  lateNotices: number;
  /** Outbox rows written (grouped: fewer than the items for reminders and escalations). */
  messages: number;
}

/** The demo set's people are claimed like anyone (figures count them) but never sent anything. */
const isDemo = (phone: string) => phone.startsWith(DEMO_PHONE_PREFIX);

const chunks = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/**
 * The deadline tick (issue 15 part 2): reminds workers before a visit request's acceptance
 * deadline, escalates what is still not accepted after it to the district "Inson" centre's admins,
 * and tells citizens once that their answer is late. Each kind runs in one transaction with the
 * claims of DeadlineService: an item is claimed (the unique key on subject and kind) and its
 * message written to the outbox in the same commit, so several instances ticking at once, or a
 * crash between the two, never send anything twice or lose it.
 *
 * Reminder window: REMINDER_WINDOW_MS of DeadlineService (the last two hours before the acceptance
 * deadline), so a deadline at 11:00 is reminded from 09:00, in office hours on a working day.
 */
export class EscalationService {
  private readonly log: LogSink | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly deadlines: DeadlineService,
    options: { log?: LogSink } = {},
  ) {
    this.log = options.log;
  }

  async tick(now: Date): Promise<TickResult> {
    const reminders = await this.locked("reminder", (tx) => this.remind(tx, now));
    const escalations = await this.locked("escalation", (tx) => this.escalate(tx, now));
    const late = await this.locked("late_notice", (tx) => this.tellLate(tx, now));
    return {
      reminders: reminders.items,
      escalations: escalations.items,
      lateNotices: late.items,
      messages: reminders.messages + escalations.messages + late.messages,
    };
  }

  /** One kind's claims and messages in one transaction, one instance at a time (LOCK_TICK). */
  private async locked<T>(kind: keyof typeof TICK_KIND, work: (tx: Tx) => Promise<T>): Promise<T> {
    // The calendar is read (and cached) before the transaction, not on a second connection in it:
    // the embedded database has only one.
    await calendarFor(this.prisma).calendar();
    return this.prisma.$transaction(
      async (tx) => {
        await executeIn(tx, LOCK_TICK, [TICK_KIND[kind]]);
        return work(tx);
      },
      // Another instance's tick may hold the lock for a while: wait for it rather than fail.
      { maxWait: 10_000, timeout: 60_000 },
    );
  }

  /** One reminder per worker, naming every request of theirs that is due soon. */
  private async remind(tx: Tx, now: Date): Promise<{ items: number; messages: number }> {
    const claimed = await this.deadlines.claimReminders(now, { tx });
    if (claimed.length === 0) return { items: 0, messages: 0 };
    const visits = await tx.visitRequest.findMany({
      where: { id: { in: claimed.map((c) => c.subjectId) } },
      select: { id: true, reference: true, assignedStaffId: true, mahallaId: true },
      orderBy: { id: "asc" },
    });
    const byStaff = new Map<number, string[]>();
    for (const v of visits) {
      // Unassigned: the mahalla's workers, any of whom may accept it.
      const staffIds =
        v.assignedStaffId !== null
          ? [v.assignedStaffId]
          : (
              await tx.staffMahalla.findMany({
                where: { mahallaId: v.mahallaId, staff: { active: true, role: "social_worker" } },
                select: { staffId: true },
              })
            ).map((s) => s.staffId);
      for (const id of staffIds) byStaff.set(id, [...(byStaff.get(id) ?? []), v.reference]);
    }
    let messages = 0;
    for (const [staffId, references] of byStaff) {
      const staff = await tx.staff.findUnique({
        where: { id: staffId },
        select: { active: true, telegramChatId: true, phone: true },
      });
      if (!staff?.active || isDemo(staff.phone)) continue;
      const size = staff.telegramChatId !== null ? ESCALATION_BATCH_TELEGRAM : REFERENCES_PER_SMS;
      for (const part of chunks(references, size)) {
        await notifyStaff(tx, staffId, {
          templateKey: ESCALATION_TEMPLATES.reminder,
          params: { count: part.length, references: part.join(", ") },
        });
        messages++;
      }
    }
    return { items: claimed.length, messages };
  }

  /** One message per admin of each district with requests past their acceptance deadline. */
  private async escalate(tx: Tx, now: Date): Promise<{ items: number; messages: number }> {
    const claimed = await this.deadlines.claimEscalations(now, { tx });
    if (claimed.length === 0) return { items: 0, messages: 0 };
    const visits = await tx.visitRequest.findMany({
      where: { id: { in: claimed.map((c) => c.subjectId) } },
      select: { reference: true, mahalla: { select: { districtId: true } } },
      orderBy: { id: "asc" },
    });
    const byDistrict = new Map<number, string[]>();
    for (const v of visits) {
      const d = v.mahalla.districtId;
      byDistrict.set(d, [...(byDistrict.get(d) ?? []), v.reference]);
    }
    let messages = 0;
    for (const [districtId, references] of byDistrict) {
      const admins = await tx.staff.findMany({
        where: { districtId, role: "district_admin", active: true, NOT: { phone: { startsWith: DEMO_PHONE_PREFIX } } },
        select: { id: true, telegramChatId: true },
        orderBy: { id: "asc" },
      });
      if (admins.length === 0) {
        // Still claimed: the request stays in GET /api/v1/visit-requests?overdue=true.
        this.log?.warn({ districtId, count: references.length }, "escalation: the district has no active admin");
      }
      for (const admin of admins) {
        const size = admin.telegramChatId !== null ? ESCALATION_BATCH_TELEGRAM : REFERENCES_PER_SMS;
        for (const part of chunks(references, size)) {
          await notifyStaff(tx, admin.id, {
            templateKey: ESCALATION_TEMPLATES.escalation,
            params: { count: part.length, references: part.join(", ") },
          });
          messages++;
        }
      }
    }
    return { items: claimed.length, messages };
  }

  /** The citizen's late notice, in their language on their channel, with where to turn. */
  private async tellLate(tx: Tx, now: Date): Promise<{ items: number; messages: number }> {
    const claimed = await this.deadlines.claimLateNotices(now, { tx });
    if (claimed.length === 0) return { items: 0, messages: 0 };
    const contacts = await tx.serviceContact.findUnique({ where: { id: 1 }, select: { hotline: true } });
    let messages = 0;
    for (const item of claimed) if (await this.lateNotice(tx, item, contacts?.hotline ?? null)) messages++;
    return { items: claimed.length, messages };
  }

  private async lateNotice(tx: Tx, item: Claimed, hotline: string | null): Promise<boolean> {
    const district = { select: { insonPhone: true } } as const;
    if (item.subjectKind === "application") {
      const a = await tx.application.findUniqueOrThrow({
        where: { id: item.subjectId },
        select: {
          citizenId: true,
          channel: true,
          citizen: { select: { phone: true, mahalla: { select: { district } } } },
        },
      });
      if (isDemo(a.citizen.phone)) return false;
      const phone = a.citizen.mahalla?.district.insonPhone ?? hotline;
      await notifyCitizen(tx, a.citizenId, this.notice("application", item.reference, phone), {
        preferSms: a.channel === "ussd",
      });
      return true;
    }
    const v = await tx.visitRequest.findUniqueOrThrow({
      where: { id: item.subjectId },
      select: {
        citizenId: true,
        channel: true,
        citizen: { select: { phone: true } },
        mahalla: { select: { district } },
      },
    });
    if (isDemo(v.citizen.phone)) return false;
    const phone = v.mahalla.district.insonPhone ?? hotline;
    await notifyCitizen(tx, v.citizenId, this.notice("visit", item.reference, phone), {
      preferSms: v.channel === "ussd",
    });
    return true;
  }

  private notice(kind: "application" | "visit", reference: string, phone: string | null) {
    const params: Params = { reference, ...(phone ? { phone: displayPhone(phone) } : {}) };
    const t = ESCALATION_TEMPLATES;
    const templateKey =
      kind === "application"
        ? phone
          ? t.applicationLate
          : t.applicationLateNoContact
        : phone
          ? t.visitLate
          : t.visitLateNoContact;
    return { templateKey, params };
  }
}
