import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeepAliveClient } from "../bench/http-client.js";
import { parseOptions, UsageError } from "../bench/options.js";
import { kindFor, PoolCursor, phoneOf, poolSizes, pools, SESSION_KINDS } from "../bench/population.js";
import { metricValue } from "../bench/processes.js";
import { type CpuProfile, hitsWithin, summarise } from "../bench/profile.js";
import {
  type BackendReport,
  callsPerScreen,
  callsPerUpdate,
  embeddedVerdict,
  ISSUE_CEILING,
  type PointResult,
  paymentDayVerdicts,
  type TelegramPoint,
  targets,
} from "../bench/report.js";
import { buttonFor, hasNextPage, TELEGRAM_SCRIPTS, USSD_SCRIPTS, ussdText } from "../bench/scenarios.js";
import { cutTimeline, percentile, Samples } from "../bench/stats.js";
import { BenchBotApi } from "../bench/tg-double.js";
import { normalizeUzPhone } from "../core/domain/phone.js";

describe("benchmark population and sessions", () => {
  it("keeps the 60/20/10/10 mix in every 20 consecutive sessions", () => {
    for (const offset of [0, 7, 133]) {
      const counts = Object.fromEntries(SESSION_KINDS.map((k) => [k, 0]));
      for (let n = offset; n < offset + 20; n++) counts[kindFor(n)] = (counts[kindFor(n)] ?? 0) + 1;
      expect(counts).toEqual({ payments: 12, status: 4, visit: 2, apply: 2 });
    }
  });

  it("gives every seeded citizen a valid, distinct Uzbek number", () => {
    const phones = [0, 1, 39_999].map(phoneOf);
    expect(phones.map(normalizeUzPhone)).toEqual(phones);
    expect(new Set(phones).size).toBe(3);
  });

  it("lays the pools end to end and hands out each citizen once before wrapping", () => {
    const layout = pools(poolSizes(1000));
    expect(layout.payments.first).toBe(0);
    expect(layout.status.first).toBe(layout.payments.size);
    expect(layout.apply.first + layout.apply.size).toBe(1000);
    const cursor = new PoolCursor(layout.apply, layout.apply.size - 1);
    const last = cursor.take();
    expect(cursor.wrapped).toBe(false);
    expect(cursor.take()).toBe(layout.apply.first);
    expect(last).toBe(999);
    expect(cursor.wrapped).toBe(true);
  });

  it("posts the gateway's text as every input after the dial joined by *", () => {
    const apply = USSD_SCRIPTS.apply.inputs;
    expect(ussdText(apply, 0)).toBe("");
    expect(ussdText(apply, 3)).toBe("1*1*4");
    expect(ussdText(USSD_SCRIPTS.visit.inputs, 4)).toBe("4*1*1*Navoiy ko'chasi 12");
  });

  it("expects CON on every step but the last, whose answer decides the session", () => {
    for (const kind of SESSION_KINDS) {
      const { inputs, expect: prefixes } = USSD_SCRIPTS[kind];
      expect(prefixes).toHaveLength(inputs.length);
      expect(prefixes.slice(0, -1).every((p) => p === "CON")).toBe(true);
      expect(TELEGRAM_SCRIPTS[kind].actions).toHaveLength(inputs.length);
    }
  });

  it("recognises a screen that continues on the next page", () => {
    expect(hasNextPage("CON Karta\n1. A\n98. Keyingi\n0. Orqaga")).toBe(true);
    expect(hasNextPage("END Karta 98 000 so'm")).toBe(false);
  });

  it("presses the option's own row and takes Back and Home from the navigation row", () => {
    const rows = [["o:4:0"], ["o:4:1"], ["n:4:back", "n:4:home"]];
    expect(buttonFor({ type: "press", option: 1 }, rows)).toBe("o:4:1");
    expect(buttonFor({ type: "back" }, rows)).toBe("n:4:back");
    expect(buttonFor({ type: "home" }, rows)).toBe("n:4:home");
    expect(buttonFor({ type: "back" }, [["n:5:home"]])).toBeNull();
    expect(buttonFor({ type: "press", option: 5 }, rows)).toBeNull();
  });
});

