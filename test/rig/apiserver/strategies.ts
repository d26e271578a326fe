// What is special about a kind on the write path, as kube-apiserver's per-resource REST strategies and built-in
// admission plugins. A kind without an entry gets the generic behaviour: defaults and validation from
// objects.ts, the webhooks, finalizers on delete. This table is where a new kind's own behaviour plugs in.
import type { AnyObj, ApiContext } from "./context.js";
import { defaultJobSelector } from "./objects.js";
import { deleteDefinition, prepareDefinition, registerDefinition } from "./custom-resources.js";
import { deleteNamespace, populateNamespace } from "./namespace-lifecycle.js";
import { deletePod } from "./pod-deletion.js";
import { keyOf, type ResourceInfo } from "./resources.js";
import { serviceAccountAdmission } from "./service-account-admission.js";
import type { KubeObject } from "./store.js";

export interface ResourceStrategy {
  /** Built-in admission, before the mutating webhooks. */
  admit?(ctx: ApiContext, o: KubeObject): void;
  /** After admission and naming, before validation: fields the server fills in. */
  prepareForCreate?(ctx: ApiContext, o: KubeObject): void;
  /** After the object is stored (not on dry runs). */
  afterCreate?(ctx: ApiContext, o: KubeObject): void;
  /** After an update is stored (not on dry runs). */
  afterUpdate?(ctx: ApiContext, o: KubeObject): void;
  /**
   * Replaces the generic delete (finalizers, then removal) once preconditions have passed; returns the object
   * the reply shows. Not called on dry runs.
   */
  delete?(ctx: ApiContext, info: ResourceInfo, old: KubeObject, opts: AnyObj): KubeObject;
  /** A dry-run DELETE answers with the object rather than a Status. */
  dryRunDeleteShowsObject?: boolean;
}

/** Keyed by storage key (keyOf): "pods", "jobs.batch". */
const STRATEGIES: Record<string, ResourceStrategy> = {
  pods: {
    admit: serviceAccountAdmission,
    delete: deletePod,
    dryRunDeleteShowsObject: true,
  },
  services: { prepareForCreate: (ctx, o) => ctx.clusterIps.allocate(o) },
  "jobs.batch": { prepareForCreate: (_ctx, o) => defaultJobSelector(o) },
  "customresourcedefinitions.apiextensions.k8s.io": {
    prepareForCreate: prepareDefinition,
    afterCreate: registerDefinition,
    afterUpdate: registerDefinition,
    delete: (ctx, info, old) => deleteDefinition(ctx, info, old),
  },
  namespaces: {
    afterCreate: (ctx, o) => populateNamespace(ctx, o.metadata.name!),
    delete: (ctx, info, old) => deleteNamespace(ctx, info, old),
  },
};

export function strategyOf(info: ResourceInfo): ResourceStrategy {
  return STRATEGIES[keyOf(info)] ?? {};
}
