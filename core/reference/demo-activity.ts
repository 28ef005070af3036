import type { PrismaClient } from "../db/database.js";
import { LOCK_DEMO_ACTIVITY } from "../db/sql/citizen.js";
import { executeIn } from "../db/sql/statement.js";
import { dammDigit, type ReferenceKind } from "../domain/reference.js";
import { random } from "./random.js";

/**
 * A few weeks of synthetic activity in the demo mahallas, so a first `npm start` shows a living
 * service: applications in every status with their history, decisions, payments on social cards,
 * appeals, home visits with a social worker per pilot district. Loaded only with the demo set
 * (SEED_DEMO; by default on the embedded database only).
 *
 * Everything is marked so it can never pass for the register:
 * - phone numbers in one block of their own, DEMO_PHONE_PREFIX (+998 39 000 …), found and removed
 *   by prefix;
 * - external ids of citizens, cards and payments start with DEMO_MARKER ("DEMO-");
 * - references sit in their own block (A-9…, V-9…, P-9…), answers carry `demo: true`, actors are
 *   "api:demo", staff names end in "(demo)".
 * Deterministic (a fixed seed, dates relative to the first load), and loaded once: a restart finds
 * the marker and adds nothing.
 */
export const DEMO_MARKER = "DEMO-";
export const DEMO_PHONE_PREFIX = "+99839000";
/** One demo citizen whose records cover every screen: apply, status, payments, visits, appeal. */
export const DEMO_SHOWCASE_PHONE = `${DEMO_PHONE_PREFIX}0001`;

const CITIZENS = 240;
const DAYS_BACK = 42;
const DAY = 86_400_000;

/** A valid, check-digited reference in the demo block (first digit 9), numbered `n`. */
export function demoReference(kind: ReferenceKind, n: number): string {
  const body = String(9_000_000 + n).padStart(7, "0");
  const digits = `${body}${dammDigit(body)}`;
  return `${kind}-${digits.slice(0, 4)}-${digits.slice(4)}`;
}

const demoPhone = (n: number) => `${DEMO_PHONE_PREFIX}${String(n).padStart(4, "0")}`;
const dayOnly = (t: Date) => new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
const period = (t: Date) => `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, "0")}`;

/** Monthly amounts in tiyin, by benefit code (illustrative, not the official rates). */
const AMOUNTS: Record<string, number> = {
  CHILD_ALLOWANCE: 35_000_000,
  LOW_INCOME_ASSISTANCE: 61_000_000,
};
const DEFAULT_AMOUNT = 45_000_000;

export interface DemoActivityReport {
  /** Demo citizens in the database after the call. */
  citizens: number;
  /** False when they were already there (a restart). */
  created: boolean;
}

type Status = "submitted" | "under_review" | "approved" | "rejected" | "paid" | "withdrawn";

/** Status path from submission, the last entry being the current status. */
const PATHS: readonly (readonly [readonly Status[], number])[] = [
  [["submitted"], 14],
  [["submitted", "under_review"], 16],
  [["submitted", "under_review", "approved"], 14],
  [["submitted", "approved", "paid"], 10],
  [["submitted", "under_review", "approved", "paid"], 22],
  [["submitted", "under_review", "rejected"], 16],
  [["submitted", "withdrawn"], 4],
];