describe("benchmark statistics", () => {
  it("takes nearest-rank percentiles and counts steps above one second", () => {
    const samples = new Samples();
    for (let i = 1; i <= 2000; i++) samples.add(i);
    const s = samples.summary();
    expect([s.p50, s.p95, s.p99, s.max]).toEqual([1000, 1900, 1980, 2000]);
    expect(s.over1s).toBe(1000);
    expect(percentile([], 0.5)).toBe(0);
    expect(samples.histogram().reduce((a, b) => a + b, 0)).toBe(2000);
  });

  it("cuts a timeline into phases, a step at a boundary counting in the later one", () => {
    // Steps answered at t = 0…9 s, the slow ones while the import ran (2–5 s).
    const timeline = { at: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => 1_000_000 + s * 1000), ms: [] as number[] };
    timeline.ms = timeline.at.map((_, i) => (i >= 2 && i < 5 ? 400 : 5));
    const [before, during, after] = cutTimeline(timeline, [
      { name: "before", from: 1_000_000, to: 1_002_000 },
      { name: "import", from: 1_002_000, to: 1_005_000 },
      { name: "after", from: 1_005_000, to: 1_010_000 },
    ]);
    expect([before?.latency.count, during?.latency.count, after?.latency.count]).toEqual([2, 3, 5]);
    expect([before?.latency.max, during?.latency.p99, after?.latency.max]).toEqual([5, 400, 5]);
    expect(during?.seconds).toBe(3);
  });

  it("counts only the profile samples taken inside the measured window", () => {
    const profile: CpuProfile = {
      startTime: 1_000,
      endTime: 1_040,
      nodes: [
        { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: 0 }, children: [2, 3] },
        { id: 2, callFrame: { functionName: "startUp", url: "file:///p/app/main.ts", lineNumber: 0 } },
        { id: 3, callFrame: { functionName: "step", url: "file:///p/core/engine.ts", lineNumber: 9 } },
      ],
      samples: [2, 2, 3, 3],
      timeDeltas: [5, 5, 10, 10],
    };
    expect([...hitsWithin(profile, 1_015, 1_040)]).toEqual([[3, 2]]);
    const summary = summarise(profile, "/p/", { from: 1_015, to: 1_040 });
    expect(summary.functions.map((f) => [f.name, f.where, f.selfPercent])).toEqual([
      ["step", "core/engine.ts:10", 100],
    ]);
    expect(summary.areas).toEqual([{ area: "project: core/", selfPercent: 100 }]);
  });
});

