// The ServiceAccount admission plugin: a pod's account must exist; its token is mounted as a projected volume.
import type { AnyObj, ServerContext } from "./context.js";
import { randomSuffix } from "./random-suffix.js";
import { StatusError } from "./status.js";
import type { KubeObject } from "./store.js";

const MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

export function serviceAccountAdmission(ctx: ServerContext, o: KubeObject): void {
  const spec = (o as AnyObj).spec;
  const sa = spec.serviceAccountName as string;
  const account = ctx.store.get<KubeObject & AnyObj>("serviceaccounts", o.metadata.namespace, sa);
  if (!account) {
    throw new StatusError(
      403,
      "Forbidden",
      `pods "${o.metadata.name || o.metadata.generateName || ""}" is forbidden: error looking up service account ${o.metadata.namespace}/${sa}: serviceaccount "${sa}" not found`,
      { name: o.metadata.name ?? "", kind: "pods" },
    );
  }
  const automount =
    spec.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true;
  if (!automount) return;
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as AnyObj[];
  if (all.some((c) => (c.volumeMounts ?? []).some((m: AnyObj) => m.mountPath === MOUNT_PATH)))
    return;
  const volName = `kube-api-access-${randomSuffix()}`;
  spec.volumes = [
    ...(spec.volumes ?? []),
    {
      name: volName,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [
                {
                  fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
                  path: "namespace",
                },
              ],
            },
          },
        ],
      },
    },
  ];
  for (const c of all)
    c.volumeMounts = [
      ...(c.volumeMounts ?? []),
      { name: volName, readOnly: true, mountPath: MOUNT_PATH },
    ];
}
