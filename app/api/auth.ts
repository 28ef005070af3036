import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiToken } from "../config.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Compares two secrets in constant time. Both are hashed first, so the buffers always have the
 * same length and the comparison reveals neither content nor length.
 */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The configured token a presented secret matches, or null. Every token is compared, whether or
 * not an earlier one matched, so the time taken does not tell which one (or whether any) did.
 */
export function matchToken(tokens: readonly ApiToken[], presented: string): ApiToken | null {
  let found: ApiToken | null = null;
  for (const token of tokens) {
    const equal = secretsEqual(token.token, presented);
    if (equal && found === null) found = token;
  }
  return found;
}

/** The secret of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = header ? /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header) : null;
  return m?.[1] ?? null;
}
