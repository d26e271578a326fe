// Upload slots: at most `concurrency` uploads at once. A core of a crash with nothing in storage yet goes before
// more cores of crashes already stored, so a storm's cores never hold back another crash's first core.
export class UploadSlots {
  private running = 0;
  private readonly urgent: (() => void)[] = [];
  private readonly later: (() => void)[] = [];

  constructor(private limit: number) {}

  set concurrency(n: number) {
    this.limit = Math.max(1, n);
    while (this.running < this.limit && this.next()) this.running++;
  }

  async run<T>(fn: () => Promise<T>, urgent: boolean): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((r) => (urgent ? this.urgent : this.later).push(r));
    try {
      return await fn();
    } finally {
      // the slot passes to the next waiter, or is freed
      if (!this.next()) this.running--;
    }
  }

  private next(): boolean {
    const wake = this.urgent.shift() ?? this.later.shift();
    wake?.();
    return wake !== undefined;
  }
}
