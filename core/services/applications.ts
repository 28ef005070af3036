import { jsonColumn as json, type SqlDatabase } from "../db/adapters.js";
import { type PrismaClient, prismaSql, type Tx } from "../db/database.js";
import { DETAILS, HOLD_FOR_SUBMISSION, LIST, OPEN_FOR, SUBMIT, type SummaryRow } from "../db/sql/application.js";
import { run } from "../db/sql/statement.js";
import { ConflictError, DomainError, IllegalTransitionError, NotFoundError } from "../domain/errors.js";
import {
  APPEAL_WINDOW_DAYS,
  type ApplicationStatus,
  canMoveApplication,
  OPEN_APPLICATION_STATUSES,
} from "../domain/statuses.js";
import type { Channel, FlowData, Locale, Names } from "../domain/vocabulary.js";
import { audit, notifyCitizen, outboxRowParams } from "../notifications/outbox.js";
import { askFeedback } from "./feedback.js";
import { namesOf } from "./names.js";
import { withFreshReference } from "./references.js";

export interface ApplicationSummary {
  reference: string;
  status: ApplicationStatus;
  benefit: Names;
  submittedAt: Date;
}

export interface ApplicationDetails extends ApplicationSummary {
  statusReason: string | null;
  decidedAt: Date | null;
  history: { status: ApplicationStatus; at: Date; reason: string | null }[];
}

const benefitNames = { select: { code: true, nameUz: true, nameUzCyrl: true, nameRu: true } } as const;

const summaryOf = (row: SummaryRow): ApplicationSummary => ({
  reference: row.reference,
  status: row.status as ApplicationStatus,
  benefit: namesOf(row),
  submittedAt: new Date(row.submittedMs),
});

/** A person applies for a handful of benefits at most; more in one day is a script or a mistake. */
export const MAX_APPLICATIONS_PER_DAY = 5;

export class ApplicationService {
  private readonly sql: SqlDatabase;

  constructor(
    private readonly prisma: PrismaClient,
    sql?: SqlDatabase,
  ) {
    this.sql = sql ?? prismaSql(prisma);
  }

  /** The open application for this benefit, if any: a second one would be a duplicate. */
  async openFor(citizenId: number, benefitTypeId: number): Promise<string | null> {
    const [open] = await run(this.sql, OPEN_FOR, [citizenId, benefitTypeId, [...OPEN_APPLICATION_STATUSES]]);
    return open?.reference ?? null;
  }

  async submit(input: {
    citizenId: number;
    benefitTypeId: number;
    answers: FlowData;
    channel: Channel;
    locale: Locale;
  }): Promise<string> {
    const preferSms = input.channel === "ussd";
    return withFreshReference("A", (reference) =>
      // Two statements, whatever the outcome: the lock (with what the notification needs) and one
      // statement that decides and writes everything, so a submission costs four round trips.
      this.sql.transaction(async (tx) => {
        // Serialise submissions of one citizen so two quick confirmations cannot both pass the check.
        const [held] = await run(tx, HOLD_FOR_SUBMISSION, [input.citizenId, input.benefitTypeId]);
        if (!held || held.phone === null) throw new NotFoundError(`no citizen ${input.citizenId}`);
        if (held.nameUz === null || held.nameUzCyrl === null || held.nameRu === null) {
          throw new NotFoundError(`no benefit type ${input.benefitTypeId}`);
        }
        const recipient = {
          phone: held.phone,
          telegramChatId: held.telegramChatId === null ? null : BigInt(held.telegramChatId),
          locale: held.locale,
        };
        const benefit = { nameUz: held.nameUz, nameUzCyrl: held.nameUzCyrl, nameRu: held.nameRu };
        const notification = outboxRowParams(
          recipient,
          { citizenId: input.citizenId },
          { templateKey: "notify.application_submitted", params: { reference, benefit: { names: namesOf(benefit) } } },
          preferSms,
        );
        const [decided] = await run(tx, SUBMIT, [
          input.citizenId,
          input.benefitTypeId,
          [...OPEN_APPLICATION_STATUSES],
          new Date().toISOString(),
          reference,
          JSON.stringify(input.answers),
          input.channel,
          input.locale,
          MAX_APPLICATIONS_PER_DAY,
          ...notification,
        ]);
        if (decided?.openReference) {
          throw new DomainError("DUPLICATE_APPLICATION", {
            key: "apply.duplicate",
            params: { reference: decided.openReference },
          });
        }
        if (!decided?.created) {
          throw new DomainError("TOO_MANY_APPLICATIONS", { key: "errors.too_many_applications" });
        }
        return reference;
      }),
    );
  }

  async listForCitizen(citizenId: number, limit = 20): Promise<ApplicationSummary[]> {
    const rows = await run(this.sql, LIST, [citizenId, limit]);
    return rows.map(summaryOf);
  }

