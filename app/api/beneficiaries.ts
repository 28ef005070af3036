import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { LOCALES } from "../../core/domain/vocabulary.js";
import { CARD_STATUSES, importBeneficiaries } from "../../core/services/imports/beneficiaries.js";
import type { ApiContext } from "./context.js";
import { csvBody, importRecords, STREAMED_IMPORT, streamImportBodies } from "./import-body.js";
import { errorResponses } from "./schemas.js";

const Card = Type.Object({
  externalId: Type.String({ minLength: 1, maxLength: 64 }),
  maskedNumber: Type.String({
    minLength: 4,
    maxLength: 40,
    description: 'The card\'s last four digits ("1234" or "8600 **** **** 1234"); unmasked numbers are refused',
  }),
  status: Type.Enum(CARD_STATUSES),
  issuedAt: Type.Optional(Type.String({ maxLength: 40 })),
});

const Beneficiary = Type.Object({
  externalId: Type.String({ minLength: 1, maxLength: 64, description: "Beneficiary id in the agency's register" }),
  phone: Type.String({ maxLength: 32 }),
  pinfl: Type.Optional(Type.String({ maxLength: 20 })),
  fullName: Type.Optional(Type.String({ maxLength: 200 })),
  mahallaCode: Type.Optional(Type.String({ maxLength: 40 })),
  locale: Type.Optional(Type.Enum(LOCALES)),
  cards: Type.Optional(Type.Array(Card, { maxItems: 20 })),
});

const COLUMNS = {
  known: [
    "externalId",
    "phone",
    "pinfl",
    "fullName",
    "mahallaCode",
    "locale",
    "cardExternalId",
    "cardMaskedNumber",
    "cardStatus",
    "cardIssuedAt",
  ],
  required: ["externalId", "phone"],
} as const;

/** Beneficiaries in one JSON import. */
const MAX_ROWS = 100_000;

const Counts = Type.Object({ created: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer() });

/** Beneficiaries of the agency's register and their social cards. */
export const beneficiaryRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  streamImportBodies(app);
  app.post(
    "/beneficiaries/import",
    {
      ...STREAMED_IMPORT,
      schema: {
        tags: ["beneficiaries"],
        summary: "Import beneficiaries and social cards (idempotent by external id)",
        description:
          "A beneficiary is matched by externalId, else by phone (a citizen who already used the service). A phone or PINFL that belongs to someone else is a row error. If any row is invalid nothing is written (422).",
        body: {
          content: {
            "application/json": { schema: Type.Array(Beneficiary, { maxItems: MAX_ROWS }) },
            "text/csv": csvBody(
              `Columns: ${COLUMNS.known.join(", ")}; one card per line (repeat the beneficiary for more cards).`,
            ),
          },
        },
        response: {
          200: Type.Object({ received: Type.Integer(), citizens: Counts, cards: Counts }),
          ...errorResponses(413, 415, 422),
        },
      },
    },
    async (request) =>
      importBeneficiaries(
        ctx.prisma,
        importRecords(request, COLUMNS, ctx.maxCsvBytes, MAX_ROWS),
        request.apiActor,
        ctx.pace,
      ),
  );
};
