/**
 * The logger the core and the channels write to. Deliberately small: pino's Logger fits it, and
 * a channel or a test can pass anything with these methods without depending on app/.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