  /** One application with its history; only the citizen's own (another's reference finds nothing). */
  async findForCitizen(citizenId: number, reference: string): Promise<ApplicationDetails | null> {
    const [row] = await run(this.sql, DETAILS, [citizenId, reference]);
    if (!row) return null;
    return {
      ...summaryOf(row),
      statusReason: row.statusReason,
      decidedAt: row.decidedMs === null ? null : new Date(row.decidedMs),
      history: json(row.history).map((h) => ({
        status: h.status as ApplicationStatus,
        at: new Date(h.atMs),
        reason: h.reason,
      })),
    };
  }

  /** Rejected applications decided within the appeal window and not yet appealed. */
  async appealable(citizenId: number, now: Date): Promise<ApplicationSummary[]> {
    const since = new Date(now.getTime() - APPEAL_WINDOW_DAYS * 86_400_000);
    const rows = await this.prisma.application.findMany({
      where: { citizenId, status: "rejected", decidedAt: { gte: since }, appeals: { none: {} } },
      orderBy: { decidedAt: "desc" },
      include: { benefitType: benefitNames },
    });
    return rows.map((r) => ({
      reference: r.reference,
      status: "rejected" as const,
      benefit: namesOf(r.benefitType),
      submittedAt: r.submittedAt,
    }));
  }

  /**
   * A status change from the back office: checked against the life cycle, recorded, notified.
   * Repeating the change the application already has changes nothing and notifies no one. The
   * update is conditional on the status read, so of two decisions sent at once (approve and
   * reject) one applies and notifies; the other is refused with a ConflictError, or answered as a
   * repeat when it asked for exactly what the winner did.
   */
  async changeStatus(input: {
    reference: string;
    status: ApplicationStatus;
    reason?: string | undefined;
    actor: string;
    now?: Date;
  }): Promise<{ changed: boolean }> {
    const reason = input.reason ?? null;
    const isRepeat = (app: { status: string; statusReason: string | null }) =>
      app.status === input.status && app.statusReason === reason;
    return this.prisma.$transaction(async (tx) => {
      const app = await tx.application.findUnique({
        where: { reference: input.reference },
        include: { benefitType: benefitNames },
      });
      if (!app) throw new NotFoundError(`no application ${input.reference}`);
      if (isRepeat(app)) return { changed: false };
      const from = app.status as ApplicationStatus;
      if (!canMoveApplication(from, input.status)) throw new IllegalTransitionError(from, input.status);
      const decided = input.status === "approved" || input.status === "rejected";
      const claimed = await tx.application.updateMany({
        where: { id: app.id, status: from },
        data: {
          status: input.status,
          statusReason: reason,
          ...(decided ? { decidedAt: input.now ?? new Date() } : {}),
        },
      });
      if (claimed.count !== 1) {
        // Read committed: this statement sees what the concurrent change committed.
        const now = await tx.application.findUnique({
          where: { id: app.id },
          select: { status: true, statusReason: true },
        });
        if (now && isRepeat(now)) return { changed: false };
        // Refused as it would be had it come second: illegal from where the winner left it, or
        // else a conflict, since it was decided on a status that no longer holds.
        const current = now?.status as ApplicationStatus | undefined;
        if (current && !canMoveApplication(current, input.status)) {
          throw new IllegalTransitionError(current, input.status);
        }
        throw new ConflictError(
          "CONFLICT",
          `application ${app.reference} changed from ${from} to ${now?.status ?? "?"} meanwhile; read it again`,
        );
      }
      await tx.applicationStatusChange.create({
        data: { applicationId: app.id, fromStatus: from, toStatus: input.status, reason, actor: input.actor },
      });
      await notifyApplicationStatus(tx, app.citizenId, {
        reference: app.reference,
        status: input.status,
        reason: input.reason,
        benefit: namesOf(app.benefitType),
      });
      if (decided) await askFeedback(tx, { kind: "decision", id: app.id });
      await audit(tx, {
        actor: input.actor,
        action: "application.status",
        entity: "Application",
        entityId: app.reference,
        before: { status: from, statusReason: app.statusReason },
        after: { status: input.status, statusReason: reason },
      });
      return { changed: true };
    });
  }
}

async function notifyApplicationStatus(
  tx: Tx,
  citizenId: number,
  change: { reference: string; status: ApplicationStatus; reason: string | undefined; benefit: Names },
) {
  const params = {
    reference: change.reference,
    benefit: { names: change.benefit },
    status: { t: `status.application.${change.status}` },
  };
  const templateKey =
    change.status === "rejected"
      ? change.reason
        ? "notify.application_rejected_reason"
        : "notify.application_rejected"
      : change.status === "approved"
        ? "notify.application_approved"
        : "notify.application_status";
  await notifyCitizen(tx, citizenId, {
    templateKey,
    params: change.reason ? { ...params, reason: change.reason } : params,
  });
}
