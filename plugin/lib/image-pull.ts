// CoreDog's own pods that cannot get their image (ErrImagePull, ImagePullBackOff): the manifests name
// an image the nodes cannot pull until it is built and pushed, and the manifests pointed at it.
import type { V1Pod } from "@kubernetes/client-node";

export interface PullFailure {
  pod: string;
  container: string;
  image: string;
  reason: string;
  message?: string;
}

const PULL_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName"]);

/** The containers (init ones too) of `pods` waiting because their image cannot be pulled. */
export function imagePullFailures(pods: V1Pod[]): PullFailure[] {
  return pods.flatMap((p) =>
    [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]
      .filter((s) => PULL_REASONS.has(s.state?.waiting?.reason ?? ""))
      .map((s) => ({
        pod: p.metadata?.name ?? "",
        container: s.name,
        image: s.image || (p.spec?.containers ?? []).find((c) => c.name === s.name)?.image || "",
        reason: s.state!.waiting!.reason!,
        ...(s.state?.waiting?.message ? { message: s.state.waiting.message } : {}),
      })),
  );
}

/** One line: which pods cannot pull what, and why (the first message). */
export function describePullFailures(failures: PullFailure[]): string {
  const images = [...new Set(failures.map((f) => f.image))].join(", ");
  const pods = [...new Set(failures.map((f) => f.pod))];
  const reasons = [...new Set(failures.map((f) => f.reason))].join("/");
  const why = failures.find((f) => f.message)?.message;
  return `${pods.length} pod(s) cannot pull ${images} (${reasons})${why ? `: ${why}` : ""}`;
}

/** What to do: build and push the image, point the manifests at it (the README's first install step). */
export function pullFix(failures: PullFailure[]): string {
  const image = failures[0]?.image || "ghcr.io/coredog/coredog:0.1.0";
  const tag = /:([^:/@]+)$/.exec(image)?.[1] ?? "0.1.0";
  return (
    `build and push the image where the nodes can pull it (docker build -t REGISTRY/coredog:${tag} . && docker push REGISTRY/coredog:${tag}, ` +
    `or npm run image, then skopeo copy oci-archive:.image/coredog.oci.tar docker://REGISTRY/coredog:${tag}), ` +
    `point the manifests at it with a kustomize images: override (newName: REGISTRY/coredog) and kubectl apply -k again; ` +
    "a private registry also needs imagePullSecrets (kubectl describe pod shows the pull error)"
  );
}