describe("benchmark targets", () => {
  const point = (concurrency: number, over: Partial<PointResult> = {}): PointResult => ({
    mode: "ussd",
    concurrency,
    thinkMs: 0,
    windowMs: 10_000,
    steps: 25_000,
    stepsPerSecond: 2_500,
    latency: { count: 25_000, p50: 5, p95: 20, p99: 40, max: 300, mean: 8, over1s: 0 },
    histogram: [],
    errors: { network: 0, timeout: 0, status: {}, badPrefix: 0, noReply: 0, apology: 0 },
    errorsInRun: 0,
    slowAfterWarmup: 0,
    unexpected: 0,
    unexpectedSamples: [],
    sessionsCompleted: { payments: 0, status: 0, visit: 0, apply: 0 },
    totalSteps: 30_000,
    generatorCpuMsPerStep: 0.05,
    generatorLoopDelayMs: { p99: 12, max: 30 },
    windowMicros: { from: 0, to: 0 },
    taken: { payments: 0, status: 0, visit: 0, apply: 0 },
    wrapped: [],
    statements: 120_000,
    statementSeconds: 14,
    serverCpuSeconds: 10,
    dbCpuSeconds: 5,
    ...over,
  });
  const telegram = (over: Partial<TelegramPoint> = {}): TelegramPoint => ({
    ...point(50, { mode: "telegram", totalSteps: 1_000, serverCpuSeconds: 1.5 }),
    botApiCalls: { sendMessage: 400, editMessageText: 600 },
    botApiCallsPerSecond: 25,
    ...over,
  });
  const backend = (ussd: PointResult[], peakMb = 250, tg: TelegramPoint | null = telegram()): BackendReport => ({
    id: "postgres",
    label: "PostgreSQL",
    ussd,
    ...(tg ? { telegram: tg } : {}),
    memory: { afterStart: 200 * 1048576, startPeak: 220 * 1048576, loadPeak: peakMb * 1048576, end: 0 },
    serverErrorCount: 0,
    serverErrors: [],
  });

  const paced = (over: Partial<PointResult> = {}) => point(200, { thinkMs: 1_000, stepsPerSecond: 180, ...over });
  const apologies = (apology: number) => ({ network: 0, timeout: 0, status: {}, badPrefix: 0, noReply: 0, apology });

  it("are met when every figure is inside its bound", () => {
    expect(targets(backend([point(200), paced(), point(1000)])).map((v) => v.met)).toEqual(Array(8).fill(true));
  });

  it("judge capacity on the closed-loop point and people's latency on the paced one", () => {
    const slowWhenPaced = paced({ latency: { count: 1, p50: 20, p95: 45, p99: 60, max: 90, mean: 25, over1s: 0 } });
    // Listed first, the paced point is still not taken for the closed-loop one.
    const verdicts = targets(backend([slowWhenPaced, point(200), point(1000)]));
    expect(verdicts.map((v) => v.met)).toEqual([true, false, true, true, true, true, true, true]);
    expect(verdicts[1]?.measured).toBe("p99 60 ms at 180 steps/s");
    expect(targets(backend([point(200), point(1000)]))[1]?.met).toBeNull();
  });

  it("are missed by a slow p99, one answer above a second, an apology, or the memory peak", () => {
    const verdicts = targets(
      backend(
        [
          point(200, { latency: { count: 1, p50: 5, p95: 30, p99: 51, max: 90, mean: 8, over1s: 0 } }),
          point(1000, { latency: { count: 1, p50: 5, p95: 30, p99: 40, max: 1200, mean: 8, over1s: 1 } }),
        ],
        301,
      ),
    );
    expect(verdicts.map((v) => v.met)).toEqual([true, null, false, true, true, true, true, false]);
    const apologised = targets(backend([point(200, { errors: apologies(1) })]));
    expect(apologised[0]?.met).toBe(false);
    expect(apologised[2]?.met).toBeNull();
    // A slow step answered while draining, or an error outside the window, still misses the 1 s target.
    expect(targets(backend([point(200), point(1000, { slowAfterWarmup: 2 })]))[2]?.met).toBe(false);
  });

  it("allow apologies at 1,000 sessions only under 5 % of the answers", () => {
    expect(targets(backend([point(200), point(1000, { errors: apologies(1_000) })]))[2]?.met).toBe(true);
    expect(targets(backend([point(200), point(1000, { errors: apologies(1_300) })]))[2]?.met).toBe(false);
  });

  it("judge CPU per step against 0.5 ms of server and 0.4 ms of PostgreSQL, and Telegram per update", () => {
    const costly = point(200, { serverCpuSeconds: 16, dbCpuSeconds: 13 });
    const verdicts = targets(
      backend([costly], 250, telegram({ serverCpuSeconds: 2.5, botApiCalls: { sendMessage: 1_200 } })),
    );
    expect(verdicts.slice(3, 7).map((v) => v.met)).toEqual([false, false, false, false]);
    expect(verdicts[3]?.measured).toBe("0.53 ms");
    expect(verdicts[6]?.measured).toMatch(
      /^1\.20 calls per update; 1\.20 per screen, without the relay.s notifications \(0\.00 per update\)/,
    );
    expect(targets(backend([point(200)], 250, null))[5]?.met).toBeNull();
  });

  it("judge throughput and CPU against this run's ceiling, as the issue sets them, when it was measured", () => {
    // A machine half as fast as the issue's, measured by its bare-Fastify ceiling.
    const half = ISSUE_CEILING / 2;
    // 1,100 steps/s, 0.9 ms of server and 0.7 ms of PostgreSQL CPU a step, 3.5 ms an update.
    const slow = () =>
      backend(
        [point(200, { stepsPerSecond: 1_100, serverCpuSeconds: 27, dbCpuSeconds: 21 }), paced(), point(1000)],
        250,
        telegram({ serverCpuSeconds: 3.5 }),
      );
    const verdicts = targets(slow(), half);
    expect(verdicts.map((v) => v.met)).toEqual(Array(8).fill(true));
    expect(verdicts[0]?.measured).toMatch(
      /^1,100 steps\/s, 7\.0 % of this run's 15,75\d\/s \(2,200 steps\/s at the issue's\)$/,
    );
    expect(verdicts[3]?.measured).toBe("0.90 ms, within 1.00 ms at this run's ceiling (0.45 ms at the issue's)");
    // On a machine as fast as the issue's, the same figures miss every one of those targets.
    expect(
      targets(slow(), ISSUE_CEILING)
        .slice(0, 6)
        .map((v) => v.met),
    ).toEqual([false, true, true, false, false, false]);
  });

  it("take the idle server's own CPU out of Telegram's per-update figure, and say so", () => {
    const tg = telegram({ serverCpuSeconds: 2.5 });
    const idle = { ...backend([point(200)], 250, tg), idleServerCpuPerSecond: 0.05 };
    // 14 s of point at 50 ms a second: 0.7 s of the 2.5 s is the idle server's.
    expect(targets(idle)[5]).toMatchObject({
      met: true,
      measured: "1.80 ms (2.50 ms with the idle server's 50 ms a second)",
    });
    expect(targets(backend([point(200)], 250, tg))[5]).toMatchObject({ met: false, measured: "2.50 ms" });
  });

  it("judge Telegram on the point after the warm-up and give the warm-up's own figure beside it", () => {
    const tg = telegram({ serverCpuSeconds: 2.5 });
    // 60 s of warm-up, 2,000 updates, 9 s of CPU: 3 s of it the idle server's 50 ms a second.
    const warmup = point(50, {
      mode: "telegram",
      windowMs: 60_000,
      statementSeconds: 60,
      totalSteps: 2_000,
      serverCpuSeconds: 9,
    });
    const warmed = { ...backend([point(200)], 250, tg), idleServerCpuPerSecond: 0.05, telegramWarmup: warmup };
    expect(targets(warmed)[5]).toMatchObject({
      met: true,
      measured:
        "1.80 ms (2.50 ms with the idle server's 50 ms a second); 3.00 ms over the 60 s of the same load " +
        "before it, while the bot's code was still being compiled",
    });
  });

  it("count a reply keyboard's removal before a screen with buttons apart from the screens, and nothing else", () => {
    const removals = telegram({ botApiCalls: { sendMessage: 450, editMessageText: 600 }, keyboardRemovals: 50 });
    expect(callsPerUpdate(removals)).toBeCloseTo(1.05);
    expect(callsPerScreen(removals)).toBeCloseTo(1.0);
    expect(targets(backend([point(200)], 250, removals))[6]?.met).toBe(true);
    // A second message for any other reason still misses the target.
    const extra = telegram({ botApiCalls: { sendMessage: 450, editMessageText: 600 }, keyboardRemovals: 20 });
    expect(callsPerScreen(extra)).toBeCloseTo(1.03);
    expect(targets(backend([point(200)], 250, extra))[6]?.met).toBe(false);
  });

  it("leave the relay's notifications out of the calls per screen, and nothing else", () => {
    // 1,050 calls for 1,000 updates: 20 keyboard removals and 30 notifications the server says it sent.
    const counted = { botApiCalls: { sendMessage: 450, editMessageText: 600 }, keyboardRemovals: 20 };
    const notified = telegram({ ...counted, notificationsSent: 30 });
    expect(callsPerScreen(notified)).toBeCloseTo(1.0);
    expect(targets(backend([point(200)], 250, notified))[6]).toMatchObject({
      met: true,
      measured: expect.stringMatching(
        /^1\.05 calls per update; 1\.00 per screen, without the relay's notifications \(0\.03/,
      ),
    });
    // A callback answer Telegram was not given to make is one call more for its screen.
    const answered = telegram({
      ...counted,
      botApiCalls: { ...counted.botApiCalls, answerCallbackQuery: 10 },
      notificationsSent: 30,
    });
    expect(callsPerScreen(answered)).toBeCloseTo(1.01);
    expect(targets(backend([point(200)], 250, answered))[6]?.met).toBe(false);
  });

  it("judge Telegram's raw CPU when the idle rate measured would leave the updates nothing", () => {
    const tg = telegram({ serverCpuSeconds: 2.5 });
    expect(targets({ ...backend([point(200)], 250, tg), idleServerCpuPerSecond: 0.2 })[5]).toMatchObject({
      met: false,
    });
  });

  it("want the embedded default at 80 % of PostgreSQL's rate, and payment day drained at the limits", () => {
    const pg = backend([point(200, { stepsPerSecond: 1_000 })]);
    expect(embeddedVerdict(backend([point(200, { stepsPerSecond: 800 })]), pg).met).toBe(true);
    expect(embeddedVerdict(backend([point(200, { stepsPerSecond: 790 })]), pg).met).toBe(false);
    const day = (perSecond: number, sent = 45_000) => ({
      payments: 50_000,
      created: 50_000,
      importSeconds: 9,
      channels: [{ channel: "sms", total: 45_000, sent, drainSeconds: 190, perSecond, limitPerSecond: 250 }],
      ussd: paced({ latency: { count: 1, p50: 5, p95: 20, p99: 30, max: 90, mean: 8, over1s: 0 } }),
    });
    expect(paymentDayVerdicts(day(240)).map((v) => v.met)).toEqual([true, true]);
    expect(paymentDayVerdicts(day(200)).map((v) => v.met)).toEqual([false, true]);
    expect(paymentDayVerdicts(day(250, 44_999))[0]?.met).toBe(false);
  });
});

