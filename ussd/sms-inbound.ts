import type { PrismaClient } from "../core/db/database.js";
import { normalizeUzPhone } from "../core/domain/phone.js";
import { parseReference } from "../core/domain/reference.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import { MemoryRateLimiter, type RateLimiter } from "../core/engine/rate-limit.js";
import type { ApplicationDetails } from "../core/services/applications.js";
import { displayPhone } from "../core/services/contacts.js";
import type { Services } from "../core/services/index.js";

export type SmsKeyword = "status" | "help";

export interface ParsedSms {
  keyword: SmsKeyword | null;
  /** The language the keyword was written in; null when it does not tell (STATUS, HELP, other text). */
  locale: Locale | null;
  /** What follows the keyword (a reference for HOLAT). */
  argument: string;
}

/** Keywords in the three languages, plus the Latin/Cyrillic look-alikes people type on old phones. */
const KEYWORDS: Record<string, { keyword: SmsKeyword; locale: Locale | null }> = {
  HOLAT: { keyword: "status", locale: "uz" },
  ҲОЛАТ: { keyword: "status", locale: "uz-Cyrl" },
  ХОЛАТ: { keyword: "status", locale: "uz-Cyrl" },
  СТАТУС: { keyword: "status", locale: "ru" },
  STATUS: { keyword: "status", locale: null },
  YORDAM: { keyword: "help", locale: "uz" },
  ЁРДАМ: { keyword: "help", locale: "uz-Cyrl" },
  ЕРДАМ: { keyword: "help", locale: "uz-Cyrl" },
  ПОМОЩЬ: { keyword: "help", locale: "ru" },
  ПОМОЩ: { keyword: "help", locale: "ru" },
  HELP: { keyword: "help", locale: null },
};

/** Reads an inbound SMS: the first word is the keyword, the rest its argument. */
export function parseSms(text: string): ParsedSms {
  const cleaned = text.normalize("NFC").replace(/\s+/g, " ").trim();
  const space = cleaned.indexOf(" ");
  const word = (space < 0 ? cleaned : cleaned.slice(0, space)).toUpperCase().replace(/[.,:;!?]+$/, "");
  const argument = space < 0 ? "" : cleaned.slice(space + 1).trim();
  const found = KEYWORDS[word];
  return found ? { ...found, argument } : { keyword: null, locale: null, argument: cleaned };
}

/** The reply to write to the outbox: an `sms.` template and its parameters. */
export interface SmsReply {
  templateKey: string;
  params: Params;
}

export interface InboundSms {
  from: string;
  text: string;
  /** The gateway's message id: a redelivered message is answered once. */
  id?: string | undefined;
}

export type InboundOutcome =
  | { kind: "answered"; templateKey: string; locale: Locale }
  | { kind: "ignored"; reason: "foreign_number" | "rate_limited" };

/**
 * Inbound SMS keywords (HOLAT <reference>, YORDAM, in all three languages), answered by SMS
 * through the outbox, so nothing is sent inside the request. A status is only ever told for the
 * sender's own applications, visits and appeals; anyone else's reference is "not found".
 */
