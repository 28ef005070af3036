import type { SqlExecutor } from "../db/adapters.js";
import { type PrismaClient, type Tx, txSql } from "../db/database.js";
import { CLAIM_USSD_OFFER } from "../db/sql/feedback.js";
import { run } from "../db/sql/statement.js";
import { ConflictError, NotFoundError } from "../domain/errors.js";
import type { Params } from "../domain/vocabulary.js";
import { FEEDBACK_ASK_TEMPLATE } from "../notifications/buttons.js";
import { audit, notifyCitizen, notifyStaff } from "../notifications/outbox.js";

/*
 * The citizen's verdict (issue 15, part 3): asked once after a visit is done and after a decision,
 * answered once, by that citizen only. "Once" is the database's: the Feedback row is unique per
 * subject (the ask is an insert that skips an existing row, and the question is queued only by the
 * insert that created it), and the answer is an update conditional on the row being unanswered and
 * belonging to the caller, so double taps, an SMS and a USSD answer at once store exactly one.
 */

export const FEEDBACK_SUBJECT_KINDS = ["visit", "decision"] as const;
export type FeedbackSubjectKind = (typeof FEEDBACK_SUBJECT_KINDS)[number];
/** Why an answer is refused (each has its text under `rating.refused.`). */
export const ANSWER_REFUSALS = ["already_answered", "not_yours", "not_found"] as const;
export type FeedbackChannel = "telegram" | "sms" | "ussd";

/** Scores at or below this open a follow-up for the district's admin. */
export const FOLLOW_UP_AT_MOST = 2;
/** How long after a Telegram rating the citizen's next text message is taken as their comment. */
export const COMMENT_WINDOW_MS = 10 * 60_000;
/** Longest comment kept (a short comment; SMS and USSD carry about as much). */
export const COMMENT_MAX_LENGTH = 300;
/** A question older than this is no longer offered on USSD nor matched by an SMS reply. */
export const QUESTION_OPEN_MS = 30 * 86_400_000;

export const FEEDBACK_TEMPLATES = {
  ask: FEEDBACK_ASK_TEMPLATE,
  askSms: "notify.feedback_ask_sms",
  followUp: "notify.feedback_follow_up",
  followUpSms: "notify.feedback_follow_up_sms",
} as const;

export type AnswerOutcome =
  | { kind: "answered"; feedbackId: number; score: number; followUp: boolean }
  | { kind: (typeof ANSWER_REFUSALS)[number] };

/** Who answers: the citizen as their channel knows them. */
export type Answerer = { citizenId: number } | { telegramUserId: bigint };

export interface OpenQuestion {
  feedbackId: number;
  subjectKind: FeedbackSubjectKind;
  reference: string;
}

export interface FollowUpItem {
  id: number;
  subject: { kind: FeedbackSubjectKind; reference: string };
  score: number;
  comment: string | null;
  channel: string;
  district: { code: string; name: string } | null;
  answeredAt: Date;
  /** Whole hours since the answer. */
  ageHours: number;
  followUp: { status: "open" | "closed"; closedAt: Date | null; closedBy: string | null };
}

/** A score: an integer 1–5, else null. */
export function parseScore(value: string): number | null {
  const trimmed = value.trim();
  return /^[1-5]$/.test(trimmed) ? Number(trimmed) : null;
}

/** A comment as kept: spaces collapsed, cut to the limit; empty is none. */
export function cleanComment(value: string): string | null {
  const cleaned = value.normalize("NFC").replace(/\s+/g, " ").trim().slice(0, COMMENT_MAX_LENGTH);
  return cleaned.length ? cleaned : null;
}

interface SubjectFacts {
  citizenId: number;
  reference: string;
  districtId: number | null;
}

async function subjectFacts(tx: Tx, kind: FeedbackSubjectKind, id: number): Promise<SubjectFacts | null> {
  if (kind === "visit") {
    const v = await tx.visitRequest.findUnique({
      where: { id },
      select: { citizenId: true, reference: true, mahalla: { select: { districtId: true } } },
    });
    return v ? { citizenId: v.citizenId, reference: v.reference, districtId: v.mahalla.districtId } : null;
  }
  const a = await tx.application.findUnique({
    where: { id },
    select: { citizenId: true, reference: true, citizen: { select: { mahalla: { select: { districtId: true } } } } },
  });
  return a
    ? { citizenId: a.citizenId, reference: a.reference, districtId: a.citizen.mahalla?.districtId ?? null }
    : null;
}

