import { OUTBOX_ROWS_INSERT, type OutboxRowParams } from "./outbox.js";
import { statement } from "./statement.js";

// VisitRequest's plain-SQL statements. Owners: core/services/slot-capacity.ts, the only place that
// counts half-day places (free-slot lists, booking and rescheduling all go through it),
// core/services/visits.ts (a booking's own reads and writes) and core/opendata/source.ts (open
// data reads).

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

export interface BookingFactsRow {
  staffId: number | null;
  staffPhone: string | null;
  staffChatId: string | null;
  staffLocale: string | null;
  citizenPhone: string | null;
  citizenChatId: string | null;
  citizenLocale: string | null;
  nameUz: string | null;
  nameUzCyrl: string | null;
  nameRu: string | null;
}

/**
 * A booking's first statement, in its transaction: the worker a new visit in mahalla $1 goes to
 * (none: the mahalla's unassigned pool), who is told (that worker and citizen $2: phone, Telegram
 * chat, language) and the names of visit reason $3, in one round trip. Always one row.
 */
export const BOOKING_FACTS = statement<BookingFactsRow, [mahallaId: number, citizenId: number, reasonId: number]>(
  "VisitRequest.bookingFacts",
  `
  with worker as (${MAHALLA_WORKER_SQL})
  select w.id as "staffId", s.phone as "staffPhone", s."telegramChatId"::text as "staffChatId",
         s.locale as "staffLocale", c.phone as "citizenPhone", c."telegramChatId"::text as "citizenChatId",
         c.locale as "citizenLocale", r."nameUz", r."nameUzCyrl", r."nameRu"
    from (select 1) one
    left join worker w on true
    left join "Staff" s on s.id = w.id
    left join "Citizen" c on c.id = $2::int
    left join "VisitReason" r on r.id = $3::int`,
  {
    staffId: true,
    staffPhone: true,
    staffChatId: true,
    staffLocale: true,
    citizenPhone: true,
    citizenChatId: true,
    citizenLocale: true,
    nameUz: true,
    nameUzCyrl: true,
    nameRu: true,
  },
);

type VisitParams = [
  reference: string,
  citizenId: number,
  mahallaId: number,
  reasonId: number,
  slotDate: string,
  slotPart: string,
  address: string | null,
  latitude: number | null,
  longitude: number | null,
  assignedStaffId: number | null,
  channel: string,
  now: string,
];

/**
 * A booked visit (parameters VisitParams, the place already claimed under its half-day's lock),
 * its first history row and its notifications (OutboxRowParams from $13: the worker's first when
 * there is one, then the citizen's), written in one statement.
 */
const bookSql = (notices: [number, string][]) => `
  with visit as (
    insert into "VisitRequest" ("reference", "citizenId", "mahallaId", "reasonId", "slotDate", "slotPart", "address",
      "latitude", "longitude", "status", "assignedStaffId", "channel", "createdAt", "updatedAt")
    values ($1::text, $2::int, $3::int, $4::int, $5::date, $6::text, $7::text, $8::float8, $9::float8, 'requested',
      $10::int, $11::text, $12::timestamp, $12::timestamp)
    returning id),
  history as (
    insert into "VisitStatusChange" ("visitId", "toStatus", "actor", "createdAt")
    select id, 'requested', 'citizen', $12::timestamp from visit),
  notices as (${OUTBOX_ROWS_INSERT(notices)})
  select id from visit`;

export const BOOK = statement<{ id: number }, [...VisitParams, ...citizenNotice: OutboxRowParams]>(
  "VisitRequest.book",
  bookSql([[13, "visit"]]),
  { id: true },
);

export const BOOK_WITH_WORKER = statement<
  { id: number },
  [...VisitParams, ...staffNotice: OutboxRowParams, ...citizenNotice: OutboxRowParams]
>(
  "VisitRequest.bookWithWorker",
  bookSql([
    [13, "visit"],
    [22, "visit"],
  ]),
  { id: true },
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

/**
 * Holds one pool's half-day (a hash of its key) until the transaction ends. It returns a boolean
 * rather than the lock's void, which Prisma cannot read: bookings run it on plain SQL, a
 * staff reschedule inside a Prisma transaction.
 */
export const LOCK_SLOT = statement<{ locked: boolean }, [key: string]>(
  "VisitRequest.lockSlot",
  `select true as "locked" from pg_advisory_xact_lock(hashtextextended($1, 0))`,
  { locked: true },
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