describe("benchmark options", () => {
  it("runs a short smoke run on PostgreSQL with --quick", () => {
    const o = parseOptions(["--quick"]);
    expect(o).toMatchObject({
      backends: ["postgres"],
      backendsGiven: false,
      duration: 2,
      server: "tsx",
      profile: false,
    });
    expect(parseOptions(["--quick", "--backends", "embedded"]).backends).toEqual(["embedded"]);
  });

  it("profiles with people's pauses unless told to profile closed-loop", () => {
    expect(parseOptions([]).profileThinkMs).toBe(1_000);
    expect(parseOptions(["--profile-think-ms", "0"]).profileThinkMs).toBe(0);
    expect(() => parseOptions(["--profile-think-ms", "-5"])).toThrow(UsageError);
    expect(() => parseOptions(["--profile-think-ms", "soon"])).toThrow(UsageError);
  });

  it("warms the bot's code for a minute of Telegram load before its point, none in a quick run", () => {
    expect(parseOptions([]).telegramWarmup).toBe(60);
    expect(parseOptions(["--quick"]).telegramWarmup).toBe(0);
    expect(parseOptions(["--telegram-warmup", "0"]).telegramWarmup).toBe(0);
    expect(() => parseOptions(["--telegram-warmup", "-1"])).toThrow(UsageError);
  });

  it("refuses unknown flags and populations too small for the concurrency", () => {
    expect(() => parseOptions(["--fast"])).toThrow(UsageError);
    expect(() => parseOptions(["--backends", "mysql"])).toThrow(UsageError);
    expect(() => parseOptions(["--citizens", "1000"])).toThrow(/at least 8 × the highest concurrency/);
  });
});

