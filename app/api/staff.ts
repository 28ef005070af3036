import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { InvalidInputError } from "../../core/domain/errors.js";
import { normalizeUzPhone } from "../../core/domain/phone.js";
import { LOCALES } from "../../core/domain/vocabulary.js";
import { STAFF_ROLES } from "../../core/services/staff.js";
import type { ApiContext } from "./context.js";
import { errorResponses, Names, NullableTimestamp, Phone, Timestamp, wire } from "./schemas.js";

const Role = Type.Enum(STAFF_ROLES);
const Locale = Type.Enum(LOCALES);

const Staff = Type.Object({
  id: Type.Integer(),
  fullName: Type.String(),
  phone: Type.String(),
  role: Role,
  district: Type.Object({ code: Type.String(), names: Names }),
  mahallaCodes: Type.Array(Type.String()),
  active: Type.Boolean(),
  telegramLinked: Type.Boolean(),
  locale: Locale,
  dailyCapacity: Type.Integer(),
  createdAt: Timestamp,
  pendingInviteExpiresAt: NullableTimestamp,
});

const Invite = Type.Object({
  code: Type.String({
    description: "Shown once: only its hash is stored. The worker sends `/start <code>` to the bot.",
  }),
  expiresAt: Timestamp,
  startCommand: Type.String({ examples: ["/start K7M2QX9PTR"] }),
});

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const invite = (i: { code: string; expiresAt: Date }) => ({ ...wire(i), startCommand: `/start ${i.code}` });

/** Mahalla staff: social workers and district "Inson" centre admins. */
export const staffRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.post(
    "/staff",
    {
      schema: {
        tags: ["staff"],
        summary: "Create a staff member; returns a one-time invite code for the bot",
        body: Type.Object({
          fullName: Type.String({ minLength: 2, maxLength: 200 }),
          phone: Phone,
          role: Role,
          districtCode: Type.String({ minLength: 1, maxLength: 10 }),
          mahallaCodes: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 40 }), {
              maxItems: 200,
              description: "Mahallas a social worker serves (in the same district)",
            }),
          ),
          locale: Type.Optional(Locale),
          dailyCapacity: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 20, description: "Visits per half-day slot" }),
          ),
        }),
        response: { 201: Type.Object({ staff: Staff, invite: Invite }), ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const phone = normalizeUzPhone(request.body.phone);
      if (!phone) throw new InvalidInputError("INVALID_PHONE", "not an Uzbek phone number", "phone");
      const created = await ctx.staff.create({ ...request.body, phone }, request.apiActor);
      return reply.code(201).send({ staff: wire(created.staff), invite: invite(created.invite) });
    },
  );

  app.get(
    "/staff",
    {
      schema: {
        tags: ["staff"],
        summary: "List staff members",
        querystring: Type.Object({
          districtCode: Type.Optional(Type.String({ maxLength: 10 })),
          active: Type.Optional(Type.Boolean()),
          role: Type.Optional(Role),
        }),
        response: { 200: Type.Array(Staff), ...errorResponses() },
      },
    },
    async (request) => wire(await ctx.staff.list(request.query)),
  );

  app.get(
    "/staff/:id",
    {
      schema: {
        tags: ["staff"],
        summary: "One staff member",
        params: IdParams,
        response: { 200: Staff, ...errorResponses(404) },
      },
    },
    async (request) => wire(await ctx.staff.get(request.params.id)),
  );

  app.post(
    "/staff/:id/deactivate",
    {
      schema: {
        tags: ["staff"],
        summary: "Deactivate a staff member (unused invite codes stop working)",
        params: IdParams,
        response: { 200: Staff, ...errorResponses(404) },
      },
    },
    async (request) => wire(await ctx.staff.deactivate(request.params.id, request.apiActor)),
  );

  app.post(
    "/staff/:id/invites",
    {
      schema: {
        tags: ["staff"],
        summary: "A new one-time invite code (earlier unused codes stop working)",
        params: IdParams,
        response: { 201: Invite, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(invite(await ctx.staff.invite(request.params.id, request.apiActor))),
  );
};
