import type { FastifyRequest } from "fastify";
import { type RawRecord, recordsOf } from "../../core/services/import-rows.js";
import { type CsvColumns, csvRecords } from "./csv.js";

/** An import body is a JSON array or a CSV file streamed as it arrives. */
export function importRecords(
  request: FastifyRequest,
  columns: CsvColumns,
  maxBytes: number,
): AsyncIterable<RawRecord> | Iterable<RawRecord> {
  if (request.mediaType === "text/csv") {
    return csvRecords(request.body as AsyncIterable<Uint8Array>, columns, maxBytes);
  }
  return recordsOf(request.body as unknown[]);
}

export const csvBody = (description: string) => ({
  schema: {
    description: `CSV (UTF-8, comma or semicolon separated) with a header row. ${description}`,
  },
});