export async function seedDemoActivity(prisma: PrismaClient, now = new Date()): Promise<DemoActivityReport> {
  return prisma.$transaction(
    async (tx) => {
      // The check and the load are one decision: held under a lock, so a second instance waits
      // and then finds the marker instead of loading a second copy.
      await executeIn(tx, LOCK_DEMO_ACTIVITY, []);
      const existing = await tx.citizen.count({ where: { externalId: { startsWith: DEMO_MARKER } } });
      if (existing > 0) return { citizens: existing, created: false };

      const rnd = random(20_261_201);
      const mahallas = await tx.mahalla.findMany({
        where: { isDemo: true, active: true },
        select: { id: true, districtId: true },
        orderBy: { id: "asc" },
      });
      if (mahallas.length === 0) throw new Error("demo activity needs the demo mahallas (seed them first)");
      const benefitTypes = await tx.benefitType.findMany({
        where: { active: true, OR: [{ availableFrom: null }, { availableFrom: { lte: now } }] },
        orderBy: { sortOrder: "asc" },
        select: { id: true, code: true },
      });
      const reasons = await tx.visitReason.findMany({
        where: { active: true },
        orderBy: { sortOrder: "asc" },
        select: { id: true },
      });
      const at = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY - rnd.int(0, 10 * 3_600_000));

      // One social worker per pilot district, serving its demo mahallas.
      const districtIds = [...new Set(mahallas.map((m) => m.districtId))];
      const staffNames = ["Dilnoza Karimova", "Jasur Toshmatov", "Malika Yusupova", "Rustam Aliyev"];
      const staff = await tx.staff.createManyAndReturn({
        data: districtIds.map((districtId, i) => ({
          fullName: `${staffNames[i % staffNames.length]} (demo)`,
          phone: `${DEMO_PHONE_PREFIX}${9000 + i}`,
          role: "social_worker",
          districtId,
          locale: "uz",
        })),
        select: { id: true, districtId: true },
      });
      await tx.staffMahalla.createMany({
        data: mahallas.map((m) => ({
          staffId: (staff.find((s) => s.districtId === m.districtId) as { id: number }).id,
          mahallaId: m.id,
        })),
      });
      const workerOf = new Map(mahallas.map((m) => [m.id, staff.find((s) => s.districtId === m.districtId)?.id]));

      const locales = [
        ["uz", 60],
        ["ru", 25],
        ["uz-Cyrl", 15],
      ] as const;
      const citizens = await tx.citizen.createManyAndReturn({
        data: Array.from({ length: CITIZENS }, (_, i) => ({
          phone: demoPhone(i + 1),
          externalId: `${DEMO_MARKER}C-${String(i + 1).padStart(4, "0")}`,
          locale: i === 0 ? "uz" : rnd.weighted(locales),
          mahallaId: i === 0 ? (mahallas[0] as { id: number }).id : rnd.pick(mahallas).id,
          createdAt: at(DAYS_BACK + rnd.int(0, 60)),
        })),
        select: { id: true, locale: true, mahallaId: true, createdAt: true },
      });
      const cards = await tx.socialCard.createManyAndReturn({
        data: citizens.map((c, i) => ({
          externalId: `${DEMO_MARKER}CARD-${String(i + 1).padStart(4, "0")}`,
          citizenId: c.id,
          maskedNumber: `**** ${String(1000 + rnd.int(0, 8999))}`,
          status: rnd.next() < 0.04 ? "blocked" : "active",
          issuedAt: c.createdAt,
        })),
        select: { id: true, citizenId: true },
      });
      const cardOf = new Map(cards.map((c) => [c.citizenId, c.id]));

      // Applications: the showcase citizen gets one of each kind of outcome, the rest at random.
      interface Planned {
        citizenId: number;
        locale: string;
        benefit: { id: number; code: string };
        path: readonly Status[];
        submittedAt: Date;
      }
      const planned: Planned[] = [];
      for (const c of citizens) {
        const showcase = c.id === (citizens[0] as { id: number }).id;
        const paths = showcase
          ? [PATHS[4], PATHS[5], PATHS[1]].map((p) => (p as (typeof PATHS)[number])[0])
          : Array.from(
              {
                length: rnd.weighted([
                  [0, 25],
                  [1, 55],
                  [2, 20],
                ] as const),
              },
              () => rnd.weighted(PATHS),
            );
        const benefits = [...benefitTypes].sort(() => rnd.next() - 0.5);
        paths.forEach((path, k) => {
          planned.push({
            citizenId: c.id,
            locale: c.locale ?? "uz",
            benefit: benefits[k % benefits.length] as { id: number; code: string },
            path,
            submittedAt: at(rnd.int(path.length * 3, DAYS_BACK)),
          });
        });
      }
      // Each step a few days after the one before, never in the future.
      const stepTimes = (p: Planned) =>
        p.path.map(
          (_, k) =>
            new Date(
              Math.min(
                p.submittedAt.getTime() + k * rnd.int(2, 6) * DAY,
                now.getTime() - (p.path.length - k) * 3_600_000,
              ),
            ),
        );
      const times = planned.map(stepTimes);
      const applications = await tx.application.createManyAndReturn({
        data: planned.map((p, i) => {
          const steps = times[i] as Date[];
          const decided = p.path.findIndex((s) => s === "approved" || s === "rejected");
          return {
            reference: demoReference("A", i + 1),
            citizenId: p.citizenId,
            benefitTypeId: p.benefit.id,
            answers: {
              demo: true,
              household_size: rnd.int(2, 8),
              monthly_income: { money: rnd.int(80, 300) * 1_000_000 },
            },
            status: p.path.at(-1) as Status,
            statusReason: p.path.at(-1) === "rejected" ? "Demo: household income above the threshold" : null,
            channel: rnd.weighted([
              ["ussd", 65],
              ["telegram", 35],
            ] as const),
            locale: p.locale,
            submittedAt: p.submittedAt,
            decidedAt: decided >= 0 ? (steps[decided] as Date) : null,
          };
        }),
        select: { id: true, citizenId: true, status: true },
      });
      await tx.applicationStatusChange.createMany({
        data: applications.flatMap((a, i) => {
          const p = planned[i] as Planned;
          const steps = times[i] as Date[];
          return p.path.map((to, k) => ({
            applicationId: a.id,
            fromStatus: k === 0 ? null : (p.path[k - 1] as Status),
            toStatus: to,
            reason: to === "rejected" ? "Demo: household income above the threshold" : null,
            actor: k === 0 || to === "withdrawn" ? "citizen" : "api:demo",
            createdAt: steps[k] as Date,
          }));
        }),
      });

      // Payments: paid applications were credited once or twice, on the citizen's card.
      const payments = applications.flatMap((a, i) => {
        if (a.status !== "paid") return [];
        const p = planned[i] as Planned;
        const paidAt = (times[i] as Date[]).at(-1) as Date;
        const count = paidAt.getTime() < now.getTime() - 31 * DAY ? 2 : 1;
        return Array.from({ length: count }, (_, k) => {
          const creditedAt = new Date(Math.min(paidAt.getTime() + k * 30 * DAY, now.getTime() - DAY));
          return {
            externalId: `${DEMO_MARKER}PAY-${String(i + 1).padStart(4, "0")}-${k + 1}`,
            citizenId: a.citizenId,
            cardId: cardOf.get(a.citizenId) ?? null,
            benefitTypeId: p.benefit.id,
            amountTiyin: BigInt(AMOUNTS[p.benefit.code] ?? DEFAULT_AMOUNT),
            period: period(creditedAt),
            creditedAt,
          };
        });
      });
      await tx.payment.createMany({ data: payments });

      // Appeals against about a third of the rejections (the showcase citizen's always).
      const rejected = applications.filter((a, i) => a.status === "rejected" && (i < 3 || rnd.next() < 0.35));
      await tx.appeal.createMany({
        data: rejected.map((a, k) => {
          const rejectedAt = (times[applications.indexOf(a)] as Date[]).at(-1) as Date;
          return {
            reference: demoReference("P", k + 1),
            applicationId: a.id,
            citizenId: a.citizenId,
            reason: "Demo: our household income fell after the last assessment",
            status:
              k === 0
                ? "received"
                : rnd.weighted([
                    ["received", 3],
                    ["under_review", 3],
                    ["upheld", 1],
                    ["dismissed", 2],
                  ] as const),
            channel: "ussd",
            createdAt: new Date(Math.min(rejectedAt.getTime() + 2 * DAY, now.getTime() - 3_600_000)),
          };
        }),
      });

      // Home visits: past ones done, not at home or cancelled, coming ones requested or accepted;
      // one visit per worker and half-day, so every coming slot still has room for a real booking.
      const visitCitizens = citizens.filter((_c, i) => i === 0 || rnd.next() < 0.3);
      const usedSlots = new Set<string>();
      const visits = visitCitizens.map((c, i) => {
        const mahallaId = c.mahallaId as number;
        const worker = workerOf.get(mahallaId) ?? null;
        let offset: number;
        let part: "morning" | "afternoon";
        let key: string;
        do {
          offset = i === 0 ? 3 : rnd.int(-35, 12);
          part = rnd.next() < 0.5 ? "morning" : "afternoon";
          key = `${worker}:${offset}:${part}`;
        } while (usedSlots.has(key) && i !== 0);
        usedSlots.add(key);
        const slotDate = dayOnly(new Date(now.getTime() + offset * DAY));
        const past = offset < 0;
        const status = past
          ? rnd.weighted([
              ["done", 7],
              ["not_home", 2],
              ["cancelled", 1],
            ] as const)
          : i === 0
            ? "accepted"
            : rnd.weighted([
                ["requested", 1],
                ["accepted", 2],
              ] as const);
        const createdAt = new Date(Math.min(slotDate.getTime() - rnd.int(2, 6) * DAY, now.getTime() - 3_600_000));
        const path =
          status === "requested"
            ? ["requested"]
            : status === "cancelled"
              ? ["requested", "cancelled"]
              : ["requested", "accepted", ...(past ? [status] : [])];
        return { citizenId: c.id, mahallaId, worker, slotDate, part, status, createdAt, path, n: i + 1 };
      });
      const created = await tx.visitRequest.createManyAndReturn({
        data: visits.map((v) => ({
          reference: demoReference("V", v.n),
          citizenId: v.citizenId,
          mahallaId: v.mahallaId,
          reasonId: rnd.pick(reasons).id,
          slotDate: v.slotDate,
          slotPart: v.part,
          status: v.status,
          outcomeNote: v.status === "done" ? "Demo: consultation given" : null,
          assignedStaffId: v.worker,
          channel: rnd.next() < 0.7 ? "ussd" : "telegram",
          createdAt: v.createdAt,
        })),
        select: { id: true },
      });
      await tx.visitStatusChange.createMany({
        data: created.flatMap((row, i) => {
          const v = visits[i] as (typeof visits)[number];
          return v.path.map((to, k) => ({
            visitId: row.id,
            fromStatus: k === 0 ? null : (v.path[k - 1] as string),
            toStatus: to,
            actor: k === 0 || to === "cancelled" ? "citizen" : `staff:${v.worker}`,
            createdAt: new Date(Math.min(v.createdAt.getTime() + k * DAY, now.getTime() - 60_000)),
          }));
        }),
      });
      return { citizens: citizens.length, created: true };
    },
    { timeout: 120_000, maxWait: 120_000 },
  );
}
