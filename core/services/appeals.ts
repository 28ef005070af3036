import type { PrismaClient } from "../db/database.js";
import { DomainError } from "../domain/errors.js";
import { APPEAL_WINDOW_DAYS } from "../domain/statuses.js";
import type { Channel } from "../engine/types.js";
import { notifyCitizen } from "../notifications/outbox.js";
import { withFreshReference } from "./references.js";

export class AppealService {
  constructor(private readonly prisma: PrismaClient) {}

  /** Files an appeal against the citizen's own rejected application, within the appeal window. */
  async file(input: { citizenId: number; applicationReference: string; reason: string; channel: Channel; now: Date }) {
    return withFreshReference("P", (reference) =>
      this.prisma.$transaction(async (tx) => {
        const since = new Date(input.now.getTime() - APPEAL_WINDOW_DAYS * 86_400_000);
        const app = await tx.application.findFirst({
          where: {
            citizenId: input.citizenId,
            reference: input.applicationReference,
            status: "rejected",
            decidedAt: { gte: since },
            appeals: { none: {} },
          },
          select: { id: true },
        });
        if (!app) throw new DomainError("NOT_APPEALABLE", { key: "appeal.not_appealable" });
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
  }
}
