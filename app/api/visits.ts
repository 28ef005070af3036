import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { VISIT_STATUSES } from "../../core/domain/statuses.js";
import type { ApiContext } from "./context.js";
import { Late, onlyOverdueFilters } from "./deadlines.js";
import { listRoute } from "./lists.js";
import { Names, NullableString, Timestamp, wire } from "./schemas.js";

const Status = Type.Enum(VISIT_STATUSES);
const Day = Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD" });

const Visit = Type.Object({
  reference: Type.String({ examples: ["V-1234-5678"] }),
  status: Status,
  reason: Type.Object({ code: Type.String(), names: Names }),
  slotDate: Day,
  slotPart: Type.String({ description: "morning | afternoon" }),
  mahalla: Type.Object({ code: Type.String(), names: Names }),
  districtCode: Type.String(),
  citizen: Type.Object({ phone: Type.String(), fullName: NullableString }),
  address: NullableString,
  location: Type.Union([Type.Object({ latitude: Type.Number(), longitude: Type.Number() }), Type.Null()]),
  assignedStaff: Type.Union([Type.Object({ id: Type.Integer(), fullName: Type.String() }), Type.Null()]),
  outcomeNote: NullableString,
  channel: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

// issue 15: with ?overdue=true each item also says how late its acceptance and its visit are.
const VisitListItem = Type.Object({
  ...Visit.properties,
  acceptanceLate: Type.Optional(Type.Union([Late, Type.Null()])),
  visitLate: Type.Optional(Type.Union([Late, Type.Null()])),
});

/** Home-visit requests, for the district's overview. */
export const visitRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  listRoute(
    app,
    "/visit-requests",
    {
      tags: ["visits"],
      summary: "List visit requests by district, mahalla, status and visit day; with overdue=true, the late ones",
      description:
        "overdue=true lists the open visit requests not accepted by their acceptance deadline (`acceptanceLate`, in working days or office hours) or not made by their visit deadline (`visitLate`, working days; never before the day the citizen booked), the latest first; it combines with district and paging only.",
      filters: {
        overdue: Type.Optional(Type.Boolean({ description: "Only the visit requests past a deadline" })),
        district: Type.Optional(Type.String({ maxLength: 10, description: "District code" })),
        mahalla: Type.Optional(Type.String({ maxLength: 40, description: "Mahalla code" })),
        status: Type.Optional(Status),
        staffId: Type.Optional(Type.Integer({ minimum: 1 })),
        from: Type.Optional(Day),
        to: Type.Optional(Day),
      },
      item: VisitListItem,
    },
    async ({ overdue, ...q }) => {
      if (overdue) {
        onlyOverdueFilters({ mahalla: q.mahalla, status: q.status, staffId: q.staffId, from: q.from, to: q.to });
        return wire(
          await ctx.deadlines.overdueVisits(ctx.clock(), {
            districtCode: q.district,
            limit: q.limit,
            offset: q.offset,
          }),
        );
      }
      return wire(await ctx.backoffice.visits.list({ ...q, districtCode: q.district, mahallaCode: q.mahalla }));
    },
  );
};