export class SmsInbound {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly services: Services,
    private readonly limiter: RateLimiter = new MemoryRateLimiter(5, 10 * 60_000),
  ) {}

  async handle(message: InboundSms, now = new Date()): Promise<InboundOutcome> {
    const phone = normalizeUzPhone(message.from);
    if (!phone) return { kind: "ignored", reason: "foreign_number" };
    if (!(await this.limiter.hit(phone, now.getTime()))) return { kind: "ignored", reason: "rate_limited" };
    const parsed = parseSms(message.text);
    const citizen = await this.services.citizens.findByPhone(phone);
    const locale: Locale = parsed.locale ?? citizen?.locale ?? "uz";
    const rating = parsed.keyword === null && citizen ? parseRatingSms(message.text) : null;
    const reply =
      (rating && citizen ? await this.rate(rating, citizen.id, now) : null) ??
      (await this.reply(parsed, citizen?.id ?? null, now));
    const data = {
      channel: "sms",
      recipientPhone: phone,
      citizenId: citizen?.id ?? null,
      locale,
      templateKey: reply.templateKey,
      params: reply.params as object,
      dedupeKey: message.id ? `sms-inbound:${message.id}` : null,
    };
    if (data.dedupeKey) {
      await this.prisma.outbox.upsert({ where: { dedupeKey: data.dedupeKey }, create: data, update: {} });
    } else {
      await this.prisma.outbox.create({ data });
    }
    return { kind: "answered", templateKey: reply.templateKey, locale };
  }

  /**
   * "4" or "4 kind worker": the answer to the sender's own newest question (the phone is the
   * citizen; a number that was asked nothing gets the usual help). Null: not a rating after all.
   */
  private async rate(rating: RatingSms, citizenId: number, now: Date): Promise<SmsReply | null> {
    const question = await this.services.feedback.questionForSms(citizenId, now);
    if (!question) return null;
    if (question.answered) return { templateKey: "sms.rating_already", params: {} };
    const outcome = await this.services.feedback.answer({
      feedbackId: question.feedbackId,
      by: { citizenId },
      score: rating.score,
      comment: rating.comment,
      channel: "sms",
      now,
    });
    return outcome.kind === "answered"
      ? { templateKey: "sms.rating_thanks", params: { score: rating.score } }
      : { templateKey: "sms.rating_already", params: {} };
  }

  private async reply(parsed: ParsedSms, citizenId: number | null, now: Date): Promise<SmsReply> {
    if (parsed.keyword !== "status") {
      // Only what the agency has set: the USSD code to dial, the hotline to call (never one for the other).
      const { hotline, ussdCode } = await this.services.contacts.contacts();
      const help = parsed.keyword === "help";
      const variant = [ussdCode ? "code" : "", help && hotline ? "hotline" : ""].filter(Boolean).join("_");
      const base = help ? "sms.help" : "sms.unknown";
      return {
        templateKey: variant ? `${base}_${variant}` : base,
        params: {
          ...(ussdCode ? { code: ussdCode } : {}),
          ...(help && hotline ? { hotline: displayPhone(hotline) } : {}),
        },
      };
    }
    if (!parsed.argument) return this.latest(citizenId);
    const reference = parseReference(parsed.argument, "A");
    if (!reference) return { templateKey: "sms.bad_reference", params: {} };
    const notFound = { templateKey: "sms.not_found", params: { reference } };
    if (citizenId === null) return notFound;
    if (reference.startsWith("A")) {
      const app = await this.services.applications.findForCitizen(citizenId, reference);
      return app ? applicationReply(app) : notFound;
    }
    if (reference.startsWith("V")) {
      const visit = (await this.services.visits.listForCitizen(citizenId, now, 50)).find(
        (v) => v.reference === reference,
      );
      if (!visit) return notFound;
      return {
        templateKey: "sms.visit_status",
        params: {
          reference,
          date: { date: visit.date },
          part: { t: `visit.part.${visit.part}` },
          status: { t: `status.visit.${visit.status}` },
        },
      };
    }
    const appeal = await this.prisma.appeal.findFirst({
      where: { citizenId, reference },
      select: { status: true, application: { select: { reference: true } } },
    });
    if (!appeal) return notFound;
    return {
      templateKey: "sms.appeal_status",
      params: { reference, application: appeal.application.reference, status: { t: `sms.appeal.${appeal.status}` } },
    };
  }

  /** HOLAT alone: the newest application. */
  private async latest(citizenId: number | null): Promise<SmsReply> {
    const [newest] = citizenId === null ? [] : await this.services.applications.listForCitizen(citizenId, 1);
    const app =
      newest && citizenId !== null
        ? await this.services.applications.findForCitizen(citizenId, newest.reference)
        : null;
    if (app) return applicationReply(app);
    const { ussdCode } = await this.services.contacts.contacts();
    return ussdCode
      ? { templateKey: "sms.no_applications_code", params: { code: ussdCode } }
      : { templateKey: "sms.no_applications", params: {} };
  }
}

export interface RatingSms {
  score: number;
  comment: string | null;
}

/** A reply to the rating question: one digit 1–5 first, then optionally a comment. */
export function parseRatingSms(text: string): RatingSms | null {
  const match = /^\s*([1-5])(?:$|[\s.,:;!)-]+([\s\S]*)$)/.exec(text.normalize("NFC"));
  if (!match) return null;
  const comment = match[2]?.replace(/\s+/g, " ").trim() ?? "";
  return { score: Number(match[1]), comment: comment.length ? comment : null };
}

function applicationReply(app: ApplicationDetails): SmsReply {
  const params: Params = {
    reference: app.reference,
    benefit: { names: app.benefit },
    status: { t: `status.application.${app.status}` },
    date: { date: (app.history.at(-1)?.at ?? app.submittedAt).toISOString() },
  };
  if (app.status === "rejected" && app.statusReason) {
    return { templateKey: "sms.application_status_reason", params: { ...params, reason: app.statusReason } };
  }
  return { templateKey: "sms.application_status", params };
}
