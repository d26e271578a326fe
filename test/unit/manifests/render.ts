// Renders a kustomization with the real kubectl and validates every object against its schema.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  [key: string]: unknown;
}

export function kustomize(dir: string): K8sObject[] {
  const out = execFileSync("kubectl", ["kustomize", dir], { cwd: repoRoot, encoding: "utf8" });
  return parseAllDocuments(out).map((doc) => doc.toJS() as K8sObject);
}

async function modelModule(apiVersion: string): Promise<Record<string, unknown>> {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "cert-manager.io") {
    return import(`@kubernetes-models/cert-manager/cert-manager.io/${version}`);
  }
  if (group === "monitoring.coreos.com") {
    return import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`);
  }
  return import(
    group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`
  );
}

/** Throws with the schema's complaint when the object is not valid for its kind. */
export async function validateObject(obj: K8sObject): Promise<void> {
  const mod = await modelModule(obj.apiVersion);
  const Model = mod[obj.kind] as (new (o: unknown) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered`);
  return found;
}
