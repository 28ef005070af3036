import type { Api, Transformer } from "grammy";

/** grammY types its signals with the abort-controller shim's class; at run time they are Node's. */
export type GrammySignal = Parameters<Api["sendMessage"]>[3];

export interface RetrySettings {
  /** Calls made in all, the first included (1: never retried here). */
  maxAttempts: number;
  /** Longest wait between two calls; a longer `retry_after` is returned to the caller at once. */
  maxDelaySeconds: number;
}

/**
 * Telegram's own notion of "not now" (429 retry_after, 5xx) retried a few times, briefly, in
 * place of @grammyjs/auto-retry: that one retries network errors (HttpError) for ever whatever
 * its maxRetryAttempts says, with waits growing to an hour, so an outage held a notification
 * round and outlived the outbox's claim. Here every call is bounded: at most `maxAttempts`
 * calls, each limited by the client's timeoutSeconds, waits of at most `maxDelaySeconds`, and
 * network errors and timeouts are never retried here; they go back to the caller (the outbox
 * retries with its own backoff; a chat reply is simply lost, as a dropped message would be).
 * An aborted signal stops at once.
 */
export function boundedRetry(settings: RetrySettings): Transformer {
  return async (prev, method, payload, signal) => {
    for (let attempt = 1; ; attempt++) {
      const result = await prev(method, payload, signal);
      if (result.ok || attempt >= settings.maxAttempts || signal?.aborted) return result;
      const wait = retryWait(result, attempt, settings.maxDelaySeconds);
      if (wait === null || !(await pause(wait, signal as unknown as AbortSignal | undefined))) return result;
    }
  };
}

/** Seconds to wait before calling again after this refusal, or null when it is not worth it. */
export function retryWait(
  result: { error_code: number; parameters?: { retry_after?: number } },
  attempt: number,
  maxDelaySeconds: number,
): number | null {
  const retryAfter = result.parameters?.retry_after;
  if (typeof retryAfter === "number") return retryAfter <= maxDelaySeconds ? retryAfter : null;
  if (result.error_code >= 500) return Math.min(maxDelaySeconds, attempt);
  return null;
}

/** False when the signal aborted the wait. */
function pause(seconds: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      resolve(completed);
    };
    const aborted = () => done(false);
    const timer = setTimeout(() => done(true), seconds * 1000);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}
