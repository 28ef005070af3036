import { type AppConfig, ConfigError, loadConfig } from "./config.js";
import type { Logger } from "./logger.js";

/** How long a shutdown may take before the process exits anyway. */
const SHUTDOWN_BOUND_MS = 15_000;

/**
 * Runs a program's `main`: an invalid environment stops it with one line naming the variable,
 * any other start-up failure with one line too, both with exit code 1.
 */
export function runProgram(name: string, main: (config: AppConfig) => Promise<void>): void {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }
  main(config).catch((err: unknown) => {
    process.stderr.write(`${name}: start-up failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}

/**
 * On SIGTERM or SIGINT, runs `close` once and exits 0; exits 1 if it fails or has not finished
 * within 15 s (a dependency that no longer answers, Redis gone say, must not keep the process alive).
 * Returns the same shutdown, for a stop asked otherwise (a cluster worker told by its primary).
 */
export function closeOnSignals(logger: Logger, message: string, close: () => Promise<void>): () => void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, message);
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${SHUTDOWN_BOUND_MS / 1000} s: exiting`);
      process.exit(1);
    }, SHUTDOWN_BOUND_MS).unref();
    try {
      await close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return () => void shutdown("primary");
}
