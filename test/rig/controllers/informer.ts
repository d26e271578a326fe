// A shared informer (list + watch + cache) that restarts its watch after errors, as client-go's reflector does.
import {
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { errorText, type Log } from "./kube.js";

export type Handler<T> = (obj: T) => void;

export class SharedInformer<T extends KubernetesObject> {
  private readonly informer;
  private stopped = false;
  /** True once a list has landed in the cache. */
  synced = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly handlers: { add: Handler<T>[]; update: Handler<T>[]; delete: Handler<T>[] } = {
    add: [],
    update: [],
    delete: [],
  };

  constructor(
    kc: KubeConfig,
    readonly path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly log: Log,
  ) {
    this.informer = makeInformer<T>(kc, path, async () => {
      const result = await list();
      setImmediate(() => (this.synced = true));
      return result;
    });
    this.informer.on("add", (o) => this.dispatch("add", o));
    this.informer.on("update", (o) => this.dispatch("update", o));
    this.informer.on("delete", (o) => this.dispatch("delete", o));
    this.informer.on("error", (err) => {
      if (this.stopped) return;
      this.log(`informer ${path}: ${errorText(err)}; restarting`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopped) this.informer.start().catch(() => undefined);
      }, 300);
    });
  }

  on(verb: "add" | "update" | "delete", h: Handler<T>): void {
    this.handlers[verb].push(h);
  }

  /** Add + update + delete. */
  onChange(h: Handler<T>): void {
    this.on("add", h);
    this.on("update", h);
    this.on("delete", h);
  }

  private dispatch(verb: "add" | "update" | "delete", obj: T): void {
    for (const h of this.handlers[verb]) {
      try {
        h(obj);
      } catch (err) {
        this.log(`informer ${this.path} ${verb} handler: ${errorText(err)}`);
      }
    }
  }

  /** Resolves once the first list is in the cache and the watch is open. */
  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  list(namespace?: string): T[] {
    return [...this.informer.list(namespace)];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }
}