/**
 * Asks the citizen for their verdict on a done visit or a decision, in the caller's transaction
 * (so the question exists exactly when the change does, and is queued with it). Asked once: a
 * second call for the same subject (a retried decision, approve then reject) changes nothing.
 * The question goes where the change's own notice goes: Telegram when linked, else SMS
 * (`preferSms` for a visit booked on USSD); an SMS question is also offered on the next USSD call.
 */
export async function askFeedback(
  tx: Tx,
  subject: { kind: FeedbackSubjectKind; id: number },
  options: { preferSms?: boolean; now?: Date } = {},
): Promise<void> {
  const facts = await subjectFacts(tx, subject.kind, subject.id);
  if (!facts) return;
  const citizen = await tx.citizen.findUniqueOrThrow({
    where: { id: facts.citizenId },
    select: { telegramChatId: true },
  });
  const channel: FeedbackChannel = citizen.telegramChatId !== null && !options.preferSms ? "telegram" : "sms";
  const created = await tx.feedback.createManyAndReturn({
    data: [
      {
        citizenId: facts.citizenId,
        subjectKind: subject.kind,
        subjectId: subject.id,
        channel,
        districtId: facts.districtId,
        ...(options.now ? { askedAt: options.now } : {}),
      },
    ],
    skipDuplicates: true,
    select: { id: true },
  });
  const row = created[0];
  if (!row) return;
  const params: Params = {
    reference: facts.reference,
    subject: { t: `rating.subject.${subject.kind}` },
    feedbackId: row.id,
  };
  await notifyCitizen(
    tx,
    facts.citizenId,
    {
      templateKey: channel === "telegram" ? FEEDBACK_TEMPLATES.ask : FEEDBACK_TEMPLATES.askSms,
      params,
      dedupeKey: `feedback-ask:${row.id}`,
    },
    { preferSms: channel === "sms" },
  );
}

/** The citizen's answers and the district admins' follow-ups. */
export class FeedbackService {
  private readonly sql: SqlExecutor;
  private readonly clock: () => Date;

