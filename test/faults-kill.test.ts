import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../core/db/database.js";
import { startEmbeddedServer } from "../core/db/embedded-server.js";
import { makePinfl } from "../core/domain/pinfl.js";
import { toGsm7 } from "../core/i18n/gsm.js";
import { Translator } from "../core/i18n/index.js";
import { loadReferenceData } from "../core/reference/seed.js";
import { AtDouble } from "./support/at-double.js";
import { createTestDatabase, onEmbeddedTestServer, type TestDatabase } from "./support/database.js";
import { waitUntil } from "./support/faults.js";
import { freePort, type RunningProcess, spawnEntry, waitForHttp } from "./support/spawn.js";

/**
 * `npm start` killed with SIGKILL while citizens apply and book visits over USSD, then started
 * again on the same data: what a citizen was told is confirmed exists, and every notification is
 * sent exactly once.
 */
const TOKEN = "kill-test-token-0123456789";
const PHONES = 20;
const KILL_AFTER_CONFIRMATIONS = 8;
const PILOT_DISTRICT = "1727259";

let at: AtDouble;
let dataDir: string;
let testDb: TestDatabase | undefined;
let port: number;
let base: string;
const processes: RunningProcess[] = [];

beforeAll(async () => {
  at = await new AtDouble().start();
  dataDir = await mkdtemp(join(tmpdir(), "mc-kill-"));
  // The embedded default under DATA_DIR (the server it starts outlives the kill) on the embedded
  // pass; a PostgreSQL database of its own when the suite runs on a system server.
  if (!onEmbeddedTestServer()) testDb = await createTestDatabase();
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const proc of processes) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill("SIGKILL");
      await proc.exited;
    }
  }
  await at?.stop();
  await testDb?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function startServer(): RunningProcess {
  const proc = spawnEntry("app/main.ts", {
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    API_TOKENS: `backoffice:${TOKEN}`,
    AT_USERNAME: "mahalla",
    AT_API_KEY: "kill-test-key",
    AT_API_ROOT: at.url,
    // The demo mahallas only: the test counts every application and visit row.
    SEED_DEMO: "mahallas",
    RATE_LIMIT_STEPS_PER_MINUTE: "0",
    NOTIFY_SMS_PER_SECOND: "200",
    // The test polls the notification list; the API's per-IP limit is another test's subject.
    API_RATE_LIMIT_PER_MINUTE: "0",
    ...(testDb ? { DATABASE_URL: testDb.target.url } : { DATA_DIR: dataDir }),
  });
  processes.push(proc);
  return proc;
}

/**
 * The database the servers used, opened by the test while no server runs: on DATA_DIR the test
 * adopts the embedded server the killed process left (or starts it) and stops it again, so the
 * next `npm start` owns it.
 */
