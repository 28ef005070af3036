import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../app/config.js";
import { createAppCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { makePinfl } from "../core/domain/pinfl.js";
import { gsmLength, isGsm7, toGsm7 } from "../core/i18n/gsm.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { GSM7_BUDGET } from "../ussd/render.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { MALICIOUS, Random } from "./support/fuzz.js";

/**
 * ≥ 10,000 generated USSD callbacks, from plausible sessions typing garbage to bodies no gateway
 * would send: never a 5xx, every answer a valid screen within the budget, nothing written for a
 * refused request.
 */
const SEED = 20_261_125;
const UCS2_BUDGET = 150;
const SESSION_WALKS = 5_004;
const BAD_FIELDS = 2_500;
const RAW_BODIES = 2_500;
const LANES = 12;

/** What the server logged at error level: an internal failure answered with an apology shows up here. */
const errors: string[] = [];
let db: TestDatabase;
let app: FastifyInstance;
const translator = new Translator();

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  const config = loadConfig({
    NODE_ENV: "test",
    RATE_LIMIT_STEPS_PER_MINUTE: "0",
    // A budget below the 7-bit one, so the UCS-2 limit is checked for itself.
    USSD_MAX_CHARS_UCS2: String(UCS2_BUDGET),
  });
  app = await buildServer({
    config,
    db,
    core: createAppCore(config, db),
    // Contracts, not speed: on a busy machine a step can take longer than the gateway's deadline,
    // and its apology would read as a failure here (test/faults-database.test.ts pins the deadline down).
    ussd: { stepDeadlineMs: 60_000 },
    logger: createLogger("error", {
      write: (line: string) => {
        errors.push(line);
      },
    }),
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.close();
});

interface Request {
  /** What it is, for the failure message. */
  label: string;
  payload: string | Buffer;
  contentType: string | null;
}

interface Answer {
  request: Request;
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

const FORM = "application/x-www-form-urlencoded";
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const valid = (sessionId: string, phoneNumber: string, text: string) => ({
  sessionId,
  serviceCode: "*1146#",
  phoneNumber,
  networkCode: "63902",
  text,
});

/** One new input as a person (or a broken handset) might type it. */
function input(rnd: Random): string {
  return rnd.weighted<() => string>([
    [() => String(rnd.int(1, 9)), 40],
    [() => rnd.pick(["0", "00", "98", "1", "2"]), 12],
    [() => rnd.pick(MALICIOUS), 18],
    [() => rnd.unicode(rnd.int(1, 40)), 6],
    [() => rnd.codeUnits(rnd.int(1, 20)), 4],
    [() => rnd.controlChars(rnd.int(1, 5)), 3],
    [() => String(rnd.int(10_000_000_000_000, 99_999_999_999_999)), 2],
    [
      () =>
        makePinfl(
          new Date(Date.UTC(rnd.int(1940, 2005), rnd.int(0, 11), rnd.int(1, 28))),
          rnd.chance(0.5),
          rnd.int(1, 999_999),
        ),
      5,
    ],
    [() => `${rnd.int(1, 31)}.${rnd.int(1, 12)}.${rnd.int(2020, 2030)}`, 3],
    [() => String(rnd.int(0, 50_000_000)), 4],
    [() => "*".repeat(rnd.int(1, 300)), 2],
    [() => "x".repeat(rnd.int(100, 900)), 2],
    [() => `Navoiy ${rnd.int(1, 99)}*${rnd.int(1, 9)}`, 1],
  ])();
}

/**
 * A lane of plausible sessions that type anything: its own numbers and sessions, each request
 * carrying the whole history as the gateway does (sometimes a retry, sometimes a rewritten history).
 * The next input is chosen from the screen on display, mostly a valid one, so the walk gets deep
 * into the flows (applications, visits) and the garbage lands in every kind of field.
 */
class Walker {
  private readonly phones: string[];
  private readonly sessions = new Map<number, { id: string; phone: string; inputs: string[]; screen: string }>();
  private opened = 0;
  private current = -1;

  constructor(
    private readonly lane: number,
    private readonly rnd: Random,
  ) {
    this.phones = Array.from({ length: 14 }, (_, i) => `+99890${String(lane).padStart(2, "0")}${10_000 + i}`);
  }

  next(): Request {
    const rnd = this.rnd;
    const slot = rnd.int(0, 39);
    this.current = slot;
    let session = this.sessions.get(slot);
    if (!session || session.screen.startsWith("END ") || session.inputs.join("*").length > 1_500 || rnd.chance(0.03)) {
      this.opened++;
      const prefix = rnd.chance(0.15) ? rnd.pick(["1", "2", "3", "4", "5", "6", "7", "8", "99", "3*1"]) : "";
      session = {
        id: `ATUid_fuzz_${this.lane}_${this.opened}`,
        phone: rnd.pick(this.phones),
        inputs: prefix ? [prefix] : [],
        screen: "",
      };
      this.sessions.set(slot, session);
    } else {
      const mode = rnd.weighted([
        ["append", 90],
        ["retry", 6],
        ["rewrite", 4],
      ] as const);
      if (mode === "append") session.inputs.push(this.answer(session.screen));
      if (mode === "rewrite") session.inputs.splice(0, rnd.int(1, session.inputs.length), input(rnd));
    }
    const text = session.inputs.join("*");
    return {
      label: `walk ${session.id} ${JSON.stringify(text.slice(-80))}`,
      payload: form(valid(session.id, session.phone, text)),
      contentType: FORM,
    };
  }

  /** Remembers the screen the last request got. */
  saw(answer: Answer) {
    const session = this.sessions.get(this.current);
    if (session) session.screen = answer.status === 200 ? answer.body : "END ";
  }

  private answer(screen: string): string {
    const rnd = this.rnd;
    const numbers = [...screen.matchAll(/\n(\d+)\. /g)].map((m) => m[1] as string);
    const options = numbers.filter((n) => !["0", "00", "98"].includes(n));
    if (options.length > 0 && rnd.chance(0.75)) {
      return rnd.chance(0.85) ? rnd.pick(options) : rnd.pick(numbers);
    }
    if (/JShShIR|ЖШШИР|ПИНФЛ/.test(screen) && rnd.chance(0.6)) {
      const born = new Date(Date.UTC(rnd.int(1940, 2005), rnd.int(0, 11), rnd.int(1, 28)));
      return makePinfl(born, rnd.chance(0.5), this.lane * 100_000 + rnd.int(1, 99_999));
    }
    if (options.length === 0 && rnd.chance(0.5)) {
      return rnd.weighted<() => string>([
        [() => String(rnd.int(0, 12)), 4],
        [() => String(rnd.int(100_000, 9_000_000)), 2],
        [() => `Navoiy ${rnd.int(1, 99)}*${rnd.int(1, 9)} ${rnd.pick(MALICIOUS)}`, 3],
        [() => `${rnd.pick(MALICIOUS)} ${rnd.unicode(rnd.int(3, 30))}`, 3],
        [() => "A".repeat(rnd.int(3, 200)), 1],
      ])();
    }
    return input(rnd);
  }
}

/** Well-formed bodies with a field missing, too long or malformed: refused before the engine. */
function badFields(rnd: Random, out: Request[]) {
  const base = () => valid(`ATUid_bad_${rnd.int(0, 1e9)}`, `+99891${rnd.int(1_000_000, 9_999_999)}`, "1");
  const breakers: [string, () => Record<string, string>][] = [
    [
      "missing field",
      () => {
        const body: Record<string, string> = base();
        delete body[rnd.pick(["sessionId", "serviceCode", "phoneNumber", "networkCode", "text"])];
        return body;
      },
    ],
    ["huge sessionId", () => ({ ...base(), sessionId: "A".repeat(rnd.int(129, 20_000)) })],
    ["sessionId characters", () => ({ ...base(), sessionId: `ATUid_${rnd.pick(MALICIOUS)}${rnd.unicode(3)}` })],
    ["empty sessionId", () => ({ ...base(), sessionId: "" })],
    ["phone garbage", () => ({ ...base(), phoneNumber: `${rnd.pick(MALICIOUS)}x` })],
    ["huge phone", () => ({ ...base(), phoneNumber: "9".repeat(rnd.int(33, 5_000)) })],
    ["serviceCode garbage", () => ({ ...base(), serviceCode: `*1146#${rnd.pick(["a", "<", "'", " "])}` })],
    ["networkCode garbage", () => ({ ...base(), networkCode: `63902${rnd.pick(["'", "<b>", " ", "%"])}` })],
    ["text of 10 KB", () => ({ ...base(), text: rnd.unicode(rnd.int(2_001, 10_240)) })],
    ["text of * floods", () => ({ ...base(), text: "*".repeat(rnd.int(2_001, 20_000)) })],
  ];
  for (let i = 0; i < BAD_FIELDS; i++) {
    const [label, make] = rnd.pick(breakers);
    out.push({ label, payload: form(make()), contentType: FORM });
  }
}

/** Bodies no gateway sends: bytes that are not UTF-8, broken encodings, duplicates, other media types. */
function rawBodies(rnd: Random, out: Request[]) {
  const fields = () => valid(`ATUid_raw_${rnd.int(0, 1e9)}`, `+99893${rnd.int(1_000_000, 9_999_999)}`, "");
  const makers: [string, () => Omit<Request, "label">][] = [
    [
      "invalid UTF-8 bytes",
      () => ({
        payload: Buffer.concat([
          Buffer.from(`${form(fields())}`),
          Buffer.from(
            rnd.pick([[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80, 0x80]]),
          ),
        ]),
        contentType: FORM,
      }),
    ],
    [
      "invalid UTF-8 in a field",
      () => ({
        payload: Buffer.concat([
          Buffer.from(form({ ...fields(), text: "1" }).replace(/text=1$/, "text=")),
          Buffer.from([0xc0, 0xaf, 0xfe, 0x31]),
        ]),
        contentType: FORM,
      }),
    ],
    [
      "broken percent-encoding",
      () => ({
        payload: `${form(fields())}${rnd.pick(["%", "%E0%A4%A", "%zz", "%%%", "%u0041", "%C0%80", "%ED%A0%80"])}`,
        contentType: FORM,
      }),
    ],
    [
      "duplicate fields",
      () => ({
        payload: `${form(fields())}&text=${rnd.int(1, 9)}&sessionId=ATUid_dup&phoneNumber=${encodeURIComponent("+998901112233")}`,
        contentType: FORM,
      }),
    ],
    [
      "nested and bracketed keys",
      () => ({
        payload: `${form(fields())}&text[]=1&__proto__[x]=1&constructor[prototype][y]=2`,
        contentType: FORM,
      }),
    ],
    ["JSON body", () => ({ payload: JSON.stringify(fields()), contentType: "application/json" })],
    [
      "JSON with wrong types",
      () => ({
        payload: JSON.stringify({ ...fields(), text: rnd.pick([null, 1, [], {}, true]) as unknown }),
        contentType: "application/json",
      }),
    ],
    ["broken JSON", () => ({ payload: `{"sessionId": "${rnd.codeUnits(5)}`, contentType: "application/json" })],
    ["text/plain", () => ({ payload: form(fields()), contentType: "text/plain" })],
    [
      "multipart",
      () => ({
        payload: `--x\r\nContent-Disposition: form-data; name="text"\r\n\r\n1\r\n--x--`,
        contentType: "multipart/form-data; boundary=x",
      }),
    ],
    [
      "XML",
      () => ({
        payload: '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
        contentType: "application/xml",
      }),
    ],
    ["no content type", () => ({ payload: form(fields()), contentType: null })],
    [
      "bogus content type",
      () => ({
        payload: form(fields()),
        contentType: rnd.pick(["x/y", ";;;", "application/x-www-form-urlencoded; charset=ebcdic", `${FORM}\u0000`]),
      }),
    ],
    ["empty body", () => ({ payload: "", contentType: FORM })],
    [
      "random bytes",
      () => ({
        payload: Buffer.from(Array.from({ length: rnd.int(1, 2_000) }, () => rnd.int(0, 255))),
        contentType: FORM,
      }),
    ],
    [
      "foreign number",
      () => ({
        payload: form({ ...fields(), phoneNumber: rnd.pick(["+254711082000", "+79161234567", "+1 (555) 010-0000"]) }),
        contentType: FORM,
      }),
    ],
  ];
  for (let i = 0; i < RAW_BODIES; i++) {
    const [label, make] = rnd.pick(makers);
    out.push({ label, ...make() });
  }
}

async function send(request: Request): Promise<Answer> {
  const res = await app.inject({
    method: "POST",
    url: "/ussd",
    payload: request.payload,
    headers: request.contentType === null ? {} : { "content-type": request.contentType },
  });
  return { request, status: res.statusCode, body: res.body, headers: res.headers };
}

type Planned = Request | "walk";

/** One lane in order (a session's requests never overlap, as with the gateway); lanes run side by side. */
async function runLane(plan: Planned[], walker: Walker | null): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const item of plan) {
    if (item === "walk") {
      if (!walker) throw new Error("a walk needs a walker");
      const answer = await send(walker.next());
      walker.saw(answer);
      out.push(answer);
    } else {
      out.push(await send(item));
    }
  }
  return out;
}

