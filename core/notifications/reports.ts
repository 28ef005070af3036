import type { PrismaClient } from "../db/database.js";

/** Africa's Talking SMS delivery report (POST /sms/delivery). */
export interface DeliveryReport {
  /** The provider message id given when the SMS was sent. */
  id: string;
  status: string;
  phoneNumber?: string | undefined;
  networkCode?: string | undefined;
  failureReason?: string | undefined;
  retryCount?: string | number | undefined;
}

export type ReportResult = "delivered" | "failed" | "ignored" | "unknown";

const DELIVERED = new Set(["Success"]);
/** Final failures; Sent, Submitted and Buffered are steps on the way and change nothing. */
const FAILED = new Set(["Failed", "Rejected", "AbsentSubscriber", "Expired"]);

/**
 * Applies a delivery report to the Outbox row with that provider id. A failure reported here is
 * final for the row: the provider took the message, so it is not sent again (a report cannot
 * make a second SMS). A late `Success` after a failure (the network retried) wins.
 */
export async function applyDeliveryReport(
  prisma: PrismaClient,
  report: DeliveryReport,
  now: Date = new Date(),
): Promise<ReportResult> {
  let result: ReportResult;
  let count: number;
  if (DELIVERED.has(report.status)) {
    result = "delivered";
    ({ count } = await prisma.outbox.updateMany({
      where: { providerMessageId: report.id, status: { in: ["sending", "sent", "failed"] } },
      data: { status: "delivered", deliveredAt: now, lastError: null },
    }));
  } else if (FAILED.has(report.status)) {
    result = "failed";
    const reason = report.failureReason ? `${report.status}: ${report.failureReason}` : report.status;
    ({ count } = await prisma.outbox.updateMany({
      where: { providerMessageId: report.id, status: { in: ["sending", "sent"] } },
      data: { status: "failed", lastError: `DLR ${reason}`.slice(0, 500) },
    }));
  } else {
    return "ignored";
  }
  if (count > 0) return result;
  const known = await prisma.outbox.count({ where: { providerMessageId: report.id } });
  return known > 0 ? "ignored" : "unknown";
}
