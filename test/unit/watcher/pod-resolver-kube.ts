// For the pod-resolver/events tests: the rig's API server, and a KubeConfig that counts the requests
// it authenticates (every API call and watch of client-node goes through applySecurityAuthentication).
import { KubeConfig } from "@kubernetes/client-node";

type RequestContextLike = { getUrl(): string; getHttpMethod(): string };

export class CountingKubeConfig extends KubeConfig {
  readonly requests: { method: string; url: string }[] = [];
  override async applySecurityAuthentication(
    context: Parameters<KubeConfig["applySecurityAuthentication"]>[0],
  ): Promise<void> {
    const c = context as unknown as RequestContextLike;
    this.requests.push({ method: String(c.getHttpMethod()), url: c.getUrl() });
    return super.applySecurityAuthentication(context);
  }
  count(pred: (r: { method: string; url: string }) => boolean): number {
    return this.requests.filter(pred).length;
  }
}

export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  ms = 5000,
  what = "condition",
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
