/**
 * Work done in rounds in the background (claiming outbox rows, topping up the queue): a round
 * that came back full is followed at once, any other after `everyMs` or when woken. stop() lets
 * the round in progress finish.
 */
export class Rounds {
  private loop: Promise<void> | undefined;
  private running = false;
  private wakeUp: (() => void) | undefined;

  constructor(
    /** One round; true when it did a full batch and more is likely waiting. */
    private readonly round: () => Promise<boolean>,
    private readonly everyMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Starts the next round now. */
  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let full = false;
      try {
        full = await this.round();
      } catch (err) {
        this.onError(err);
      }
      if (this.running && !full) await this.pause(this.everyMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
