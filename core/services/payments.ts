import { jsonColumn as json, type SqlExecutor } from "../db/adapters.js";
import { OVERVIEW } from "../db/sql/payment.js";
import { run } from "../db/sql/statement.js";
import type { Names } from "../domain/vocabulary.js";

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
  constructor(private readonly sql: SqlExecutor) {}

  /** The citizen's social cards (newest first) and latest payments (newest first). */
  async overview(citizenId: number, limit = 5): Promise<{ cards: CardOverview[]; payments: PaymentLine[] }> {
    const [row] = await run(this.sql, OVERVIEW, [citizenId, limit]);
    if (!row) return { cards: [], payments: [] };
    return {
      cards: json(row.cards),
      payments: json(row.payments).map((p) => ({
        benefit: { uz: p.uz, "uz-Cyrl": p.uzCyrl, ru: p.ru },
        amountTiyin: Number(p.amount),
        period: p.period,
        creditedAt: new Date(p.creditedMs),
      })),
    };
  }
}
