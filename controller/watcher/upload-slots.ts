// Upload slots: at most `concurrency` uploads at once, and (from 2 slots on) one of them kept for urgent cores (the
// first core of a crash with nothing in storage yet): a storm's long uploads never hold back another crash, and an
// urgent core waiting goes before the others.
export class UploadSlots {
  private running = 0;
  private readonly urgent: (() => void)[] = [];
  private readonly later: (() => void)[] = [];

  constructor(private limit: number) {}

  set concurrency(n: number) {
    this.limit = Math.max(1, n);
    this.pump();
  }

  async run<T>(fn: () => Promise<T>, urgent: boolean): Promise<T> {
    if (this.canRun(urgent)) this.running++;
    else await new Promise<void>((r) => (urgent ? this.urgent : this.later).push(r)); // pump() counts it
    try {
      return await fn();
    } finally {
      this.running--;
      this.pump();
    }
  }

  private canRun(urgent: boolean): boolean {
    return this.running < (urgent || this.limit < 2 ? this.limit : this.limit - 1);
  }

  private pump(): void {
    for (;;) {
      const queue =
        this.urgent.length > 0 && this.canRun(true)
          ? this.urgent
          : this.urgent.length === 0 && this.later.length > 0 && this.canRun(false)
            ? this.later
            : undefined;
      if (!queue) return;
      this.running++;
      queue.shift()!();
    }
  }
}
