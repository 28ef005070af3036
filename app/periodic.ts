/**
 * Runs `task` once now and then every `everyMs` (hourly by default), without keeping the process
 * alive. The task reports its own failures: the database may be down for a while, and the next
 * round simply tries again.
 */
export function runPeriodically(task: () => Promise<void>, everyMs = 3_600_000): { stop(): void } {
  void task();
  const timer = setInterval(() => void task(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
