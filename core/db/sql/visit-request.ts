import { LOCK_COLUMNS, type LockRow, statement } from "./statement.js";

// VisitRequest's plain-SQL statements. Owners: core/services/slot-capacity.ts, the only place that
// counts half-day places (free-slot lists, booking and rescheduling all go through it), and
// core/opendata/source.ts (open data reads).

/** The worker who takes a mahalla's new visits: the first active social worker serving it ($1). */
const MAHALLA_WORKER_SQL = `
  select s.id, s."dailyCapacity" as capacity from "Staff" s
    join "StaffMahalla" sm on sm."staffId" = s.id and sm."mahallaId" = $1
   where s.active and s.role = 'social_worker'
   order by s.id limit 1`;

/** A known pool's worker ($3; null: the mahalla's unassigned pool). */
const POOL_WORKER_SQL = `select id, "dailyCapacity" as capacity from "Staff" where id = $3::int`;

/**
 * Places taken per day and half-day among the days $2 in the pool of `worker` or, without one, in
 * mahalla $1's unassigned pool; with the pool's capacity and worker on every row (and on a row of
 * their own, so they arrive even when nothing is taken yet).
 */
const placesSql = (workerSql: string) => `
  with worker as (${workerSql})
  select to_char(v."slotDate", 'YYYY-MM-DD') as day, v."slotPart" as part, count(*)::int as taken,
         (select capacity from worker) as capacity, (select id from worker) as "staffId"
    from "VisitRequest" v
   where v."slotDate" = any($2::date[]) and v.status <> 'cancelled'
     and (case when exists (select 1 from worker) then v."assignedStaffId" = (select id from worker)
               else v."mahallaId" = $1 and v."assignedStaffId" is null end)
   group by 1, 2
  union all
  select null, null, 0, (select capacity from worker), (select id from worker)`;

export interface PlacesRow {
  day: string | null;
  part: string | null;
  taken: number;
  capacity: number | null;
  staffId: number | null;
}

const placesColumns = { day: true, part: true, taken: true, capacity: true, staffId: true } as const;

export const MAHALLA_WORKER = statement<{ id: number; capacity: number }, [mahallaId: number]>(
  "VisitRequest.mahallaWorker",
  MAHALLA_WORKER_SQL,
  { id: true, capacity: true },
);

export const MAHALLA_PLACES = statement<PlacesRow, [mahallaId: number, days: string[]]>(
  "VisitRequest.mahallaPlaces",
  placesSql(MAHALLA_WORKER_SQL),
  placesColumns,
);

export const POOL_PLACES = statement<PlacesRow, [mahallaId: number, days: string[], staffId: number | null]>(
  "VisitRequest.poolPlaces",
  placesSql(POOL_WORKER_SQL),
  placesColumns,
);

/** Holds one pool's half-day (a hash of its key) until the transaction ends. */
export const LOCK_SLOT = statement<LockRow, [key: string]>(
  "VisitRequest.lockSlot",
  `select pg_advisory_xact_lock(hashtextextended($1, 0))`,
  LOCK_COLUMNS,
);

export interface VisitOpenDataRow {
  id: number;
  citizenId: number;
  districtId: number | null;
  reasonId: number;
  status: string;
  channel: string;
  locale: string | null;
  createdAt: Date | string;
  doneAt: Date | string | null;
  acceptedAt: Date | string | null;
}

/**
 * Visits after id $1 (keyset page of $2) for core/opendata/source.ts, with the district of their
 * mahalla, the citizen's language, when the visit was first done and when staff first accepted it
 * (its first change to accepted, done or not at home: the service-quality figures).
 */
export const OPEN_DATA_PAGE = statement<VisitOpenDataRow, [afterId: number, limit: number]>(
  "VisitRequest.openDataPage",
  `
          select v.id, v."citizenId", m."districtId", v."reasonId", v.status, v.channel, c.locale, v."createdAt",
                 (select min(h."createdAt") from "VisitStatusChange" h
                   where h."visitId" = v.id and h."toStatus" = 'done') as "doneAt",
                 (select min(h."createdAt") from "VisitStatusChange" h
                   where h."visitId" = v.id and h."toStatus" in ('accepted', 'done', 'not_home')) as "acceptedAt"
          from "VisitRequest" v
          join "Mahalla" m on m.id = v."mahallaId"
          join "Citizen" c on c.id = v."citizenId"
          where v.id > $1 order by v.id limit $2`,
  {
    id: true,
    citizenId: true,
    districtId: true,
    reasonId: true,
    status: true,
    channel: true,
    locale: true,
    createdAt: true,
    doneAt: true,
    acceptedAt: true,
  },
);
