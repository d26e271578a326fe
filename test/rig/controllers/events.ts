// Events the controllers record on their objects, as kube-controller-manager does (SuccessfulCreate, FailedCreate,
// ScalingReplicaSet, ...), so `kubectl describe` and `kubectl get events` show what happened. Fire and forget.
import type { KubernetesObject } from "@kubernetes/client-node";
import { errorText, type Clients, type Log } from "./kube.js";

export type Recorder = (
  obj: KubernetesObject,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
) => void;

export function makeRecorder(
  clients: Clients,
  component: string,
  apiVersion: string,
  kind: string,
  log: Log,
): Recorder {
  return (obj, type, reason, message) => {
    const namespace = obj.metadata?.namespace ?? "default";
    const now = new Date();
    void clients.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${obj.metadata?.name ?? "object"}.`, namespace },
          involvedObject: {
            apiVersion,
            kind,
            name: obj.metadata?.name,
            namespace,
            uid: obj.metadata?.uid,
            resourceVersion: obj.metadata?.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component },
          reportingComponent: component,
          reportingInstance: component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err) =>
        log(`event ${reason} on ${kind} ${namespace}/${obj.metadata?.name}: ${errorText(err)}`),
      );
  };
}

/** The message kube-apiserver/admission gave for a failed create, as Kubernetes puts it in FailedCreate. */
export function failedCreateMessage(err: unknown): string {
  return `Error creating: ${errorText(err).replace(/^HTTP \d+: /, "")}`;
}
