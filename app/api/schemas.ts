import { type TSchema, Type } from "typebox";

/** Shared pieces of the back-office API's request and response schemas. */

export const Names = Type.Object(
  { uz: Type.String(), "uz-Cyrl": Type.String(), ru: Type.String() },
  { description: "The same name in Uzbek (Latin), Uzbek (Cyrillic) and Russian" },
);

export const Timestamp = Type.String({ format: "date-time" });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const NullableString = Type.Union([Type.String(), Type.Null()]);
export const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

export const Phone = Type.String({
  minLength: 9,
  maxLength: 32,
  description: "Uzbek phone number; stored and returned as E.164 (+998XXXXXXXXX)",
  examples: ["+998901234567"],
});

export const DateOrTimestamp = Type.String({
  pattern: "^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2}))?$",
  description: "A day (YYYY-MM-DD, a whole day in Tashkent) or an ISO 8601 timestamp with a zone",
});

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
};

export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer({ description: "Rows matching the filter, on all pages" }),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });

const RowProblem = Type.Object({
  field: NullableString,
  code: Type.String(),
  message: Type.String(),
});

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "Stable machine-readable code, e.g. ILLEGAL_TRANSITION" }),
      message: Type.String(),
      details: Type.Optional(
        Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
          description: "Validation errors: where and what",
        }),
      ),
      rows: Type.Optional(
        Type.Array(
          Type.Object({
            row: Type.Integer({ description: "1-based position among the data records" }),
            line: Type.Optional(Type.Integer({ description: "CSV: line in the file (the header is line 1)" })),
            problems: Type.Array(RowProblem),
          }),
          { description: "Import: the invalid rows (at most 200 are listed)" },
        ),
      ),
      invalidRows: Type.Optional(Type.Integer()),
      receivedRows: Type.Optional(Type.Integer()),
      from: Type.Optional(Type.String()),
      to: Type.Optional(Type.String()),
      field: Type.Optional(Type.String()),
    }),
  },
  { description: "Every error answer: a stable code and a message for people" },
);

/** The error answers every authenticated route documents. */
export const errorResponses = (...codes: number[]) =>
  Object.fromEntries([401, 400, ...codes].map((code) => [code, ErrorBody])) as Record<number, typeof ErrorBody>;

/** Dates become ISO strings and BigInts numbers, as they are sent. */
export type Wire<T> = T extends Date
  ? string
  : T extends bigint
    ? number
    : T extends (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

export function wire<T>(value: T): Wire<T> {
  if (value instanceof Date) return value.toISOString() as Wire<T>;
  if (typeof value === "bigint") return Number(value) as Wire<T>;
  if (Array.isArray(value)) return value.map((v) => wire(v)) as Wire<T>;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)])) as Wire<T>;
  }
  return value as Wire<T>;
}
