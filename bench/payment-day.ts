/**
 * Payment day, measured: import N credited payments from a CSV stream (default 50,000) and see
 * how long the import takes and that it queues one notification each; then how fast the relay
 * drains notifications when the SMS provider is instant and unthrottled (the real pace is the
 * configured NOTIFY_SMS_PER_SECOND).
 *   node --import tsx bench/payment-day.ts [payments] [relay rows]
 * Uses a throw-away embedded server, or PostgreSQL when BENCH_DATABASE_URL is set (a database it may fill).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { csvRecords } from "../app/api/csv.js";
import { type Database, openDatabase } from "../core/db/database.js";
import { startEmbeddedServer } from "../core/db/embedded-server.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import type { SmsSender } from "../core/notifications/senders.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { importPayments } from "../core/services/imports/payments.js";

const PAYMENT_COLUMNS = {
  known: ["externalId", "citizenExternalId", "benefitCode", "amountTiyin", "period", "creditedAt"],
  required: ["externalId", "citizenExternalId", "benefitCode", "period", "creditedAt"],
};

async function* csvStream(payments: number, citizens: number, runId: string): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode(`${PAYMENT_COLUMNS.known.join(",")}\n`);
  let chunk = "";
  for (let i = 0; i < payments; i++) {
    chunk += `${runId}-${i},BENCH-CIT-${i % citizens},CHILD_ALLOWANCE,${30_000_000 + i},2025-03,2025-03-05\n`;
    if (chunk.length > 64 * 1024) {
      yield encoder.encode(chunk);
      chunk = "";
    }
  }
  if (chunk) yield encoder.encode(chunk);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const payments = Number(process.argv[2] ?? 50_000);
  const relayRows = Number(process.argv[3] ?? 5_000);
  const url = process.env.BENCH_DATABASE_URL;
  const scratch = url ? undefined : await mkdtemp(join(tmpdir(), "mc-payment-day-"));
  const embedded = scratch ? await startEmbeddedServer({ dataDir: scratch }) : undefined;
  const db: Database = await openDatabase({ kind: "postgres", url: embedded?.url ?? url ?? "", poolSize: 10 });
  try {
    await seedReferenceData(db.prisma);
    const citizens = Math.min(payments, 20_000);
    const known = await db.prisma.citizen.count({ where: { externalId: { startsWith: "BENCH-CIT-" } } });
    if (known < citizens) {
      await db.prisma.citizen.createMany({
        data: Array.from({ length: citizens }, (_, i) => ({
          externalId: `BENCH-CIT-${i}`,
          phone: `+99899${String(i).padStart(7, "0")}`,
          locale: ["uz", "uz-Cyrl", "ru"][i % 3] ?? "uz",
        })),
        skipDuplicates: true,
      });
    }
    const runId = `BENCH-${Date.now()}`;
    const heapBefore = process.memoryUsage().heapUsed;
    const { monitorEventLoopDelay } = await import("node:perf_hooks");
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const started = performance.now();
    const result = await importPayments(
      db,
      csvRecords(csvStream(payments, citizens, runId), PAYMENT_COLUMNS, 1 << 30),
      "bench",
    );
    const importMs = performance.now() - started;
    h.disable();
    console.log(
      `loop delay: p50 ${(h.percentile(50) / 1e6).toFixed(1)} p90 ${(h.percentile(90) / 1e6).toFixed(1)} p99 ${(h.percentile(99) / 1e6).toFixed(1)} max ${(h.max / 1e6).toFixed(1)} ms`,
    );
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    console.log(
      `import: ${result.created} payments, ${result.notifications} notifications in ${seconds(importMs)} ` +
        `(${Math.round(result.created / (importMs / 1000))} rows/s; heap +${heapMb.toFixed(0)} MB)`,
    );

    const again = performance.now();
    const repeat = await importPayments(
      db,
      csvRecords(csvStream(payments, citizens, runId), PAYMENT_COLUMNS, 1 << 30),
      "bench",
    );
    console.log(
      `re-sent: ${repeat.created} created, ${repeat.duplicates} duplicates, ${repeat.notifications} notifications ` +
        `in ${seconds(performance.now() - again)}`,
    );

    // Only the first rows are drained; the rest stay pending.
    let sent = 0;
    const instant: SmsSender = {
      async send() {
        sent++;
        return { providerMessageId: `bench-${sent}`, status: "sent" };
      },
    };
    const relay = new OutboxRelay(new NotificationDelivery({ prisma: db.prisma, sql: db.sql, sms: instant }), {
      batchSize: 200,
      concurrency: 16,
    });
    const drainStart = performance.now();
    while (sent < relayRows) {
      if ((await relay.tick()).length === 0) break;
    }
    const drainMs = performance.now() - drainStart;
    console.log(
      `relay: ${sent} sent in ${seconds(drainMs)} (${Math.round(sent / (drainMs / 1000))}/s, provider instant)`,
    );
  } finally {
    await db.close();
    await embedded?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
