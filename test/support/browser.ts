import { type Browser, chromium } from "playwright-core";
import { chromiumPath } from "./servers.js";

/**
 * Debian's Chromium (the project never downloads a browser); tests that need it go through
 * `requireServer("chromium")`.
 * Headless and quiet: this machine's network is closed, so background connections are turned off.
 */
export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("chromium not found: see requireServer in test/support/servers.ts");
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
