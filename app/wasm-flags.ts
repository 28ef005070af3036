import { setFlagsFromString } from "node:v8";

/**
 * Imported first by the entry points (app/main.ts, app/worker.ts), before Prisma compiles its
 * query compiler (WebAssembly, on the first query): V8 otherwise also compiles that module with
 * its optimising tier, which holds about 50 MB of resident memory in every process (measured
 * after 200 Prisma queries: 183 MB against 120 MB) for no speed that shows, since the flows' hot
 * paths run plain SQL and a Prisma query cost the same CPU either way (1.2–1.4 ms on the bench
 * machine). Cluster workers run this module again, so every process gets the flag.
 */
setFlagsFromString("--liftoff-only");