/** Why an answer breaks the contract, or null. */
function violation(a: Answer): string | null {
  if (a.status >= 500) return `status ${a.status}`;
  if (a.status !== 200) return null;
  if (!String(a.headers["content-type"]).startsWith("text/plain")) return `content type ${a.headers["content-type"]}`;
  if (!/^(CON|END) \S/.test(a.body)) return "not CON/END followed by text";
  const encoding = a.headers["x-ussd-encoding"] ?? (isGsm7(a.body) ? "gsm7" : "ucs2");
  if (encoding === "gsm7") {
    if (!isGsm7(a.body)) return "declared 7-bit but holds other characters";
    if (gsmLength(a.body) > GSM7_BUDGET) return `${gsmLength(a.body)} septets`;
  } else if (a.body.length > UCS2_BUDGET) {
    return `${a.body.length} UCS-2 characters`;
  }
  return null;
}

const counts = async () => ({
  sessions: await db.prisma.conversationSession.count(),
  citizens: await db.prisma.citizen.count(),
  applications: await db.prisma.application.count(),
  drafts: await db.prisma.draft.count(),
  outbox: await db.prisma.outbox.count(),
});

describe("USSD fuzzing", () => {
  // Only a guard against a hang: on a machine busy with other work the run itself took up to 70 s.
  it("answers 10,000 generated callbacks without a 5xx, always with a screen in the budget", {
    timeout: 180_000,
  }, async () => {
    const rnd = new Random(SEED);
    const plans: Planned[][] = Array.from({ length: LANES }, () =>
      Array.from({ length: SESSION_WALKS / LANES }, () => "walk" as const),
    );
    const malformed: Request[] = [];
    badFields(rnd, malformed);
    rawBodies(rnd, malformed);
    malformed.forEach((request, i) => {
      const plan = plans[i % LANES] as Planned[];
      plan.splice(rnd.int(0, plan.length), 0, request);
    });
    const total = plans.reduce((n, plan) => n + plan.length, 0);
    expect(total).toBeGreaterThanOrEqual(10_000);

    const answers = (
      await Promise.all(plans.map((plan, lane) => runLane(plan, new Walker(lane, new Random(SEED + lane + 1)))))
    ).flat();
    expect(answers).toHaveLength(total);
    expect(errors.slice(0, 3)).toEqual([]);
    const apologies = new Set(
      (["uz", "uz-Cyrl", "ru"] as const).map((l) => {
        const text = translator.t(l, "errors.unavailable");
        return `END ${l === "uz" ? toGsm7(text) : text}`;
      }),
    );
    expect(
      answers
        .filter((a) => apologies.has(a.body))
        .map((a) => a.request.label)
        .slice(0, 5),
    ).toEqual([]);
    const broken = answers
      .map((a) => ({ why: violation(a), label: a.request.label, body: a.body.slice(0, 200) }))
      .filter((b) => b.why !== null);
    expect(broken.slice(0, 10)).toEqual([]);

    // The generator reached deep into the flows, not only the first screen.
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(SESSION_WALKS * 0.9);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(BAD_FIELDS * 0.9);
    expect(await db.prisma.citizen.count({ where: { locale: { not: null } } })).toBeGreaterThan(20);
    expect(await db.prisma.draft.count()).toBeGreaterThan(0);
    expect(await db.prisma.application.count()).toBeGreaterThan(5);
    expect(await db.prisma.visitRequest.count()).toBeGreaterThan(5);

    // Every refused request, sent again on its own: it changes nothing.
    const refused = answers.filter((a) => a.status >= 400).map((a) => a.request);
    expect(refused.length).toBeGreaterThan(BAD_FIELDS);
    const before = await counts();
    const again = (
      await Promise.all(
        Array.from({ length: LANES }, (_, lane) =>
          runLane(
            refused.filter((_, i) => i % LANES === lane),
            null,
          ),
        ),
      )
    ).flat();
    expect(again.filter((a) => a.status < 400 || a.status >= 500).map((a) => a.request.label)).toEqual([]);
    expect(await counts()).toEqual(before);

    // Still serving.
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
  });
});
