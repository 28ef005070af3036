import type { Prisma, PrismaClient } from "../db/database.js";
import { NotFoundError } from "../domain/errors.js";
import type { ApplicationStatus, VisitStatus } from "../domain/statuses.js";
import type { Names } from "../domain/vocabulary.js";
import type { OutboxStatus } from "../notifications/delivery.js";
import { audit } from "../notifications/outbox.js";
import { NotificationRenderer } from "../notifications/render.js";
import { ConflictError } from "./backoffice-errors.js";
import { namesOf } from "./names.js";

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface PageRequest {
  limit?: number | undefined;
  offset?: number | undefined;
}

/** A day or an instant: "2025-03-01" means that whole day in Tashkent. */
export interface DateRange {
  from?: string | undefined;
  to?: string | undefined;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const dayStart = (day: string) => new Date(`${day}T00:00:00+05:00`);

/** Inclusive `from`, inclusive `to` (a day `to` covers that whole day). */
export function instantRange(range: DateRange): { gte?: Date; lt?: Date; lte?: Date } | undefined {
  const out: { gte?: Date; lt?: Date; lte?: Date } = {};
  if (range.from) out.gte = DAY.test(range.from) ? dayStart(range.from) : new Date(range.from);
  if (range.to) {
    if (DAY.test(range.to)) out.lt = new Date(dayStart(range.to).getTime() + 86_400_000);
    else out.lte = new Date(range.to);
  }
  return Object.keys(out).length ? out : undefined;
}

/** For @db.Date columns (visit slots), stored as UTC midnight of the day. */
function dayRange(range: DateRange): { gte?: Date; lte?: Date } | undefined {
  const out: { gte?: Date; lte?: Date } = {};
  if (range.from) out.gte = new Date(`${range.from.slice(0, 10)}T00:00:00Z`);
  if (range.to) out.lte = new Date(`${range.to.slice(0, 10)}T00:00:00Z`);
  return Object.keys(out).length ? out : undefined;
}

const page = (p: PageRequest) => ({ take: p.limit ?? 50, skip: p.offset ?? 0 });

export interface ApplicationItem {
  reference: string;
  status: ApplicationStatus;
  statusReason: string | null;
  benefit: { code: string; names: Names };
  citizen: {
    phone: string;
    fullName: string | null;
    /** The register's PINFL. */
    pinfl: string | null;
    /** The PINFL the citizen typed, a claim. */
    claimedPinfl: string | null;
    externalId: string | null;
    mahallaCode: string | null;
    districtCode: string | null;
  };
  channel: string;
  locale: string;
  submittedAt: Date;
  decidedAt: Date | null;
  updatedAt: Date;
}

export interface ApplicationDetail extends ApplicationItem {
  answers: unknown;
  history: { fromStatus: string | null; toStatus: string; reason: string | null; actor: string; at: Date }[];
  appeals: { reference: string; status: string; reason: string; createdAt: Date }[];
}

export const applicationInclude = {
  benefitType: { select: { code: true, nameUz: true, nameUzCyrl: true, nameRu: true } },
  citizen: {
    select: {
      phone: true,
      fullName: true,
      pinfl: true,
      claimedPinfl: true,
      externalId: true,
      mahalla: { select: { code: true, district: { select: { code: true } } } },
    },
  },
} as const;

export type ApplicationRow = Prisma.ApplicationGetPayload<{ include: typeof applicationInclude }>;

export const applicationItem = (a: ApplicationRow): ApplicationItem => ({
  reference: a.reference,
  status: a.status as ApplicationStatus,
  statusReason: a.statusReason,
  benefit: { code: a.benefitType.code, names: namesOf(a.benefitType) },
  citizen: {
    phone: a.citizen.phone,
    fullName: a.citizen.fullName,
    pinfl: a.citizen.pinfl,
    claimedPinfl: a.citizen.claimedPinfl,
    externalId: a.citizen.externalId,
    mahallaCode: a.citizen.mahalla?.code ?? null,
    districtCode: a.citizen.mahalla?.district.code ?? null,
  },
  channel: a.channel,
  locale: a.locale,
  submittedAt: a.submittedAt,
  decidedAt: a.decidedAt,
  updatedAt: a.updatedAt,
});

export interface VisitItem {
  reference: string;
  status: VisitStatus;
  reason: { code: string; names: Names };
  slotDate: string;
  slotPart: string;
  mahalla: { code: string; names: Names };
  districtCode: string;
  citizen: { phone: string; fullName: string | null };
  address: string | null;
  location: { latitude: number; longitude: number } | null;
  assignedStaff: { id: number; fullName: string } | null;
  outcomeNote: string | null;
  channel: string;
  createdAt: Date;
  updatedAt: Date;
}

export const visitInclude = {
  reason: { select: { code: true, nameUz: true, nameUzCyrl: true, nameRu: true } },
  mahalla: {
    select: { code: true, nameUz: true, nameUzCyrl: true, nameRu: true, district: { select: { code: true } } },
  },
  citizen: { select: { phone: true, fullName: true } },
  assignedStaff: { select: { id: true, fullName: true } },
} as const;

export type VisitRow = Prisma.VisitRequestGetPayload<{ include: typeof visitInclude }>;

export const visitItem = (v: VisitRow): VisitItem => ({
  reference: v.reference,
  status: v.status as VisitStatus,
  reason: { code: v.reason.code, names: namesOf(v.reason) },
  slotDate: v.slotDate.toISOString().slice(0, 10),
  slotPart: v.slotPart,
  mahalla: { code: v.mahalla.code, names: namesOf(v.mahalla) },
  districtCode: v.mahalla.district.code,
  citizen: { phone: v.citizen.phone, fullName: v.citizen.fullName },
  address: v.address,
  location: v.latitude !== null && v.longitude !== null ? { latitude: v.latitude, longitude: v.longitude } : null,
  assignedStaff: v.assignedStaff,
  outcomeNote: v.outcomeNote,
  channel: v.channel,
  createdAt: v.createdAt,
  updatedAt: v.updatedAt,
});

export interface NotificationItem {
  id: number;
  channel: string;
  status: OutboxStatus;
  recipientPhone: string | null;
  citizenId: number | null;
  staffId: number | null;
  locale: string;
  templateKey: string;
  /** The message as it reads in the recipient's language. */
  text: string;
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  /** When the next attempt is due (waiting rows only). */
  nextAttemptAt: Date | null;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
}

/** Read models for the back-office API, and the few writes that belong to no other service. */
export class BackOfficeService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly renderer: NotificationRenderer = new NotificationRenderer(),
  ) {}

  async regions() {
    const rows = await this.prisma.region.findMany({ orderBy: { code: "asc" } });
    return rows.map((r) => ({ id: r.id, code: r.code, iso: r.iso, names: namesOf(r) }));
  }

  async districts(filter: { regionId?: number | undefined; regionCode?: string | undefined }) {
    const rows = await this.prisma.district.findMany({
      where: {
        ...(filter.regionId !== undefined ? { regionId: filter.regionId } : {}),
        ...(filter.regionCode ? { region: { code: filter.regionCode } } : {}),
      },
      orderBy: { code: "asc" },
      include: { region: { select: { code: true } }, _count: { select: { mahallas: true } } },
    });
    return rows.map((d) => ({
      id: d.id,
      code: d.code,
      kind: d.kind,
      regionCode: d.region.code,
      names: namesOf(d),
      insonPhone: d.insonPhone,
      mahallaCount: d._count.mahallas,
    }));
  }

  async mahallas(
    filter: { districtCode?: string | undefined; q?: string | undefined; active?: boolean | undefined } & PageRequest,
  ) {
    const q = filter.q?.trim();
    // Uzbek apostrophes are typed in several ways (ʻ ' ‘ `): search the spellings people use.
    const variants = q ? [...new Set([q, q.replace(/['‘’`ʼ]/g, "ʻ"), q.replace(/[ʻʼ‘’`]/g, "'")])] : [];
    const where: Prisma.MahallaWhereInput = {
      ...(filter.districtCode ? { district: { code: filter.districtCode } } : {}),
      ...(filter.active !== undefined ? { active: filter.active } : {}),
      ...(q
        ? {
            OR: [
              { code: { startsWith: q } },
              ...variants.flatMap((v) =>
                (["nameUz", "nameUzCyrl", "nameRu"] as const).map((field) => ({
                  [field]: { contains: v, mode: "insensitive" as const },
                })),
              ),
            ],
          }
        : {}),
    };
    const [rows, total] = await Promise.all([
      this.prisma.mahalla.findMany({
        where,
        orderBy: [{ nameUz: "asc" }, { id: "asc" }],
        include: { district: { select: { code: true } } },
        ...page(filter),
      }),
      this.prisma.mahalla.count({ where }),
    ]);
    return {
      items: rows.map((m) => ({
        id: m.id,
        code: m.code,
        districtCode: m.district.code,
        names: namesOf(m),
        households: m.households,
        active: m.active,
        isDemo: m.isDemo,
      })),
      total,
      ...pageInfo(filter),
    };
  }

  async applications(
    filter: {
      status?: ApplicationStatus | undefined;
      benefitCode?: string | undefined;
      districtCode?: string | undefined;
      mahallaCode?: string | undefined;
    } & DateRange &
      PageRequest,
  ): Promise<Page<ApplicationItem>> {
    const submittedAt = instantRange(filter);
    const where: Prisma.ApplicationWhereInput = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.benefitCode ? { benefitType: { code: filter.benefitCode } } : {}),
      ...(filter.districtCode || filter.mahallaCode
        ? {
            citizen: {
              mahalla: {
                ...(filter.mahallaCode ? { code: filter.mahallaCode } : {}),
                ...(filter.districtCode ? { district: { code: filter.districtCode } } : {}),
              },
            },
          }
        : {}),
      ...(submittedAt ? { submittedAt } : {}),
    };
    const [rows, total] = await Promise.all([
      this.prisma.application.findMany({
        where,
        orderBy: [{ submittedAt: "desc" }, { id: "desc" }],
        include: applicationInclude,
        ...page(filter),
      }),
      this.prisma.application.count({ where }),
    ]);
    return { items: rows.map(applicationItem), total, ...pageInfo(filter) };
  }

  async application(reference: string): Promise<ApplicationDetail> {
    const a = await this.prisma.application.findUnique({
      where: { reference },
      include: {
        ...applicationInclude,
        history: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
        appeals: { orderBy: { createdAt: "asc" } },
      },
    });
    if (!a) throw new NotFoundError(`no application ${reference}`);
    return {
      ...applicationItem(a),
      answers: a.answers,
      history: a.history.map((h) => ({
        fromStatus: h.fromStatus,
        toStatus: h.toStatus,
        reason: h.reason,
        actor: h.actor,
        at: h.createdAt,
      })),
      appeals: a.appeals.map((p) => ({
        reference: p.reference,
        status: p.status,
        reason: p.reason,
        createdAt: p.createdAt,
      })),
    };
  }

  async visits(
    filter: {
      districtCode?: string | undefined;
      mahallaCode?: string | undefined;
      status?: VisitStatus | undefined;
      staffId?: number | undefined;
    } & DateRange &
      PageRequest,
  ): Promise<Page<VisitItem>> {
    const slotDate = dayRange(filter);
    const where: Prisma.VisitRequestWhereInput = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.staffId !== undefined ? { assignedStaffId: filter.staffId } : {}),
      ...(filter.districtCode || filter.mahallaCode
        ? {
            mahalla: {
              ...(filter.mahallaCode ? { code: filter.mahallaCode } : {}),
              ...(filter.districtCode ? { district: { code: filter.districtCode } } : {}),
            },
          }
        : {}),
      ...(slotDate ? { slotDate } : {}),
    };
    const [rows, total] = await Promise.all([
      this.prisma.visitRequest.findMany({
        where,
        orderBy: [{ slotDate: "desc" }, { id: "desc" }],
        include: visitInclude,
        ...page(filter),
      }),
      this.prisma.visitRequest.count({ where }),
    ]);
    return {
      items: rows.map(visitItem),
      total,
      ...pageInfo(filter),
    };
  }

  /** Notifications newest first, with their delivery status and text. */
  async notifications(
    filter: { phone?: string | undefined; status?: OutboxStatus | undefined } & PageRequest,
  ): Promise<Page<NotificationItem>> {
    const where: Prisma.OutboxWhereInput = {
      ...(filter.phone ? { recipientPhone: filter.phone } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const [rows, total] = await Promise.all([
      this.prisma.outbox.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], ...page(filter) }),
      this.prisma.outbox.count({ where }),
    ]);
    return {
      items: rows.map((r) => ({
        id: r.id,
        channel: r.channel,
        status: r.status as OutboxStatus,
        recipientPhone: r.recipientPhone,
        citizenId: r.citizenId,
        staffId: r.staffId,
        locale: r.locale,
        templateKey: r.templateKey,
        text: this.renderer.text(r),
        attempts: r.attempts,
        lastError: r.lastError,
        providerMessageId: r.providerMessageId,
        nextAttemptAt:
          (r.status === "pending" || r.status === "failed") && r.providerMessageId === null ? r.nextAttemptAt : null,
        createdAt: r.createdAt,
        sentAt: r.sentAt,
        deliveredAt: r.deliveredAt,
      })),
      total,
      ...pageInfo(filter),
    };
  }

  /**
   * Puts a dead notification (or one whose delivery the provider reported failed) back in line for
   * a fresh series of attempts.
   */
  async retryNotification(id: number, actor: string, now: Date = new Date()): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const row = await tx.outbox.findUnique({ where: { id } });
      if (!row) throw new NotFoundError(`no notification ${id}`);
      const retryable = row.status === "dead" || (row.status === "failed" && row.providerMessageId !== null);
      if (!retryable) {
        throw new ConflictError("NOT_RETRYABLE", `a ${row.status} notification is not waiting for an operator`);
      }
      const { count } = await tx.outbox.updateMany({
        where: { id, status: row.status },
        data: { status: "pending", attempts: 0, nextAttemptAt: now, providerMessageId: null },
      });
      if (count === 0) throw new ConflictError("NOT_RETRYABLE", "the notification changed meanwhile");
      await audit(tx, {
        actor,
        action: "notification.retry",
        entity: "Outbox",
        entityId: String(id),
        before: {
          status: row.status,
          attempts: row.attempts,
          lastError: row.lastError,
          providerMessageId: row.providerMessageId,
        },
        after: { status: "pending", attempts: 0 },
      });
    });
  }
}

const pageInfo = (p: PageRequest) => ({ limit: p.limit ?? 50, offset: p.offset ?? 0 });
