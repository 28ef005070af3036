import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { isCalendarDay } from "../../core/domain/calendar.js";
import { InvalidInputError } from "../../core/domain/errors.js";
import type { ApiContext } from "./context.js";
import { errorResponses, Names, NullableString, Timestamp, wire } from "./schemas.js";

const Unit = Type.Union([Type.Literal("working_days"), Type.Literal("hours")], {
  description: "working_days: Monday–Friday less holidays; hours: office hours 09:00–18:00 on working days",
});
const Kind = Type.Union([Type.Literal("holiday"), Type.Literal("working_day")], {
  description: "holiday: a day off on a weekday; working_day: a transferred working day (e.g. a Saturday)",
});
const Day = Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD, a Tashkent calendar day" });
const WorkingDays = Type.Integer({ minimum: 0, maximum: 365 });

/** How late an item is, in its deadline's unit (shared by the overdue lists). */
export const Late = Type.Object({
  deadlineAt: Timestamp,
  late: Type.Integer({ description: "How late, in `unit` (office hours rounded up)" }),
  unit: Unit,
});

/** With overdue=true only district and paging apply; anything else is refused rather than ignored. */
export function onlyOverdueFilters(others: Record<string, unknown>): void {
  const given = Object.entries(others)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (given.length)
    throw new InvalidInputError(
      "OVERDUE_FILTER",
      `overdue=true combines with district, limit and offset only, not ${given.join(", ")}`,
      given[0],
    );
}

const ServiceDeadlines = Type.Object({
  benefitTypes: Type.Array(Type.Object({ code: Type.String(), names: Names, decisionWorkingDays: Type.Integer() })),
  visitReasons: Type.Array(
    Type.Object({
      code: Type.String(),
      names: Names,
      acceptance: Type.Object({ amount: Type.Integer(), unit: Unit }),
      visitWorkingDays: Type.Integer(),
    }),
  ),
});

const ServiceDeadlinesChange = Type.Object(
  {
    benefitTypes: Type.Optional(
      Type.Array(
        Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 60 }), decisionWorkingDays: { ...WorkingDays, minimum: 1 } },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
    visitReasons: Type.Optional(
      Type.Array(
        Type.Object(
          {
            code: Type.String({ minLength: 1, maxLength: 60 }),
            acceptance: Type.Optional(
              Type.Object(
                { amount: Type.Integer({ minimum: 1, maximum: 2000 }), unit: Unit },
                { additionalProperties: false },
              ),
            ),
            visitWorkingDays: Type.Optional({ ...WorkingDays, minimum: 1 }),
          },
          { additionalProperties: false, minProperties: 2 },
        ),
        { maxItems: 100 },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const HolidayEntry = Type.Object({ date: Day, kind: Kind, name: NullableString });

/** The working-day calendar (holidays, transferred days) and the deadlines counted on it (issue 15). */
export const deadlineRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { deadlines, calendar } = ctx;

  app.get(
    "/service-deadlines",
    {
      schema: {
        tags: ["deadlines"],
        summary: "Decision deadline per benefit type; acceptance and visit deadlines per visit reason",
        response: { 200: ServiceDeadlines, ...errorResponses() },
      },
    },
    async () => deadlines.serviceDeadlines(),
  );

  app.put(
    "/service-deadlines",
    {
      schema: {
        tags: ["deadlines"],
        summary: "Change deadlines of some benefit types and visit reasons",
        description:
          "Only the codes and fields given change. Deadlines count working days (Monday–Friday less the holidays of GET /api/v1/holidays) or office hours; an unknown code is refused whole (400 UNKNOWN_BENEFIT_TYPE / UNKNOWN_VISIT_REASON). Audited.",
        body: ServiceDeadlinesChange,
        response: { 200: ServiceDeadlines, ...errorResponses() },
      },
    },
    async (request) => deadlines.setServiceDeadlines(request.body, request.apiActor),
  );

  app.get(
    "/holidays",
    {
      schema: {
        tags: ["deadlines"],
        summary: "Public holidays and transferred working days (the exceptions to Monday–Friday)",
        querystring: Type.Object({ from: Type.Optional(Day), to: Type.Optional(Day) }),
        response: { 200: Type.Array(HolidayEntry), ...errorResponses() },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      for (const [field, value] of [
        ["from", from],
        ["to", to],
      ] as const)
        checkDay(value, field);
      return wire(await calendar.entries({ from, to }));
    },
  );

  app.put(
    "/holidays",
    {
      schema: {
        tags: ["deadlines"],
        summary: "Set days of the working-day calendar (movable holidays, transfers)",
        description:
          'An array of `{ "date": "YYYY-MM-DD", "kind": "holiday" | "working_day" }` (optional `name`); each date is set or replaced, `kind: null` removes one. Ramazon hayit and Qurbon hayit, and the yearly decree\'s transfers, are set here; the fixed-date holidays are seeded. A date that does not exist (2026-02-30) is refused (400 INVALID_DATE). Deadlines and the booking window use the change at once on this instance, within a minute on others. Audited. Answers the entries of the dates given.',
        body: Type.Array(
          Type.Object(
            {
              date: Day,
              kind: Type.Union([Kind, Type.Null()]),
              name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 120 }), Type.Null()])),
            },
            { additionalProperties: false },
          ),
          { minItems: 1, maxItems: 400 },
        ),
        response: { 200: Type.Array(HolidayEntry), ...errorResponses() },
      },
    },
    async (request) => wire(await calendar.setEntries(request.body, request.apiActor)),
  );
};

function checkDay(value: string | undefined, field: string): void {
  if (value !== undefined && !isCalendarDay(value))
    throw new InvalidInputError("INVALID_DATE", `${field}: not a calendar day (YYYY-MM-DD)`, field);
}
