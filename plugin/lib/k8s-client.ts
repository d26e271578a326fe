// The parts of @kubernetes/client-node the CLI uses, as one module to import lazily: bundled, only these
// (and what they need) end up in the chunk that `connect()` loads, not the whole generated client.
export {
  AdmissionregistrationV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from "@kubernetes/client-node";