async function withDatabase<T>(use: (db: Database) => Promise<T>): Promise<T> {
  if (testDb) return use(testDb);
  const server = await startEmbeddedServer({ dataDir });
  try {
    const db = await openDatabase({ kind: "postgres", url: server.url, poolSize: 2 }, { migrate: false });
    try {
      return await use(db);
    } finally {
      await db.close();
    }
  } finally {
    await server.stop();
  }
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Listed {
  items: { status: string; providerMessageId: string | null; recipientPhone: string | null }[];
  total: number;
}
const notifications = () => api<Listed>("/api/v1/notifications?limit=200");

class Interrupted extends Error {}
class Apologised extends Error {}

/**
 * The step-deadline apology: on a saturated machine a step may miss its 1.5 s and the caller is
 * told to try later, which is the product keeping its promise, not this test's subject. Whether
 * that step committed or not, the counts below hold (a row without a confirmation is allowed; a
 * confirmation without its row is not), so the citizen simply stops there; not counted as cut off
 * by the kill.
 */
const APOLOGY = `END ${toGsm7(new Translator().t("uz", "errors.unavailable"))}`;

/** A feature phone over real HTTP; a request the dying server never answers interrupts it. */
class Caller {
  private sessionId = "";
  private inputs: string[] = [];
  screen = "";
  private static sessions = 0;

  constructor(readonly phoneNumber: string) {}

  async dial(): Promise<string> {
    Caller.sessions++;
    this.sessionId = `ATUid_kill_${Caller.sessions}`;
    this.inputs = [];
    return this.post();
  }

  async send(input: string): Promise<string> {
    this.inputs.push(input);
    return this.post();
  }

  /** Chooses the option whose label contains `label`, turning pages with 98. */
  async pick(label: string): Promise<string> {
    for (let turn = 0; turn < 10; turn++) {
      const line = this.screen.split("\n").find((l) => l.replace(/^(CON|END) /, "").includes(label));
      const number = line ? /^(?:CON |END )?(\d+)\. /.exec(line)?.[1] : undefined;
      if (number && !["0", "00", "98"].includes(number)) return this.send(number);
      if (!/\n98\. /.test(this.screen)) break;
      await this.send("98");
    }
    throw new Error(`no "${label}" on the screen:\n${this.screen}`);
  }

  private async post(): Promise<string> {
    let body: string;
    try {
      const res = await fetch(`${base}/ussd`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          sessionId: this.sessionId,
          serviceCode: "*1146#",
          phoneNumber: this.phoneNumber,
          networkCode: "63902",
          text: this.inputs.join("*"),
        }).toString(),
        signal: AbortSignal.timeout(10_000),
      });
      body = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body}`);
    } catch (err) {
      throw new Interrupted((err as Error).message);
    }
    if (!/^(CON|END) /.test(body)) throw new Error(`not a USSD answer: ${body}`);
    if (body === APOLOGY) throw new Apologised();
    this.screen = body;
    return body;
  }
}

interface Labels {
  benefit: string;
  region: string;
  district: string;
  mahallas: string[];
}

async function labels(): Promise<Labels> {
  const reference = await loadReferenceData();
  const pension = reference.benefitTypes.find((b) => b.code === "AGE_PENSION");
  const region = reference.regions.find((r) => r.districts.some((d) => d.code === PILOT_DISTRICT));
  const district = region?.districts.find((d) => d.code === PILOT_DISTRICT);
  if (!pension || !region || !district) throw new Error("reference data missing");
  const mahallas = await api<{ items: { names: { uz: string } }[] }>(
    `/api/v1/mahallas?districtCode=${PILOT_DISTRICT}&limit=200`,
  );
  return {
    benefit: toGsm7(pension.shortNames.uz),
    region: toGsm7(region.names.uz),
    district: toGsm7(district.names.uz),
    mahallas: mahallas.items.map((m) => toGsm7(m.names.uz)),
  };
}

interface Confirmation {
  phone: string;
  kind: "A" | "V";
  reference: string;
}

/**
 * One citizen: applies for an age pension, then books a visit; each END with a reference is a
 * confirmation. True when the server died under them.
 */
async function citizen(index: number, names: Labels, confirmed: Confirmation[]): Promise<boolean> {
  const phone = `+99897${String(7_000_000 + index).padStart(7, "0")}`;
  const caller = new Caller(phone);
  const confirm = (kind: "A" | "V") => {
    const reference = new RegExp(`${kind}-\\d{4}-\\d{4}`).exec(caller.screen)?.[0];
    if (!caller.screen.startsWith("END ") || !reference) throw new Error(`no confirmation:\n${caller.screen}`);
    confirmed.push({ phone, kind, reference });
  };
  try {
    await caller.dial();
    await caller.send("1");
    await caller.send("1");
    await caller.pick(names.benefit);
    await caller.send(makePinfl(new Date(Date.UTC(1958, 2, 3)), index % 2 === 0, 300_000 + index));
    await caller.send("10");
    await caller.send("1");
    confirm("A");

    await caller.dial();
    await caller.send("4");
    await caller.pick(names.region);
    await caller.pick(names.district);
    await caller.pick(names.mahallas[index % names.mahallas.length] ?? "");
    await caller.send("1");
    await caller.send("1");
    await caller.send("Navoiy 5");
    await caller.send("1");
    confirm("V");
    return false;
  } catch (err) {
    if (err instanceof Apologised) return false;
    if (!(err instanceof Interrupted)) throw err;
    return true;
  }
}

describe("SIGKILL under load", () => {
  // Two cold starts of the real server dominate; the bound only guards against a hang on a busy machine.
  it("keeps every confirmed application and visit, and sends every notification exactly once", {
    timeout: 150_000,
  }, async () => {
    const first = startServer();
    await waitForHttp(`${base}/healthz`, 90_000, first);
    const names = await labels();

    const confirmed: Confirmation[] = [];
    const load = Promise.all(Array.from({ length: PHONES }, (_, i) => citizen(i, names, confirmed)));
    const midRun = await waitUntil(async () => confirmed.length >= KILL_AFTER_CONFIRMATIONS, 40_000, 20);
    expect(midRun, first.output()).toBe(true);

    // From here the SMS gateway holds every request without answering: a send cut short by the kill
    // is one the provider never accepted. Sends it already accepted must be recorded before the
    // kill, or the at-least-once window (accepted, not yet recorded) would be measured instead.
    at.script = Array.from({ length: 10_000 }, () => "hang" as const);
    const acceptedBeforeKill = at.requests.length;
    const recorded = await waitUntil(async () => {
      const ids = new Set((await notifications()).items.map((n) => n.providerMessageId));
      return Array.from({ length: acceptedBeforeKill }, (_, i) => `ATXid_double_${i + 1}`).every((id) => ids.has(id));
    }, 20_000);
    expect(recorded).toBe(true);

    first.child.kill("SIGKILL");
    await first.exited;
    const interrupted = (await load).filter(Boolean).length;
    const confirmedAtKill = confirmed.length;
    // The kill fell mid-run: some citizens were cut off, some had their confirmations.
    expect(interrupted).toBeGreaterThan(0);
    expect(confirmedAtKill).toBeLessThan(PHONES * 2);
    at.script = [];
    const heldUntilRestart = at.requests.length;

    await withDatabase(async (db) => {
      // The killed process held some rows `sending` under a lease; let the lease run out (as five
      // minutes of downtime would) rather than wait for it.
      await db.prisma.outbox.updateMany({ where: { status: "sending" }, data: { nextAttemptAt: new Date() } });
    });

    const second = startServer();
    await waitForHttp(`${base}/healthz`, 90_000, second);
    const settled = await waitUntil(
      async () => {
        const listed = await notifications();
        return listed.total > 0 && listed.items.every((n) => n.status === "sent");
      },
      30_000,
      200,
    );
    expect(settled, JSON.stringify((await notifications()).items.filter((n) => n.status !== "sent"))).toBe(true);
    // Time for a duplicate to show up before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    second.child.kill("SIGTERM");
    expect(await second.exited, second.output()).toBe(0);

    const accepted = at.requests.filter((_, i) => i < acceptedBeforeKill || i >= heldUntilRestart);
    await withDatabase(async (db) => {
      const prisma = db.prisma;
      for (const c of confirmed) {
        const found =
          c.kind === "A"
            ? await prisma.application.findUnique({ where: { reference: c.reference }, include: { citizen: true } })
            : await prisma.visitRequest.findUnique({ where: { reference: c.reference }, include: { citizen: true } });
        expect(found?.citizen.phone, c.reference).toBe(c.phone);
      }

      const outbox = await prisma.outbox.findMany({ orderBy: { id: "asc" } });
      expect(outbox.map((r) => r.status)).toEqual(outbox.map(() => "sent"));
      // Nothing lost: every application and visit has its confirmation SMS row.
      const applications = await prisma.application.findMany({ select: { reference: true, citizenId: true } });
      const visits = await prisma.visitRequest.findMany({ select: { reference: true, citizenId: true } });
      expect(applications.length + visits.length).toBeGreaterThanOrEqual(confirmedAtKill);
      for (const { reference, citizenId } of [...applications, ...visits]) {
        const rows = outbox.filter(
          (r) => r.citizenId === citizenId && (r.params as { reference?: string }).reference === reference,
        );
        expect(
          rows.map((r) => r.templateKey),
          reference,
        ).toEqual([reference.startsWith("A") ? "notify.application_submitted" : "notify.visit_booked"]);
      }

      // Exactly once: the gateway accepted one message per row, and each row's own.
      expect(accepted).toHaveLength(outbox.length);
      const byPhone = new Map<string, number>();
      for (const r of accepted) byPhone.set(r.form.to ?? "", (byPhone.get(r.form.to ?? "") ?? 0) + 1);
      for (const phone of new Set(outbox.map((r) => r.recipientPhone ?? ""))) {
        expect(byPhone.get(phone), phone).toBe(outbox.filter((r) => r.recipientPhone === phone).length);
      }
      expect(new Set(outbox.map((r) => r.providerMessageId)).size).toBe(outbox.length);
      for (const c of confirmed) {
        expect(
          accepted.filter((r) => r.form.message?.includes(c.reference)),
          c.reference,
        ).toHaveLength(1);
      }
    });
  });
});
