import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ApiContext } from "./context.js";
import { errorResponses, NullableString, NullableTimestamp, PageOf, PageQuery, Timestamp, wire } from "./schemas.js";

const FollowUp = Type.Object({
  id: Type.Integer({ description: "The feedback's id (what POST …/close takes)" }),
  subject: Type.Object({
    kind: Type.Union([Type.Literal("visit"), Type.Literal("decision")]),
    reference: Type.String({ description: "The visit's or the application's reference" }),
  }),
  score: Type.Integer({ minimum: 1, maximum: 5 }),
  comment: Type.Union([Type.String(), Type.Null()], {
    description: "The citizen's own words (personal data: for following up only)",
  }),
  channel: Type.String({ description: "Where the citizen answered: telegram, sms or ussd" }),
  district: Type.Union([Type.Object({ code: Type.String(), name: Type.String() }), Type.Null()]),
  answeredAt: Timestamp,
  ageHours: Type.Integer({ description: "Whole hours since the citizen answered" }),
  followUp: Type.Object({
    status: Type.Union([Type.Literal("open"), Type.Literal("closed")]),
    closedAt: NullableTimestamp,
    closedBy: NullableString,
  }),
});

/** The citizen's verdicts that need a follow-up (a score of 1–2), and closing them. */
export const feedbackRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    "/feedback",
    {
      schema: {
        tags: ["visits"],
        summary: "Citizens' ratings of 1–2 that the district admin follows up",
        description:
          "Every score of 1 or 2 (after a visit or a decision) opens a follow-up for the district's Inson admin; the oldest first.",
        querystring: Type.Object(
          {
            follow_up: Type.Union([Type.Literal("open"), Type.Literal("closed")], {
              description: "open: still to follow up; closed: done",
            }),
            district: Type.Optional(Type.String({ minLength: 1, maxLength: 10, description: "SOATO code" })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(FollowUp), ...errorResponses() },
      },
    },
    async (request) => {
      const { follow_up, district, limit, offset } = request.query;
      return wire(
        await ctx.feedback.followUps({
          status: follow_up,
          districtCode: district,
          ...(limit !== undefined ? { limit } : {}),
          ...(offset !== undefined ? { offset } : {}),
        }),
      );
    },
  );

  app.post(
    "/feedback/:id/close",
    {
      schema: {
        tags: ["visits"],
        summary: "Close an open follow-up",
        description: "Only an open follow-up closes (a second close: 409 FOLLOW_UP_CLOSED). Audited.",
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }),
        response: {
          200: Type.Object({ id: Type.Integer(), followUp: FollowUp.properties.followUp }),
          ...errorResponses(404, 409),
        },
      },
    },
    async (request) => wire(await ctx.feedback.closeFollowUp(request.params.id, request.apiActor)),
  );
};
