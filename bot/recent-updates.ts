/**
 * The update ids this process has already taken in, oldest forgotten first. Telegram redelivers
 * an update when our answer to the webhook was late or lost; this catches the redelivery before
 * any work is done. (The citizen conversation also remembers recent ids in its session, which
 * covers restarts and other instances.)
 */
export class RecentUpdates {
  private readonly ids = new Set<number>();

  constructor(private readonly capacity = 10_000) {}

  /** True the first time an id is offered. */
  admit(updateId: number): boolean {
    if (this.ids.has(updateId)) return false;
    this.ids.add(updateId);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}
