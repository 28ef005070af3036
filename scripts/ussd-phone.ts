// A terminal USSD phone: `npm run ussd -- --phone +998901234567 [--url http://localhost:3000]
// [--dial "*1146*3#"] [--token <USSD_CALLBACK_TOKEN>]`. It speaks the Africa's Talking callback
// protocol to a running server (form body, the whole input history joined by "*" in `text`),
// shows each screen and reads the next input; an END screen closes the session.
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    phone: { type: "string", default: "+998901234567" },
    url: { type: "string", default: "http://localhost:3000" },
    dial: { type: "string", default: "*1146#" },
    token: { type: "string" },
    network: { type: "string", default: "63902" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm run ussd -- --phone +998901234567 [--url http://localhost:3000] [--dial "*1146*3#"] [--token T]\n',
  );
  process.exit(0);
}

/** "*1146*3#" is the service code *1146# with "3" already typed, as the gateway reports it. */
const parts = values.dial.trim().replace(/^\*/, "").replace(/#$/, "").split("*");
const serviceCode = `*${parts[0] ?? ""}#`;
const inputs = parts.slice(1).filter((p) => p !== "");
const sessionId = `TERM${randomBytes(6).toString("hex")}`;
const endpoint = new URL("/ussd", values.url);
if (values.token) endpoint.searchParams.set("token", values.token);

async function exchange(): Promise<{ text: string; ended: boolean }> {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      sessionId,
      serviceCode,
      phoneNumber: values.phone,
      networkCode: values.network,
      text: inputs.join("*"),
    }),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${body}`);
  const meta = [res.headers.get("x-ussd-locale"), res.headers.get("x-ussd-encoding"), res.headers.get("x-ussd-page")]
    .filter(Boolean)
    .join(" · ");
  process.stdout.write(
    `\n┌─ ${meta} · ${body.length} chars\n${body.replace(/^(CON|END) /, "").replace(/^/gm, "│ ")}\n└─\n`,
  );
  return { text: body, ended: body.startsWith("END") };
}

const rl = createInterface({ input: process.stdin, terminal: false });
// Lines typed (or piped) before the prompt are queued, not lost.
const lines = rl[Symbol.asyncIterator]();
try {
  process.stdout.write(`Dialling ${values.dial} from ${values.phone} (${endpoint.origin}); Ctrl+C hangs up.\n`);
  for (;;) {
    const { ended } = await exchange();
    if (ended) {
      process.stdout.write("Session ended.\n");
      break;
    }
    process.stdout.write("> ");
    const line = await lines.next();
    if (line.done) {
      process.stdout.write("\nHung up.\n");
      break;
    }
    inputs.push(line.value.trim());
  }
} catch (err) {
  process.stderr.write(`ussd phone: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  rl.close();
}
