// The Service ClusterIP allocator: 10.96.0.0/16, skipping addresses already taken.
import type { AnyObj } from "./context.js";
import type { KubeObject, Store } from "./store.js";

export class ClusterIps {
  private next = 10;

  constructor(private readonly store: Store) {}

  /** Fills spec.clusterIP(s) of a Service being created (headless and ExternalName services get none). */
  allocate(o: KubeObject): void {
    const spec = (o as AnyObj).spec;
    if (spec.type === "ExternalName") return;
    if (spec.clusterIP === "None") {
      spec.clusterIPs = ["None"];
      return;
    }
    if (!spec.clusterIP) {
      const used = new Set(
        this.store.list<KubeObject & AnyObj>("services").map((s) => s.spec?.clusterIP),
      );
      let ip: string;
      do {
        const n = this.next++;
        ip = `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      } while (used.has(ip));
      spec.clusterIP = ip;
    }
    spec.clusterIPs = [spec.clusterIP];
  }
}
