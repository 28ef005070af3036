/** The list shape every back-office read model answers: one page of rows, newest first, and how many match. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface PageRequest {
  limit?: number | undefined;
  offset?: number | undefined;
}

/** A day or an instant: "2025-03-01" means that whole day in Tashkent. */
export interface DateRange {
  from?: string | undefined;
  to?: string | undefined;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const dayStart = (day: string) => new Date(`${day}T00:00:00+05:00`);

/** Inclusive `from`, inclusive `to` (a day `to` covers that whole day). */
export function instantRange(range: DateRange): { gte?: Date; lt?: Date; lte?: Date } | undefined {
  const out: { gte?: Date; lt?: Date; lte?: Date } = {};
  if (range.from) out.gte = DAY.test(range.from) ? dayStart(range.from) : new Date(range.from);
  if (range.to) {
    if (DAY.test(range.to)) out.lt = new Date(dayStart(range.to).getTime() + 86_400_000);
    else out.lte = new Date(range.to);
  }
  return Object.keys(out).length ? out : undefined;
}

/** For @db.Date columns (visit slots), stored as UTC midnight of the day. */
export function dayRange(range: DateRange): { gte?: Date; lte?: Date } | undefined {
  const out: { gte?: Date; lte?: Date } = {};
  if (range.from) out.gte = new Date(`${range.from.slice(0, 10)}T00:00:00Z`);
  if (range.to) out.lte = new Date(`${range.to.slice(0, 10)}T00:00:00Z`);
  return Object.keys(out).length ? out : undefined;
}

/** Lists of what happens in a mahalla narrow by mahalla and district codes. */
export interface PlaceFilter {
  districtCode?: string | undefined;
  mahallaCode?: string | undefined;
}

/** Where a citizen's mahalla, or a visit's, must be: in that mahalla and/or that district. */
export function placeFilter(filter: PlaceFilter): { code?: string; district?: { code: string } } | undefined {
  if (!filter.districtCode && !filter.mahallaCode) return undefined;
  return {
    ...(filter.mahallaCode ? { code: filter.mahallaCode } : {}),
    ...(filter.districtCode ? { district: { code: filter.districtCode } } : {}),
  };
}

const pageInfo = (p: PageRequest) => ({ limit: p.limit ?? 50, offset: p.offset ?? 0 });

/**
 * One page of a list: the rows of the window the request asks for (Prisma's take/skip) and the
 * count of all that match, queried together.
 */
export async function pageOf<R, T>(
  request: PageRequest,
  list: {
    rows: (window: { take: number; skip: number }) => Promise<R[]>;
    count: () => Promise<number>;
    item: (row: R) => T;
  },
): Promise<Page<T>> {
  const { limit, offset } = pageInfo(request);
  const [rows, total] = await Promise.all([list.rows({ take: limit, skip: offset }), list.count()]);
  return { items: rows.map(list.item), total, limit, offset };
}
