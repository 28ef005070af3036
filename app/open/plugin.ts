import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { PrismaClient } from "../../core/db/database.js";
import { InvalidInputError, ReleaseUnavailableError, UnsafeReleaseError } from "../../core/domain/errors.js";
import { isLocale, LOCALES, type Locale, type Names } from "../../core/domain/vocabulary.js";
import { Translator } from "../../core/i18n/index.js";
import { nextReleaseCut } from "../../core/opendata/measures.js";
import { buildSnapshotFrom, type OpenDataSnapshot } from "../../core/opendata/publish.js";
import { type OpenDataSource, prismaOpenDataSource } from "../../core/opendata/source.js";
import { TtlCache } from "./cache.js";
import { renderOpenPage } from "./page.js";
import {
  CatalogueErrorResponse,
  DemandIndexResponse,
  DistrictsResponse,
  ErrorResponse,
  FormatQuery,
  MonthsResponse,
  PageQuery,
  RegionFilterQuery,
  RegionParams,
  RegionsResponse,
  ServiceQualityResponse,
} from "./schemas.js";
import {
  demandIndexCsv,
  demandIndexJson,
  districtsCsv,
  districtsJson,
  monthsCsv,
  monthsJson,
  regionsCsv,
  regionsJson,
  serviceQualityCsv,
  serviceQualityJson,
  type Table,
  toCsv,
} from "./views.js";

export interface OpenDataOptions {
  prisma: PrismaClient;
  /**
   * How long one computed release is served. Default: until the next release is due, the start of
   * the next Tashkent month (a release recomputed within its month would differ from the one before
   * by the status changes in between, and could be differenced).
   */
  ttlMs?: number;
  /** Replaces the database reads (tests count or delay them). */
  source?: OpenDataSource;
  clock?: () => Date;
  translator?: Translator;
}

/** After a failed or unsafe release, how long before it is computed again. */
export const RETRY_MS = 5 * 60_000;

/** A turn of the event loop between solver runs, so USSD and the bot keep answering during an audit. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const json = (schema: object) => ({ content: { "application/json": { schema } } });
const withCsv = (schema: object) => ({
  content: { "application/json": { schema }, "text/csv": { schema: { type: "string" } } },
});

/**
 * Open data without authentication: GET /open/v1/{regions, regions/:code/districts, months,
 * demand-index} as JSON or CSV (?format=csv), and the public page GET /open. Everything is cut
 * from one snapshot, computed at most once per TTL however many requests arrive meanwhile.
 */
