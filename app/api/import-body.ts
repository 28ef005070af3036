import type { FastifyInstance, FastifyRequest } from "fastify";
import { type RawRecord, recordsOf } from "../../core/services/imports/rows.js";
import { IMPORT_BODY_LIMIT } from "./context.js";
import { type CsvColumns, csvRecords } from "./csv.js";
import { jsonArrayRecords } from "./json-stream.js";

/**
 * An import body is a JSON array or a CSV file, both read as a stream as they arrive (see
 * streamImportBodies); an array Fastify already parsed is taken as it is.
 */
export function importRecords(
  request: FastifyRequest,
  columns: CsvColumns,
  maxBytes: number,
  maxJsonRows = 100_000,
): AsyncIterable<RawRecord> | Iterable<RawRecord> {
  if (request.mediaType === "text/csv") {
    return csvRecords(request.body as AsyncIterable<Uint8Array>, columns, maxBytes);
  }
  if (Array.isArray(request.body)) return recordsOf(request.body);
  return jsonArrayRecords(request.body as AsyncIterable<Uint8Array>, {
    maxBytes: IMPORT_BODY_LIMIT,
    maxItems: maxJsonRows,
  });
}

/**
 * In the calling plugin only: JSON bodies reach the route as the raw stream, to be read element
 * by element, instead of being parsed whole (a 64 MiB array parsed at once needs several times
 * its size in heap, more than the production heap limit of 256 MiB).
 */
export function streamImportBodies(app: Pick<FastifyInstance, "removeContentTypeParser" | "addContentTypeParser">) {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", (_request, payload, done) => done(null, payload));
}

/**
 * Route options of a streamed import: the body schema documents the records (OpenAPI) but is not
 * applied to the stream; every field of every record is checked by the import's row reader, and a
 * bad one becomes a row error (422) naming the row.
 */
export const STREAMED_IMPORT = {
  bodyLimit: IMPORT_BODY_LIMIT,
  validatorCompiler: () => () => true,
} as const;

export const csvBody = (description: string) => ({
  schema: {
    description: `CSV (UTF-8, comma or semicolon separated) with a header row. ${description}`,
  },
});
