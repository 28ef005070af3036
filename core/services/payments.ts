import type { PrismaClient } from "../db/database.js";
import type { Names } from "../engine/types.js";
import { shortNamesOf } from "./names.js";

export interface CardOverview {
  maskedNumber: string;
  status: string;
}

export interface PaymentLine {
  benefit: Names;
  amountTiyin: number;
  period: string;
  creditedAt: Date;
}

export class PaymentService {
  constructor(private readonly prisma: PrismaClient) {}

  /** The citizen's social cards and latest payments: one round trip each, newest first. */
  async overview(citizenId: number, limit = 5): Promise<{ cards: CardOverview[]; payments: PaymentLine[] }> {
    const [cards, payments] = await Promise.all([
      this.prisma.socialCard.findMany({
        where: { citizenId },
        orderBy: { id: "desc" },
        select: { maskedNumber: true, status: true },
      }),
      this.prisma.payment.findMany({
        where: { citizenId },
        orderBy: [{ creditedAt: "desc" }, { id: "desc" }],
        take: limit,
        include: { benefitType: { select: { shortUz: true, shortUzCyrl: true, shortRu: true } } },
      }),
    ]);
    return {
      cards,
      payments: payments.map((p) => ({
        benefit: shortNamesOf(p.benefitType),
        amountTiyin: Number(p.amountTiyin),
        period: p.period,
        creditedAt: p.creditedAt,
      })),
    };
  }
}
