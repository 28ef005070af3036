import { type TSchema, Type } from "typebox";
import {
  APPEAL_OUTCOMES,
  APPLICATION_OUTCOMES,
  CHANNELS,
  LANGUAGES,
  VISIT_OUTCOMES,
} from "../../core/opendata/measures.js";

/** Response schemas of /open/v1 (schemaVersion 1). docs/open-data.md describes every field. */

export const SCHEMA_VERSION = 1;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const CellSchema = Type.Object(
  { value: Nullable(Type.Number()), suppressed: Type.Boolean() },
  { description: "value is null exactly when suppressed is true" },
);
const cells = (keys: readonly string[]) => Type.Object(Object.fromEntries(keys.map((k) => [k, CellSchema])));
const ByCode = Type.Record(Type.String(), CellSchema);

export const FiguresSchema = Type.Object({
  applications: Type.Object({
    total: CellSchema,
    byBenefitType: ByCode,
    byOutcome: cells(APPLICATION_OUTCOMES),
    approvalShare: CellSchema,
    medianDaysToDecision: CellSchema,
  }),
  appeals: Type.Object({ total: CellSchema, byOutcome: cells(APPEAL_OUTCOMES) }),
  visits: Type.Object({
    total: CellSchema,
    byReason: ByCode,
    byOutcome: cells(VISIT_OUTCOMES),
    medianHoursToDone: CellSchema,
    shareDoneWithin3WorkingDays: CellSchema,
  }),
  requests: Type.Object({ total: CellSchema, byChannel: cells(CHANNELS), byLanguage: cells(LANGUAGES) }),
});

export const NamesSchema = Type.Object({ uz: Type.String(), "uz-Cyrl": Type.String(), ru: Type.String() });
const Category = Type.Object({ code: Type.String(), names: NamesSchema });

const Header = {
  schemaVersion: Type.Literal(SCHEMA_VERSION),
  generatedAt: Type.String({ format: "date-time" }),
  period: Type.Object({ from: Nullable(Type.String()), to: Nullable(Type.String()) }),
  minPeople: Type.Integer(),
  method: NamesSchema,
};

const Unit = {
  code: Type.String(),
  names: NamesSchema,
  figures: FiguresSchema,
};
const RegionUnit = Type.Object({ ...Unit, iso: Nullable(Type.String()) });

export const RegionsResponse = Type.Object({
  ...Header,
  benefitTypes: Type.Array(Category),
  visitReasons: Type.Array(Category),
  national: Type.Object({ code: Type.Literal("UZ"), figures: FiguresSchema }),
  regions: Type.Array(RegionUnit),
});

export const DistrictsResponse = Type.Object({
  ...Header,
  region: RegionUnit,
  districts: Type.Array(
    Type.Object({
      ...Unit,
      households: Nullable(Type.Integer()),
      mahallas: Type.Integer(),
      mahallasWithHouseholds: Type.Integer(),
    }),
  ),
});

export const MonthsResponse = Type.Object({
  ...Header,
  region: Nullable(Type.Object({ code: Type.String(), iso: Nullable(Type.String()), names: NamesSchema })),
  months: Type.Array(Type.Object({ month: Type.String(), partial: Type.Boolean(), figures: FiguresSchema })),
});

const IndexEntry = Type.Object({
  count: Nullable(Type.Integer()),
  ratePer1000Households: Nullable(Type.Number()),
  index: Nullable(Type.Number()),
  reason: Nullable(
    Type.Union([Type.Literal("no_household_data"), Type.Literal("suppressed"), Type.Literal("no_national_median")]),
  ),
});

export const DemandIndexResponse = Type.Object({
  ...Header,
  categories: Type.Array(
    Type.Object({
      key: Type.String(),
      medianRatePer1000Households: Nullable(Type.Number()),
      districtsInMedian: Type.Integer(),
    }),
  ),
  districts: Type.Array(
    Type.Object({
      regionCode: Type.String(),
      code: Type.String(),
      names: NamesSchema,
      households: Nullable(Type.Integer()),
      mahallas: Type.Integer(),
      mahallasWithHouseholds: Type.Integer(),
      index: Type.Record(Type.String(), IndexEntry),
    }),
  ),
});

/** Service-quality figures (docs/open-data.md, "Service quality"): nested like FiguresSchema. */
export const QualityFiguresSchema = Type.Object({
  decisions: Type.Object({ shareWithinDeadline: CellSchema, medianWorkingDaysLate: CellSchema }),
  visits: Type.Object({ shareAcceptedWithinDeadline: CellSchema, medianWorkingDaysLate: CellSchema }),
  escalations: Type.Object({ total: CellSchema }),
  ratings: Type.Object({
    visits: Type.Object({ count: CellSchema, average: CellSchema }),
    decisions: Type.Object({ count: CellSchema, average: CellSchema }),
  }),
  followUps: Type.Object({ opened: CellSchema, closed: CellSchema }),
});
const QualityMonth = Type.Object({ month: Type.String(), figures: QualityFiguresSchema });

export const ServiceQualityResponse = Type.Object({
  ...Header,
  region: Nullable(Type.Object({ code: Type.String(), iso: Nullable(Type.String()), names: NamesSchema })),
  national: Nullable(
    Type.Object({ code: Type.Literal("UZ"), figures: QualityFiguresSchema, months: Type.Array(QualityMonth) }),
  ),
  regions: Type.Array(
    Type.Object({
      code: Type.String(),
      iso: Nullable(Type.String()),
      names: NamesSchema,
      figures: QualityFiguresSchema,
      months: Type.Array(QualityMonth),
      districts: Type.Array(Type.Object({ code: Type.String(), names: NamesSchema, figures: QualityFiguresSchema })),
    }),
  ),
});

export const ErrorResponse = Type.Object({ error: Type.String(), message: Type.String() });
/** A catalogue error as Fastify's default handler answers it (docs/errors.md, "Open data"). */
export const CatalogueErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
});

export const FormatQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("csv")])),
});
export const RegionFilterQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("csv")])),
  region: Type.Optional(Type.String({ pattern: "^[0-9]{1,10}$" })),
});
export const RegionParams = Type.Object({ code: Type.String({ pattern: "^[0-9]{1,10}$" }) });
export const PageQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 10 })) });