export const openDataPlugin: FastifyPluginAsync<OpenDataOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const clock = options.clock ?? (() => new Date());
  const translator = options.translator ?? new Translator();
  const source = options.source ?? prismaOpenDataSource(options.prisma);
  const cache = new TtlCache<OpenDataSnapshot>(
    async () => {
      const snapshot = await buildSnapshotFrom(await source.load(), clock(), { pause: yieldToEventLoop });
      fastify.log.info({ release: snapshot.cut.toISOString(), audit: snapshot.audit }, "open data release audited");
      return snapshot;
    },
    options.ttlMs ?? ((snapshot) => nextReleaseCut(snapshot.generatedAt).getTime()),
    () => clock().getTime(),
    {
      retryMs: RETRY_MS,
      onError: (err) =>
        // A release that could not be made safe is not published; the reason is for the operator.
        fastify.log.error(
          { err, cells: err instanceof UnsafeReleaseError ? err.cells.slice(0, 20) : undefined },
          "open data release not published",
        ),
    },
  );
  const method = Object.fromEntries(
    LOCALES.map((l) => [
      l,
      ["privacy", "units", "timing", "index"].map((p) => translator.t(l, `open.method.${p}`)).join("\n\n"),
    ]),
  ) as Names;
  /** The service-quality endpoint's method: the common one and its own paragraph. */
  const qualityMethod = Object.fromEntries(
    LOCALES.map((l) => [l, `${method[l]}\n\n${translator.t(l, "open.method.quality")}`]),
  ) as Names;

  /** The snapshot, with caching headers that expire with it. */
  async function snapshotFor(reply: FastifyReply): Promise<OpenDataSnapshot> {
    let release: { data: OpenDataSnapshot; expiresAt: number };
    try {
      release = await cache.get();
    } catch {
      reply.header("retry-after", String(RETRY_MS / 1000));
      throw new ReleaseUnavailableError();
    }
    const { data, expiresAt } = release;
    const maxAge = Math.max(0, Math.ceil((expiresAt - clock().getTime()) / 1000));
    reply.header("cache-control", `public, max-age=${maxAge}`);
    reply.header("last-modified", data.generatedAt.toUTCString());
    return data;
  }
  const sendCsv = (reply: FastifyReply, name: string, table: Table) =>
    reply
      .type("text/csv; charset=utf-8")
      .header("content-disposition", `inline; filename="${name}.csv"`)
      .send(toCsv(table));
  const regionNotFound = (reply: FastifyReply, code: string) =>
    reply.code(404).send({ error: "REGION_NOT_FOUND", message: `no region with code ${code}` });

  app.get(
    "/open/v1/regions",
    { schema: { querystring: FormatQuery, response: { 200: withCsv(RegionsResponse) } } },
    async (req, reply) => {
      const snapshot = await snapshotFor(reply);
      if (req.query.format === "csv") return sendCsv(reply, "regions", regionsCsv(snapshot));
      return regionsJson(snapshot, method);
    },
  );

  app.get(
    "/open/v1/regions/:code/districts",
    {
      schema: {
        params: RegionParams,
        querystring: FormatQuery,
        response: { 200: withCsv(DistrictsResponse), 404: json(ErrorResponse) },
      },
    },
    async (req, reply) => {
      const snapshot = await snapshotFor(reply);
      const region = snapshot.regions.find((r) => r.code === req.params.code);
      if (!region) return regionNotFound(reply, req.params.code);
      if (req.query.format === "csv") return sendCsv(reply, `districts-${region.code}`, districtsCsv(snapshot, region));
      return districtsJson(snapshot, region, method);
    },
  );

  app.get(
    "/open/v1/months",
    {
      schema: {
        querystring: RegionFilterQuery,
        response: { 200: withCsv(MonthsResponse), 404: json(ErrorResponse) },
      },
    },
    async (req, reply) => {
      const snapshot = await snapshotFor(reply);
      const code = req.query.region;
      const region = code === undefined ? undefined : snapshot.regions.find((r) => r.code === code);
      if (code !== undefined && !region) return regionNotFound(reply, code);
      if (req.query.format === "csv") {
        return sendCsv(reply, region ? `months-${region.code}` : "months", monthsCsv(snapshot, region));
      }
      return monthsJson(snapshot, region, method);
    },
  );

  app.get(
    "/open/v1/demand-index",
    {
      schema: {
        querystring: RegionFilterQuery,
        response: { 200: withCsv(DemandIndexResponse), 404: json(ErrorResponse) },
      },
    },
    async (req, reply) => {
      const snapshot = await snapshotFor(reply);
      const code = req.query.region;
      const region = code === undefined ? undefined : snapshot.regions.find((r) => r.code === code);
      if (code !== undefined && !region) return regionNotFound(reply, code);
      if (req.query.format === "csv") return sendCsv(reply, "demand-index", demandIndexCsv(snapshot, region));
      return demandIndexJson(snapshot, region, method);
    },
  );

  app.get(
    "/open/v1/service-quality",
    {
      schema: {
        querystring: RegionFilterQuery,
        response: { 200: withCsv(ServiceQualityResponse), 400: json(CatalogueErrorResponse) },
      },
    },
    async (req, reply) => {
      const snapshot = await snapshotFor(reply);
      const code = req.query.region;
      const region = code === undefined ? undefined : snapshot.regions.find((r) => r.code === code);
      // A filter naming no region is a bad query, answered in the catalogue's shape by Fastify's handler.
      if (code !== undefined && !region)
        throw new InvalidInputError("UNKNOWN_REGION", `no region with code ${code}`, "region");
      if (req.query.format === "csv") {
        return sendCsv(
          reply,
          region ? `service-quality-${region.code}` : "service-quality",
          serviceQualityCsv(snapshot, region),
        );
      }
      return serviceQualityJson(snapshot, region, qualityMethod);
    },
  );

  app.get("/open", { schema: { querystring: PageQuery } }, async (req, reply) => {
    const snapshot = await snapshotFor(reply);
    const locale: Locale = isLocale(req.query.lang) ? req.query.lang : "uz";
    return reply
      .type("text/html; charset=utf-8")
      .header("content-language", locale)
      .send(renderOpenPage({ snapshot, locale, translator, path: "/open" }));
  });
};
