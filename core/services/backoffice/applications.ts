import type { Prisma, PrismaClient } from "../../db/database.js";
import { NotFoundError } from "../../domain/errors.js";
import type { ApplicationStatus } from "../../domain/statuses.js";
import type { Names } from "../../domain/vocabulary.js";
import { namesOf } from "../names.js";
import {
  type DateRange,
  instantRange,
  type Page,
  type PageRequest,
  type PlaceFilter,
  pageOf,
  placeFilter,
} from "./paging.js";

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

export interface ApplicationFilter extends PlaceFilter, DateRange, PageRequest {
  status?: ApplicationStatus | undefined;
  benefitCode?: string | undefined;
}

/** Benefit applications as the back office reads them (their decisions go through ApplicationService). */
export class BackOfficeApplications {
  constructor(private readonly prisma: PrismaClient) {}

  /** Newest first; only the filters given narrow the list. */
  async list(filter: ApplicationFilter): Promise<Page<ApplicationItem>> {
    const submittedAt = instantRange(filter);
    const mahalla = placeFilter(filter);
    const where: Prisma.ApplicationWhereInput = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.benefitCode ? { benefitType: { code: filter.benefitCode } } : {}),
      ...(mahalla ? { citizen: { mahalla } } : {}),
      ...(submittedAt ? { submittedAt } : {}),
    };
    const orderBy: Prisma.ApplicationOrderByWithRelationInput[] = [{ submittedAt: "desc" }, { id: "desc" }];
    return pageOf(filter, {
      rows: (window) => this.prisma.application.findMany({ where, orderBy, include: applicationInclude, ...window }),
      count: () => this.prisma.application.count({ where }),
      item: applicationItem,
    });
  }

  async get(reference: string): Promise<ApplicationDetail> {
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
}
