import type { PrismaClient } from "../core/db/database.js";

const KEEP_DAYS = 7;

/**
 * Update ids taken in by any instance, in the TelegramUpdate table: Telegram redelivers an update
 * when our answer was slow or lost, possibly to another instance behind the load balancer.
 */
export class UpdateLedger {
  private taken = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** True the first time an update id is seen, false for every redelivery. */
  async admit(updateId: number): Promise<boolean> {
    const { count } = await this.prisma.telegramUpdate.createMany({
      data: [{ updateId: BigInt(updateId) }],
      skipDuplicates: true,
    });
    // Telegram keeps an undelivered update for at most a day; a week of ids is plenty.
    if (++this.taken % 1000 === 0) {
      const before = new Date(this.clock().getTime() - KEEP_DAYS * 86_400_000);
      await this.prisma.telegramUpdate.deleteMany({ where: { receivedAt: { lt: before } } });
    }
    return count === 1;
  }
}