describe("benchmark HTTP client", () => {
  let server: Server;
  let connections = 0;
  let port = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url === "/chunked") {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("CON first ");
          res.end("and second");
        } else {
          res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "text/plain", "content-length": "7" });
          res.end("END ok!");
        }
      });
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reads sized and chunked answers over one kept-alive connection", async () => {
    const client = new KeepAliveClient("127.0.0.1", port, 5_000);
    const before = connections;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    expect(await client.post("/ussd", "text=", form)).toEqual({ status: 200, body: "END ok!" });
    expect(await client.post("/chunked", "text=1", form)).toEqual({ status: 200, body: "CON first and second" });
    expect(await client.post("/missing", "", form)).toEqual({ status: 404, body: "END ok!" });
    expect(connections - before).toBe(1);
    client.close();
  });

  it("fails a request when nothing listens", async () => {
    const client = new KeepAliveClient("127.0.0.1", 1, 1_000);
    await expect(client.post("/ussd", "", {})).rejects.toMatchObject({ kind: "network" });
  });
});

describe("benchmark reading the server's metrics", () => {
  it("sums a metric over its label sets and tells an absent one from zero", () => {
    const text = [
      "# HELP mc_ussd_apologies_total USSD callers answered the apology.",
      "# TYPE mc_ussd_apologies_total counter",
      'mc_ussd_apologies_total{reason="capacity"} 7',
      'mc_ussd_apologies_total{reason="deadline"} 2',
      "mc_db_queries_total 1234",
      "mc_db_queries_total_extra 99",
    ].join("\n");
    expect(metricValue(text, "mc_ussd_apologies_total")).toBe(9);
    expect(metricValue(text, "mc_db_queries_total")).toBe(1234);
    expect(metricValue(text, "mc_outbox_backlog")).toBeNull();
    const deliveries = [
      'mc_notification_deliveries_total{channel="telegram",outcome="sent"} 30',
      'mc_notification_deliveries_total{channel="telegram",outcome="retry"} 4',
      'mc_notification_deliveries_total{channel="sms",outcome="sent"} 700',
    ].join("\n");
    expect(metricValue(deliveries, "mc_notification_deliveries_total", { channel: "telegram", outcome: "sent" })).toBe(
      30,
    );
    expect(metricValue(deliveries, "mc_notification_deliveries_total", { outcome: "sent" })).toBe(730);
    expect(metricValue(deliveries, "mc_notification_deliveries_total", { channel: "email" })).toBeNull();
  });
});

describe("benchmark Bot API double", () => {
  it("counts the bot's keyboard-removal line apart, not a final screen that also removes the keyboard", async () => {
    const api = await new BenchBotApi(new Set(["✅ Qabul qilindi."])).start();
    try {
      const send = (body: object) =>
        fetch(`${api.url}/bot1:x/sendMessage`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ chat_id: 5, ...body }),
        }).then((r) => r.json());
      await send({ text: "✅ Qabul qilindi.", reply_markup: { remove_keyboard: true } });
      await send({ text: "Arizangiz qabul qilindi. Raqami: A-1", reply_markup: { remove_keyboard: true } });
      await send({ text: "✅ Qabul qilindi." });
      expect(api.keyboardRemovals).toBe(1);
      expect(api.calls.get("sendMessage")).toBe(3);
    } finally {
      await api.close();
    }
  });
});
