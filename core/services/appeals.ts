import type { PrismaClient } from "../db/database.js";
import { DomainError } from "../domain/errors.js";
import { APPEAL_WINDOW_DAYS } from "../domain/statuses.js";
import type { Channel } from "../domain/vocabulary.js";
import { notifyCitizen } from "../notifications/outbox.js";
import { isUniqueViolation, withFreshReference } from "./references.js";

const alreadyFiled = () => new DomainError("ALREADY_APPEALED", { key: "appeal.already_filed" });

export class AppealService {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Files an appeal against the citizen's own rejected application, within the appeal window, once.
   * The check below refuses a second appeal; the unique key on the application's open appeal
   * (Appeal_open_applicationId_key) refuses the copy of a double submit that passed the check at
   * the same moment, so its transaction, notification included, never commits.
   */
  async file(input: { citizenId: number; applicationReference: string; reason: string; channel: Channel; now: Date }) {
    try {
      return await withFreshReference("P", (reference) =>
        this.prisma.$transaction(async (tx) => {
          const since = new Date(input.now.getTime() - APPEAL_WINDOW_DAYS * 86_400_000);
          const app = await tx.application.findFirst({
            where: {
              citizenId: input.citizenId,
              reference: input.applicationReference,
              status: "rejected",
              decidedAt: { gte: since },
            },
            select: { id: true, _count: { select: { appeals: true } } },
          });
          if (!app) throw new DomainError("NOT_APPEALABLE", { key: "appeal.not_appealable" });
          if (app._count.appeals > 0) throw alreadyFiled();
          await tx.appeal.create({
            data: {
              reference,
              applicationId: app.id,
              citizenId: input.citizenId,
              reason: input.reason,
              status: "received",
              channel: input.channel,
            },
          });
          await notifyCitizen(
            tx,
            input.citizenId,
            { templateKey: "notify.appeal_received", params: { reference, application: input.applicationReference } },
            { preferSms: input.channel === "ussd" },
          );
          return reference;
        }),
      );
    } catch (err) {
      if (isUniqueViolation(err, "applicationId")) throw alreadyFiled();
      throw err;
    }
  }
}
