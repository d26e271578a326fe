// The parts of @kubernetes/client-node the watcher uses, as one module that is imported lazily (only with a
// kubeconfig or in a cluster). Bundled (scripts/build-controller.mjs), only these and what they need end up in the
// chunk it loads, not the whole generated client: the watcher without the API never loads it.
export {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from "@kubernetes/client-node";
