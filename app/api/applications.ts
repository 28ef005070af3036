import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { NotFoundError } from "../../core/domain/errors.js";
import { parseReference } from "../../core/domain/reference.js";
import { APPLICATION_STATUSES } from "../../core/domain/statuses.js";
import type { ApiContext } from "./context.js";
import { Late, onlyOverdueFilters } from "./deadlines.js";
import { listRoute } from "./lists.js";
import {
  DateOrTimestamp,
  errorResponses,
  Names,
  NullableString,
  NullableTimestamp,
  Timestamp,
  wire,
} from "./schemas.js";

const Status = Type.Enum(APPLICATION_STATUSES);

const ApplicationItem = Type.Object({
  reference: Type.String({ examples: ["A-1234-5678"] }),
  status: Status,
  statusReason: NullableString,
  benefit: Type.Object({ code: Type.String(), names: Names }),
  citizen: Type.Object({
    phone: Type.String(),
    fullName: NullableString,
    pinfl: Type.Union([Type.String(), Type.Null()], { description: "The register's PINFL (beneficiary import)" }),
    claimedPinfl: Type.Union([Type.String(), Type.Null()], {
      description: "The PINFL the citizen typed: a claim, not checked against the register",
    }),
    externalId: NullableString,
    mahallaCode: NullableString,
    districtCode: NullableString,
  }),
  channel: Type.String(),
  locale: Type.String(),
  submittedAt: Timestamp,
  decidedAt: NullableTimestamp,
  updatedAt: Timestamp,
});

const ApplicationDetail = Type.Object({
  ...ApplicationItem.properties,
  answers: Type.Unknown({ description: "The citizen's answers to the benefit's questions" }),
  history: Type.Array(
    Type.Object({
      fromStatus: NullableString,
      toStatus: Type.String(),
      reason: NullableString,
      actor: Type.String(),
      at: Timestamp,
    }),
  ),
  appeals: Type.Array(
    Type.Object({ reference: Type.String(), status: Type.String(), reason: Type.String(), createdAt: Timestamp }),
  ),
});

// issue 15: with ?overdue=true each item also says how late its decision is.
const ApplicationListItem = Type.Object({
  ...ApplicationItem.properties,
  late: Type.Optional(Late),
});

const ReferenceParams = Type.Object({ reference: Type.String({ minLength: 8, maxLength: 20 }) });

/** A reference typed any way ("a12345678", "A-1234-5678"); one that cannot exist is simply unknown. */
function applicationReference(input: string): string {
  const reference = parseReference(input, "A");
  if (!reference?.startsWith("A")) throw new NotFoundError(`no application ${input}`);
  return reference;
}

/** Benefit applications: the back office reads them and moves them through their life cycle. */
export const applicationRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  listRoute(
    app,
    "/applications",
    {
      tags: ["applications"],
      summary: "List applications, newest first; with overdue=true, the ones past their decision deadline",
      description:
        "overdue=true lists the undecided applications (submitted, under_review) past their decision deadline (working days from submission, GET /api/v1/service-deadlines), the latest first, each with `late` (deadline and working days late); it combines with district and paging only.",
      filters: {
        overdue: Type.Optional(Type.Boolean({ description: "Only the applications past their decision deadline" })),
        status: Type.Optional(Status),
        benefit: Type.Optional(Type.String({ maxLength: 40, description: "Benefit code" })),
        district: Type.Optional(Type.String({ maxLength: 10, description: "District code of the citizen's mahalla" })),
        mahalla: Type.Optional(Type.String({ maxLength: 40, description: "Mahalla code" })),
        from: Type.Optional(DateOrTimestamp),
        to: Type.Optional(DateOrTimestamp),
      },
      item: ApplicationListItem,
    },
    async ({ overdue, ...q }) => {
      if (overdue) {
        onlyOverdueFilters({ status: q.status, benefit: q.benefit, mahalla: q.mahalla, from: q.from, to: q.to });
        return wire(
          await ctx.deadlines.overdueApplications(ctx.clock(), {
            districtCode: q.district,
            limit: q.limit,
            offset: q.offset,
          }),
        );
      }
      return wire(
        await ctx.backoffice.applications.list({
          ...q,
          benefitCode: q.benefit,
          districtCode: q.district,
          mahallaCode: q.mahalla,
        }),
      );
    },
  );

  app.get(
    "/applications/:reference",
    {
      schema: {
        tags: ["applications"],
        summary: "One application with its answers, history and appeals",
        params: ReferenceParams,
        response: { 200: ApplicationDetail, ...errorResponses(404) },
      },
    },
    async (request) => wire(await ctx.backoffice.applications.get(applicationReference(request.params.reference))),
  );

  app.patch(
    "/applications/:reference",
    {
      schema: {
        tags: ["applications"],
        summary: "Change an application's status (the citizen is notified)",
        description:
          "Only the life cycle's transitions are allowed (e.g. submitted → under_review → approved → paid); anything else, such as paid → submitted, is refused with 409 ILLEGAL_TRANSITION. Repeating the change the application already has answers 200 and notifies no one again. Of two different changes sent at once one applies; the other is refused with 409 CONFLICT (read the application again).",
        params: ReferenceParams,
        body: Type.Object({
          status: Status,
          reason: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 500,
              description: "Shown to the citizen (e.g. why it was rejected)",
            }),
          ),
        }),
        response: { 200: ApplicationDetail, ...errorResponses(404, 409) },
      },
    },
    async (request) => {
      const reference = applicationReference(request.params.reference);
      // The repeat check and the change are one conditional step in the service, so two
      // decisions sent at once cannot both apply.
      await ctx.applications.changeStatus({
        reference,
        status: request.body.status,
        reason: request.body.reason,
        actor: request.apiActor,
        now: ctx.clock(),
      });
      return wire(await ctx.backoffice.applications.get(reference));
    },
  );
};
