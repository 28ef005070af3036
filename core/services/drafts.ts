import type { PrismaClient } from "../db/database.js";
import type { FlowData } from "../engine/flow.js";

export type DraftKind = "apply";

/** Unfinished forms, kept apart from sessions so they outlive a dropped USSD call. */
export class DraftService {
  constructor(private readonly prisma: PrismaClient) {}

  async get(citizenId: number, kind: DraftKind): Promise<FlowData | null> {
    const row = await this.prisma.draft.findUnique({ where: { citizenId_kind: { citizenId, kind } } });
    return (row?.data as FlowData | undefined) ?? null;
  }

  async save(citizenId: number, kind: DraftKind, data: FlowData): Promise<void> {
    await this.prisma.draft.upsert({
      where: { citizenId_kind: { citizenId, kind } },
      create: { citizenId, kind, data },
      update: { data },
    });
  }

  async clear(citizenId: number, kind: DraftKind): Promise<void> {
    await this.prisma.draft.deleteMany({ where: { citizenId, kind } });
  }
}
