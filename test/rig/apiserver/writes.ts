// What create, update and patch share: the namespace of the body against the URL's, and admission attributes.
import type { AdmissionAttributes } from "./admission.js";
import { render } from "./context.js";
import type { UserInfo } from "./rbac.js";
import type { Route } from "./request-info.js";
import { badRequest } from "./status.js";
import type { KubeObject } from "./store.js";

export function checkNamespace(route: Route, o: KubeObject): void {
  if (!route.info.namespaced) return;
  if (o.metadata.namespace && route.namespace && o.metadata.namespace !== route.namespace) {
    throw badRequest(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  o.metadata.namespace = route.namespace ?? o.metadata.namespace;
}

export function admissionAttributes(
  route: Route,
  operation: AdmissionAttributes["operation"],
  name: string,
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
  user: UserInfo,
  dryRun: boolean,
): AdmissionAttributes {
  const ns = route.info.namespaced ? (route.namespace ?? object?.metadata.namespace) : undefined;
  return {
    info: route.info,
    ...(route.subresource ? { subresource: route.subresource } : {}),
    operation,
    ...(ns ? { namespace: ns } : {}),
    name,
    ...(object ? { object: render(route.info, object) } : {}),
    ...(oldObject ? { oldObject: render(route.info, oldObject) } : {}),
    user,
    dryRun,
  };
}
