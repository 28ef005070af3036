import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { importMahallas } from "../../core/services/imports/mahallas.js";
import { type ApiContext, IMPORT_BODY_LIMIT } from "./context.js";
import { csvBody, importRecords } from "./import-body.js";
import { listRoute } from "./lists.js";
import { errorResponses, Names, NullableInteger, NullableString, wire } from "./schemas.js";

const Region = Type.Object({ id: Type.Integer(), code: Type.String(), iso: NullableString, names: Names });
const District = Type.Object({
  id: Type.Integer(),
  code: Type.String({ description: "SOATO code" }),
  kind: Type.String({ description: "district | city" }),
  regionCode: Type.String(),
  names: Names,
  insonPhone: NullableString,
  mahallaCount: Type.Integer(),
});
const Mahalla = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  districtCode: Type.String(),
  names: Names,
  households: NullableInteger,
  active: Type.Boolean(),
  isDemo: Type.Boolean({ description: "Part of the demo set shipped for the pilot areas, not the register" }),
});

const MahallaRow = Type.Object({
  code: Type.String({
    minLength: 1,
    maxLength: 40,
    description: "Stable mahalla code; the import is idempotent by it",
  }),
  districtCode: Type.String({ minLength: 1, maxLength: 10, description: "SOATO code of the district or city" }),
  nameUz: Type.String({ maxLength: 200 }),
  nameUzCyrl: Type.String({ maxLength: 200 }),
  nameRu: Type.String({ maxLength: 200 }),
  households: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  active: Type.Optional(Type.Boolean()),
});
const MAHALLA_COLUMNS = {
  known: ["code", "districtCode", "nameUz", "nameUzCyrl", "nameRu", "households", "active"],
  required: ["code", "districtCode", "nameUz", "nameUzCyrl", "nameRu"],
} as const;

const ImportCounts = Type.Object({
  received: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
});

/** Regions, districts and the mahalla register. */
export const referenceRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    "/regions",
    {
      schema: {
        tags: ["reference"],
        summary: "List regions (viloyat), Karakalpakstan and Tashkent city",
        response: { 200: Type.Array(Region), ...errorResponses() },
      },
    },
    async () => ctx.backoffice.reference.regions(),
  );

  app.get(
    "/districts",
    {
      schema: {
        tags: ["reference"],
        summary: "List districts and cities, optionally of one region",
        querystring: Type.Object({
          regionId: Type.Optional(Type.Integer({ minimum: 1 })),
          regionCode: Type.Optional(Type.String({ maxLength: 10 })),
        }),
        response: { 200: Type.Array(District), ...errorResponses() },
      },
    },
    async (request) => ctx.backoffice.reference.districts(request.query),
  );

  listRoute(
    app,
    "/mahallas",
    {
      tags: ["reference"],
      summary: "List mahallas, by district and/or a name search",
      filters: {
        districtCode: Type.Optional(Type.String({ maxLength: 10 })),
        q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Part of a name, any language" })),
        active: Type.Optional(Type.Boolean()),
      },
      item: Mahalla,
    },
    (q) => ctx.backoffice.reference.mahallas(q),
  );

  app.post(
    "/mahallas/import",
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags: ["reference"],
        summary: "Import the mahalla register (idempotent by code)",
        description:
          "New codes are created, known ones updated, identical ones left alone. If any row is invalid the import is refused with 422 and the rows' problems, and nothing is written.",
        body: {
          content: {
            "application/json": { schema: Type.Array(MahallaRow, { maxItems: 100_000 }) },
            "text/csv": csvBody(`Columns: ${MAHALLA_COLUMNS.known.join(", ")}.`),
          },
        },
        response: { 200: ImportCounts, ...errorResponses(413, 415, 422) },
      },
    },
    async (request) =>
      wire(
        await importMahallas(
          ctx.prisma,
          importRecords(request, MAHALLA_COLUMNS, ctx.maxCsvBytes),
          request.apiActor,
          ctx.pace,
        ),
      ),
  );
};
