import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IMPORT_BODY_LIMIT } from "../app/api/context.js";
import { createTestDatabase, postgresUrl, type TestDatabase } from "./support/database.js";
import { freePort, projectRoot, waitForHttp } from "./support/spawn.js";

const TOKEN = "memory-test-token-0123456789";
/** The heap flags of `npm run start:prod` (and the Docker image). */
const PRODUCTION_HEAP = ["--max-semi-space-size=8", "--max-old-space-size=256"];
const ROWS = 20_000;

/**
 * A payment import as large as the API takes (64 MiB): ROWS payments, each carrying a remark the
 * import ignores to reach the size, as registers that export more columns than are read do.
 */
function maximumPaymentImport(citizenExternalId: string): Buffer {
  const row = (i: number) =>
    JSON.stringify({
      externalId: `MEM-PAY-${i}`,
      citizenExternalId,
      benefitCode: "LOW_INCOME_ASSISTANCE",
      amountTiyin: 100_000 + i,
      period: "2026-11",
      creditedAt: "2026-11-05",
      remark: "",
    });
  const bare = ROWS * (row(ROWS).length + 1) + 2;
  const padding = Math.floor((IMPORT_BODY_LIMIT - 1_024 - bare) / ROWS);
  const remark = "x".repeat(padding);
  const parts = ["["];
  for (let i = 0; i < ROWS; i++) parts.push(`${i ? "," : ""}${row(i).replace('"remark":""', `"remark":"${remark}"`)}`);
  parts.push("]");
  return Buffer.from(parts.join(""));
}

/** Peak resident memory of a process (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

describe("a maximum-size import under the production heap limit", () => {
  it("completes a 64 MiB JSON payment import with --max-old-space-size=256 while USSD keeps answering", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mc-import-memory-"));
    let db: TestDatabase | undefined;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    if (postgresUrl()) db = await createTestDatabase();
    const child = spawn(process.execPath, [...PRODUCTION_HEAP, "--import", "tsx", "app/main.ts"], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        LOG_LEVEL: "warn",
        HOST: "127.0.0.1",
        PORT: String(port),
        API_TOKENS: `backoffice:${TOKEN}`,
        API_RATE_LIMIT_PER_MINUTE: "0",
        RATE_LIMIT_STEPS_PER_MINUTE: "0",
        NOTIFY_WORKER: "off",
        ...(db?.target.kind === "postgres" ? { DATABASE_URL: db.target.url } : { DATA_DIR: dataDir }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = once(child, "exit");
    try {
      await waitForHttp(`${base}/healthz`, 120_000);
      const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
      const beneficiary = await fetch(`${base}/api/v1/beneficiaries/import`, {
        method: "POST",
        headers,
        body: JSON.stringify([{ externalId: "MEM-CIT-1", phone: "+998935550001", locale: "uz" }]),
      });
      expect(beneficiary.status, await beneficiary.text()).toBe(200);

      const body = maximumPaymentImport("MEM-CIT-1");
      expect(body.length).toBeLessThanOrEqual(IMPORT_BODY_LIMIT);
      expect(body.length).toBeGreaterThan(IMPORT_BODY_LIMIT - 64 * 1024);

      // One call before the import, so the first-step costs of a fresh process (compiling the USSD
      // path, opening connections) are not counted against the import.
      const dial = (i: number) =>
        fetch(`${base}/ussd`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            sessionId: `mem-${i}`,
            serviceCode: "*1146#",
            phoneNumber: `+99894${String(1_000_000 + i).slice(-7)}`,
            networkCode: "99801",
            text: "",
          }).toString(),
        });
      expect(await (await dial(0)).text()).toMatch(/^CON /);

      let importing = true;
      const started = Date.now();
      const imported = fetch(`${base}/api/v1/payments/import`, { method: "POST", headers, body }).finally(() => {
        importing = false;
      });
      // A caller dials in every 250 ms while the import runs; each must be answered.
      const ussd: { ms: number; text: string }[] = [];
      for (let i = 1; importing; i++) {
        const t = Date.now();
        const res = await dial(i);
        ussd.push({ ms: Date.now() - t, text: await res.text() });
        if (process.env.DEBUG_IMPORT) console.info(`ussd at ${t - started} ms took ${Date.now() - t} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const res = await imported;
      const seconds = (Date.now() - started) / 1000;
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toEqual({ received: ROWS, created: ROWS, duplicates: 0, notifications: ROWS });
      expect(child.exitCode).toBeNull();
      expect(ussd.length).toBeGreaterThan(3);
      expect(ussd.filter((u) => !u.text.startsWith("CON "))).toEqual([]);
      const slowest = Math.max(...ussd.map((u) => u.ms));
      const peak = await peakRssMiB(child.pid as number);
      console.info(
        `64 MiB import of ${ROWS} payments: ${seconds.toFixed(1)} s, peak RSS ${peak.toFixed(0)} MiB; ` +
          `${ussd.length} USSD requests meanwhile, slowest ${slowest} ms`,
      );
      // Parsing the 64 MiB array whole blocked the event loop: the slowest answer took 7.4 s then.
      expect(slowest).toBeLessThan(5_000);
    } finally {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await db?.close();
      await rm(dataDir, { recursive: true, force: true });
      if (child.exitCode !== 0 && child.exitCode !== null) console.error(output);
    }
  }, 180_000);
});
