import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { importPayments } from "../../core/services/imports/payments.js";
import type { ApiContext } from "./context.js";
import { csvBody, importRecords, STREAMED_IMPORT, streamImportBodies } from "./import-body.js";
import { errorResponses } from "./schemas.js";

const Payment = Type.Object({
  externalId: Type.String({
    minLength: 1,
    maxLength: 64,
    description: "The payment's id at the agency; the import is idempotent by it",
  }),
  citizenExternalId: Type.Optional(Type.String({ maxLength: 64 })),
  phone: Type.Optional(Type.String({ maxLength: 32 })),
  pinfl: Type.Optional(Type.String({ maxLength: 20 })),
  cardExternalId: Type.Optional(Type.String({ maxLength: 64 })),
  benefitCode: Type.String({ maxLength: 40, examples: ["CHILD_ALLOWANCE"] }),
  amountTiyin: Type.Optional(Type.Integer({ minimum: 1, description: "Amount in tiyin (1 so'm = 100 tiyin)" })),
  amount: Type.Optional(Type.String({ maxLength: 24, description: 'Or the amount in so\'m, e.g. "1250000.50"' })),
  period: Type.String({ maxLength: 7, examples: ["2025-03"], description: "YYYY-MM" }),
  creditedAt: Type.String({ maxLength: 40, description: "YYYY-MM-DD or an ISO 8601 timestamp with a zone" }),
});

const COLUMNS = {
  known: [
    "externalId",
    "citizenExternalId",
    "phone",
    "pinfl",
    "cardExternalId",
    "benefitCode",
    "amountTiyin",
    "amount",
    "period",
    "creditedAt",
  ],
  required: ["externalId", "benefitCode", "period", "creditedAt"],
} as const;

/** Payments in one JSON import. */
const MAX_ROWS = 200_000;

/** Social-card payments pushed in by the agency; each new one notifies its citizen once. */
export const paymentRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  streamImportBodies(app);
  app.post(
    "/payments/import",
    {
      ...STREAMED_IMPORT,
      schema: {
        tags: ["payments"],
        summary: "Import credited payments (idempotent by external id)",
        description:
          "Each new payment queues one notification to its citizen (notify.payment_credited). Re-sending a batch changes nothing and queues no second notification. The citizen is identified by citizenExternalId, phone or pinfl. CSV and JSON are read as a stream, in batches of 1,000 rows. If any row is invalid nothing is written (422).",
        body: {
          content: {
            "application/json": { schema: Type.Array(Payment, { maxItems: MAX_ROWS }) },
            "text/csv": csvBody(`Columns: ${COLUMNS.known.join(", ")}.`),
          },
        },
        response: {
          200: Type.Object({
            received: Type.Integer(),
            created: Type.Integer(),
            duplicates: Type.Integer({ description: "Already imported with the same data: unchanged" }),
            notifications: Type.Integer({ description: "Notifications queued by this request" }),
          }),
          ...errorResponses(413, 415, 422),
        },
      },
    },
    async (request) =>
      importPayments(ctx, importRecords(request, COLUMNS, ctx.maxCsvBytes, MAX_ROWS), request.apiActor, ctx.pace),
  );
};
