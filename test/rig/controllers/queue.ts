// A rate-limited work queue like client-go's: a key is never processed by two workers at once, adds while it is
// processing re-run it afterwards, failures retry with exponential backoff.
import { errorText, type Log } from "./kube.js";

/** A handler may return a number of milliseconds after which the key is looked at again. */
export type Reconcile = (key: string) => Promise<number | void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly reconcile: Reconcile,
    private readonly log: Log,
    private readonly ready: () => boolean = () => true,
    private readonly workers = 4,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, ms),
    );
  }

  /** Takes no new work and resolves once the reconciles already running have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    await Promise.all(this.inFlight);
  }

  /** Resolves when nothing is queued or running (timers aside). */
  get idle(): boolean {
    return this.queue.length === 0 && this.running === 0;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.workers && this.queue.length > 0) {
      if (!this.ready()) {
        setTimeout(() => this.pump(), 50);
        return;
      }
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      const run = this.run(key);
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const after = await this.reconcile(key);
      this.failures.delete(key);
      if (typeof after === "number" && after >= 0) this.addAfter(key, after);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(50 * 2 ** n, 5000);
      if (!this.stopped)
        this.log(`${this.name} ${key}: ${errorText(err)} (retry ${n} in ${delay}ms)`);
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirtyWhileProcessing.delete(key)) this.add(key);
      this.pump();
    }
  }
}
