import { createInterface } from "node:readline";
import { startEmbeddedServer } from "../../core/db/embedded-server.js";

/**
 * One process starting the embedded server on DATA_DIR (argv[2]) when told to, for the tests of two
 * processes racing on one DATA_DIR: it loads everything first and prints "ready", so that a "go"
 * line sent to several of them starts them at the same moment, not tsx's start-up apart. It then
 * prints the outcome as one JSON line, and stops the server (if it owns it) on "stop".
 */
const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: embedded-start-child.ts <DATA_DIR>");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value as string | undefined;

console.log("ready");
if ((await next()) === "go") {
  try {
    const server = await startEmbeddedServer({
      dataDir,
      // Test-only speed, as test/support/global-setup.ts: durability is not what these tests check.
      initNoSync: true,
      settings: { fsync: false, synchronous_commit: false, full_page_writes: false },
    });
    console.log(JSON.stringify({ how: server.how, pid: server.pid, port: server.port, url: server.url }));
    if ((await next()) === "stop") await server.stop();
    console.log(JSON.stringify({ stopped: true }));
  } catch (err) {
    console.log(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    process.exitCode = 1;
  }
}
process.exit();
