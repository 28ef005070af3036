import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, type TObject, type TProperties, type TSchema, Type } from "typebox";
import type { ApiContext } from "./context.js";
import { errorResponses, PageOf, PageQuery } from "./schemas.js";

type ApiApp = Parameters<FastifyPluginAsyncTypebox<ApiContext>>[0];

export interface ListSpec<F extends TProperties, I extends TSchema> {
  tags: string[];
  summary: string;
  description?: string;
  /** Query parameters besides `limit` and `offset`. */
  filters: F;
  /** One element of the page. */
  item: I;
}

/** The query of a list route: its filters, then limit and offset. */
export type ListQuery<F extends TProperties> = Static<TObject<F & typeof PageQuery>>;

/**
 * A GET route that answers one page of a list: `{items, total, limit, offset}`, its query the
 * list's filters and the page window, its errors those of every authenticated route. The same
 * shape for every list of the API, documented once in its OpenAPI document.
 */
export function listRoute<F extends TProperties, I extends TSchema>(
  app: ApiApp,
  url: string,
  spec: ListSpec<F, I>,
  list: (query: ListQuery<F>) => Promise<Static<ReturnType<typeof PageOf<I>>>>,
): void {
  app.get(
    url,
    {
      schema: {
        tags: spec.tags,
        summary: spec.summary,
        ...(spec.description ? { description: spec.description } : {}),
        querystring: Type.Object({ ...spec.filters, ...PageQuery }),
        response: { 200: PageOf(spec.item), ...errorResponses() },
      },
    },
    async (request) => list(request.query as ListQuery<F>),
  );
}
