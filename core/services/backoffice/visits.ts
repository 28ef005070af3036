import type { Prisma, PrismaClient } from "../../db/database.js";
import type { VisitStatus } from "../../domain/statuses.js";
import type { Names } from "../../domain/vocabulary.js";
import { namesOf } from "../names.js";
import {
  type DateRange,
  dayRange,
  type Page,
  type PageRequest,
  type PlaceFilter,
  pageOf,
  placeFilter,
} from "./paging.js";

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

export interface VisitFilter extends PlaceFilter, DateRange, PageRequest {
  status?: VisitStatus | undefined;
  staffId?: number | undefined;
}

/** Home-visit requests, for the district's overview. */
export class BackOfficeVisits {
  constructor(private readonly prisma: PrismaClient) {}

  /** The latest visit day first; only the filters given narrow the list. */
  async list(filter: VisitFilter): Promise<Page<VisitItem>> {
    const slotDate = dayRange(filter);
    const mahalla = placeFilter(filter);
    const where: Prisma.VisitRequestWhereInput = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.staffId !== undefined ? { assignedStaffId: filter.staffId } : {}),
      ...(mahalla ? { mahalla } : {}),
      ...(slotDate ? { slotDate } : {}),
    };
    const orderBy: Prisma.VisitRequestOrderByWithRelationInput[] = [{ slotDate: "desc" }, { id: "desc" }];
    return pageOf(filter, {
      rows: (window) => this.prisma.visitRequest.findMany({ where, orderBy, include: visitInclude, ...window }),
      count: () => this.prisma.visitRequest.count({ where }),
      item: visitItem,
    });
  }
}