  /** `sql`: the plain-SQL path (Database.sql) for what a conversation step asks; default through `prisma`. */
  constructor(
    private readonly prisma: PrismaClient,
    options: { clock?: () => Date; sql?: SqlExecutor } = {},
  ) {
    this.sql = options.sql ?? txSql(prisma);
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Stores a score (and a comment) only while the question is unanswered and only from the
   * citizen it was asked of: one conditional update, whatever races it. A score of 1–2 opens a
   * follow-up and tells the district's admins, in the same transaction.
   */
  async answer(input: {
    feedbackId: number;
    by: Answerer;
    score: number;
    comment?: string | null;
    channel: FeedbackChannel;
    now?: Date;
  }): Promise<AnswerOutcome> {
    const now = input.now ?? this.clock();
    const followUp = input.score <= FOLLOW_UP_AT_MOST;
    const comment = input.comment ? cleanComment(input.comment) : null;
    const owner =
      "citizenId" in input.by
        ? { citizenId: input.by.citizenId }
        : { citizen: { telegramUserId: input.by.telegramUserId } };
    return this.prisma.$transaction(async (tx) => {
      const updated = await tx.feedback.updateMany({
        where: { id: input.feedbackId, score: null, ...owner },
        data: {
          score: input.score,
          comment,
          answeredAt: now,
          channel: input.channel,
          followUpStatus: followUp ? "open" : "none",
          // On Telegram the next text message may still add the comment.
          commentUntil: input.channel === "telegram" && !comment ? new Date(now.getTime() + COMMENT_WINDOW_MS) : null,
        },
      });
      if (updated.count !== 1) return this.whyNot(tx, input.feedbackId, input.by);
      if (followUp) await this.openFollowUp(tx, input.feedbackId);
      return { kind: "answered", feedbackId: input.feedbackId, score: input.score, followUp };
    });
  }

  private async whyNot(tx: Tx, feedbackId: number, by: Answerer): Promise<AnswerOutcome> {
    const row = await tx.feedback.findUnique({
      where: { id: feedbackId },
      select: { score: true, citizenId: true, citizen: { select: { telegramUserId: true } } },
    });
    if (!row) return { kind: "not_found" };
    const mine = "citizenId" in by ? row.citizenId === by.citizenId : row.citizen.telegramUserId === by.telegramUserId;
    if (!mine) return { kind: "not_yours" };
    return { kind: "already_answered" };
  }

  /** One message to each active admin of the subject's district (SMS where they have no Telegram). */
  private async openFollowUp(tx: Tx, feedbackId: number): Promise<void> {
    const row = await tx.feedback.findUniqueOrThrow({ where: { id: feedbackId } });
    if (row.districtId === null) return;
    const facts = await subjectFacts(tx, row.subjectKind as FeedbackSubjectKind, row.subjectId);
    const admins = await tx.staff.findMany({
      where: { districtId: row.districtId, role: "district_admin", active: true },
      select: { id: true, telegramChatId: true },
      orderBy: { id: "asc" },
    });
    const params: Params = {
      id: row.id,
      reference: facts?.reference ?? "",
      subject: { t: `rating.subject.${row.subjectKind}` },
      score: row.score ?? 0,
    };
    for (const admin of admins) {
      const telegram = admin.telegramChatId !== null;
      await notifyStaff(tx, admin.id, {
        // The comment is the citizen's: in the admin's Telegram chat (its outbox copy is blanked
        // after OUTBOX_TEXT_RETENTION_DAYS), never in an SMS, whose text a logging sender writes
        // to the log; there the admin reads it in GET /api/v1/feedback.
        templateKey: telegram ? FEEDBACK_TEMPLATES.followUp : FEEDBACK_TEMPLATES.followUpSms,
        params: telegram ? { ...params, comment: row.comment ?? "—" } : params,
        dedupeKey: `feedback-follow-up:${row.id}:${admin.id}`,
      });
    }
  }

  /**
   * The Telegram user's next text message after a rating, within the window: stored as the comment
   * of the question they rated (only while none is stored). Null when no window is open: the
   * message is for the conversation.
   */
  async commentFromTelegram(telegramUserId: bigint, text: string, now = this.clock()): Promise<number | null> {
    const comment = cleanComment(text);
    if (!comment) return null;
    const open = await this.prisma.feedback.findFirst({
      where: { citizen: { telegramUserId }, commentUntil: { gt: now }, comment: null },
      select: { id: true },
      orderBy: { answeredAt: "desc" },
    });
    if (!open) return null;
    const updated = await this.prisma.feedback.updateMany({
      where: { id: open.id, commentUntil: { gt: now }, comment: null },
      data: { comment, commentUntil: null },
    });
    return updated.count === 1 ? open.id : null;
  }

  /** A comment given on the channel that took the score (USSD's comment screen). */
  async addComment(feedbackId: number, citizenId: number, text: string): Promise<boolean> {
    const comment = cleanComment(text);
    if (!comment) return false;
    const updated = await this.prisma.feedback.updateMany({
      where: { id: feedbackId, citizenId, comment: null, score: { not: null } },
      data: { comment, commentUntil: null },
    });
    return updated.count === 1;
  }

  /** "Skip" on Telegram: no comment is waited for any more. */
  async skipComment(feedbackId: number, telegramUserId: bigint): Promise<boolean> {
    const updated = await this.prisma.feedback.updateMany({
      where: { id: feedbackId, citizen: { telegramUserId }, score: { not: null } },
      data: { commentUntil: null },
    });
    return updated.count === 1;
  }

  /**
   * The question a USSD call offers before the menu: the newest unanswered one not yet offered on
   * USSD, claimed for this call (offered once: a skipped question is not offered again, though an
   * SMS reply still answers it).
   */
  async claimUssdOffer(citizenId: number, now = this.clock()): Promise<OpenQuestion | null> {
    const [claimed] = await run(this.sql, CLAIM_USSD_OFFER, [
      citizenId,
      new Date(now.getTime() - QUESTION_OPEN_MS).toISOString(),
      now.toISOString(),
    ]);
    if (!claimed) return null;
    return {
      feedbackId: claimed.feedbackId,
      subjectKind: claimed.subjectKind as FeedbackSubjectKind,
      reference: claimed.reference,
    };
  }

  /**
   * The question an SMS reply "1"–"5" answers: the newest question of this citizen still open,
   * else the newest answered one (so a second reply is told it was answered). Null: none asked
   * lately, and the message is not a rating.
   */
  async questionForSms(
    citizenId: number,
    now = this.clock(),
  ): Promise<{ feedbackId: number; answered: boolean } | null> {
    const since = new Date(now.getTime() - QUESTION_OPEN_MS);
    const open = await this.prisma.feedback.findFirst({
      where: { citizenId, score: null, askedAt: { gt: since } },
      select: { id: true },
      orderBy: { askedAt: "desc" },
    });
    if (open) return { feedbackId: open.id, answered: false };
    const answered = await this.prisma.feedback.findFirst({
      where: { citizenId, askedAt: { gt: since } },
      select: { id: true },
      orderBy: { askedAt: "desc" },
    });
    return answered ? { feedbackId: answered.id, answered: true } : null;
  }

  /** Answers with a follow-up (`open` or `closed`), oldest first, optionally of one district. */
  async followUps(
    filter: { status: "open" | "closed"; districtCode?: string | undefined; limit?: number; offset?: number },
    now = this.clock(),
  ): Promise<{ items: FollowUpItem[]; total: number; limit: number; offset: number }> {
    const limit = filter.limit ?? 50;
    const offset = filter.offset ?? 0;
    let districtId: number | undefined;
    if (filter.districtCode) {
      const district = await this.prisma.district.findUnique({ where: { code: filter.districtCode } });
      if (!district) return { items: [], total: 0, limit, offset };
      districtId = district.id;
    }
    const where = { followUpStatus: filter.status, ...(districtId !== undefined ? { districtId } : {}) };
    const [rows, total] = await Promise.all([
      this.prisma.feedback.findMany({
        where,
        orderBy: [{ answeredAt: "asc" }, { id: "asc" }],
        take: limit,
        skip: offset,
      }),
      this.prisma.feedback.count({ where }),
    ]);
    const districts = await this.prisma.district.findMany({
      where: { id: { in: rows.flatMap((r) => (r.districtId === null ? [] : [r.districtId])) } },
      select: { id: true, code: true, nameUz: true },
    });
    const [visits, applications] = await Promise.all([
      this.prisma.visitRequest.findMany({
        where: { id: { in: rows.filter((r) => r.subjectKind === "visit").map((r) => r.subjectId) } },
        select: { id: true, reference: true },
      }),
      this.prisma.application.findMany({
        where: { id: { in: rows.filter((r) => r.subjectKind === "decision").map((r) => r.subjectId) } },
        select: { id: true, reference: true },
      }),
    ]);
    const refs = new Map<string, string>([
      ...visits.map((v) => [`visit:${v.id}`, v.reference] as const),
      ...applications.map((a) => [`decision:${a.id}`, a.reference] as const),
    ]);
    const byId = new Map(districts.map((d) => [d.id, d]));
    const items = rows.map((r): FollowUpItem => {
      const district = r.districtId === null ? undefined : byId.get(r.districtId);
      const answeredAt = r.answeredAt ?? r.askedAt;
      return {
        id: r.id,
        subject: {
          kind: r.subjectKind as FeedbackSubjectKind,
          reference: refs.get(`${r.subjectKind}:${r.subjectId}`) ?? "",
        },
        score: r.score ?? 0,
        comment: r.comment,
        channel: r.channel,
        district: district ? { code: district.code, name: district.nameUz } : null,
        answeredAt,
        ageHours: Math.max(0, Math.floor((now.getTime() - answeredAt.getTime()) / 3600_000)),
        followUp: {
          status: r.followUpStatus === "closed" ? "closed" : "open",
          closedAt: r.followUpClosedAt,
          closedBy: r.followUpClosedBy,
        },
      };
    });
    return { items, total, limit, offset };
  }

  /** Closes an open follow-up (only while open: a second close is a conflict), audited. */
  async closeFollowUp(
    id: number,
    actor: string,
  ): Promise<{ id: number; followUp: { status: "closed"; closedAt: Date; closedBy: string } }> {
    const now = this.clock();
    await this.prisma.$transaction(async (tx) => {
      const closed = await tx.feedback.updateMany({
        where: { id, followUpStatus: "open" },
        data: { followUpStatus: "closed", followUpClosedAt: now, followUpClosedBy: actor },
      });
      if (closed.count !== 1) {
        const row = await tx.feedback.findUnique({ where: { id }, select: { followUpStatus: true } });
        if (!row || row.followUpStatus === "none") throw new NotFoundError(`no follow-up ${id}`);
        throw new ConflictError("FOLLOW_UP_CLOSED", `follow-up ${id} is already closed`);
      }
      await audit(tx, {
        actor,
        action: "feedback.follow_up_close",
        entity: "Feedback",
        entityId: String(id),
        before: { followUpStatus: "open" },
        after: { followUpStatus: "closed" },
      });
    });
    return { id, followUp: { status: "closed", closedAt: now, closedBy: actor } };
  }
}
