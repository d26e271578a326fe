// CustomResourceDefinitions as kube-apiserver's apiextensions server serves them: a stored definition adds its
// kind to RESOURCES (discovery, routing, RBAC, watch follow from there), its status subresource, its
// additionalPrinterColumns for Table output, and structural-schema validation with pruning of unknown fields.
import type { AnyObj, ApiContext } from "./context.js";
import { RESOURCES, type ResourceInfo } from "./resources.js";
import type { KubeObject } from "./store.js";

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** What a custom kind carries beyond a built-in ResourceInfo. */
export interface CustomKind {
  definition: string; // the CRD's name
  columns?: PrinterColumn[];
  schema?: AnyObj;
}

export const CRD_KEY = "customresourcedefinitions.apiextensions.k8s.io";

type Cause = { field: string; message: string; reason?: string };

/** Fills the status kube-apiserver reports once a definition's names are accepted. */
export function prepareDefinition(_ctx: ApiContext, o: KubeObject): void {
  const x = o as AnyObj;
  const n = x.spec?.names ?? {};
  x.status = {
    acceptedNames: {
      plural: n.plural,
      singular: n.singular ?? String(n.kind ?? "").toLowerCase(),
      kind: n.kind,
      listKind: n.listKind ?? `${n.kind}List`,
      ...(n.shortNames ? { shortNames: n.shortNames } : {}),
      ...(n.categories ? { categories: n.categories } : {}),
    },
    storedVersions: (x.spec?.versions ?? [])
      .filter((v: AnyObj) => v.storage)
      .map((v: AnyObj) => v.name),
    conditions: ["NamesAccepted", "Established"].map((type) => ({
      type,
      status: "True",
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      reason: type === "Established" ? "InitialNamesAccepted" : "NoConflicts",
      message:
        type === "Established" ? "the initial names have been accepted" : "no conflicts found",
    })),
  };
}

/** Validates a definition the way apiextensions does for what matters here. */
export function validateDefinition(o: AnyObj, causes: Cause[]): void {
  const s = o.spec ?? {};
  const n = s.names ?? {};
  if (!s.group)
    causes.push({ field: "spec.group", message: "Required value", reason: "FieldValueRequired" });
  if (!n.plural)
    causes.push({
      field: "spec.names.plural",
      message: "Required value",
      reason: "FieldValueRequired",
    });
  if (!n.kind)
    causes.push({
      field: "spec.names.kind",
      message: "Required value",
      reason: "FieldValueRequired",
    });
  if (n.plural && s.group && o.metadata?.name !== `${n.plural}.${s.group}`)
    causes.push({
      field: "metadata.name",
      message: `Invalid value: "${o.metadata?.name}": must be spec.names.plural+"."+spec.group`,
    });
  if (!["Namespaced", "Cluster"].includes(s.scope))
    causes.push({
      field: "spec.scope",
      message: `Unsupported value: "${s.scope}": supported values: "Cluster", "Namespaced"`,
      reason: "FieldValueNotSupported",
    });
  const versions: AnyObj[] = s.versions ?? [];
  if (!versions.length)
    causes.push({
      field: "spec.versions",
      message: "Invalid value: null: must have exactly one version marked as storage version",
    });
  if (versions.filter((v) => v.storage).length !== 1 && versions.length)
    causes.push({
      field: "spec.versions",
      message: "Invalid value: must have exactly one version marked as storage version",
    });
  versions.forEach((v, i) => {
    if (!v.schema?.openAPIV3Schema)
      causes.push({
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: "Required value: schemas are required",
        reason: "FieldValueRequired",
      });
    else if (v.schema.openAPIV3Schema.type !== "object")
      causes.push({
        field: `spec.versions[${i}].schema.openAPIV3Schema.type`,
        message: 'Unsupported value: must be "object" at the root',
      });
  });
}

/** The served kinds of a definition, one per served version. */
function kindsOf(crd: AnyObj): ResourceInfo[] {
  const s = crd.spec;
  const n = s.names;
  return (s.versions as AnyObj[])
    .filter((v) => v.served)
    .map((v) => ({
      group: s.group,
      version: v.name,
      resource: n.plural,
      singular: n.singular ?? String(n.kind).toLowerCase(),
      kind: n.kind,
      namespaced: s.scope === "Namespaced",
      hasGeneration: true,
      ...(n.shortNames ? { shortNames: n.shortNames } : {}),
      ...(n.categories ? { categories: n.categories } : {}),
      ...(v.subresources?.status
        ? { subresources: [{ name: "status", kind: n.kind, verbs: ["get", "patch", "update"] }] }
        : {}),
      custom: {
        definition: crd.metadata.name,
        ...(v.additionalPrinterColumns ? { columns: v.additionalPrinterColumns } : {}),
        schema: v.schema?.openAPIV3Schema,
      },
    }));
}

function unregister(name: string): void {
  for (let i = RESOURCES.length - 1; i >= 0; i--)
    if (RESOURCES[i]!.custom?.definition === name) RESOURCES.splice(i, 1);
}

/** Serves (again) the kinds of a stored definition: after create and after every update. */
export function registerDefinition(_ctx: ApiContext, o: KubeObject): void {
  unregister(o.metadata.name!);
  RESOURCES.push(...kindsOf(o as AnyObj));
}

/** Deleting a definition deletes all its objects, then stops serving the kind. */
export function deleteDefinition(ctx: ApiContext, info: ResourceInfo, old: KubeObject): KubeObject {
  const kinds = RESOURCES.filter((r) => r.custom?.definition === old.metadata.name);
  const storage = kinds[0];
  if (storage) {
    for (const o of ctx.store.list(storage))
      ctx.store.delete(storage, o.metadata.namespace, o.metadata.name!);
  }
  unregister(old.metadata.name!);
  return ctx.store.delete(info, undefined, old.metadata.name!);
}

// ---------------------------------------------------------------- structural schema

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeOk(type: string | undefined, v: unknown): boolean {
  if (!type) return true;
  const t = typeName(v);
  if (type === "number") return t === "number" || t === "integer";
  return t === type;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Validates `v` against a structural schema and prunes fields the schema does not name (unless
 * x-kubernetes-preserve-unknown-fields). Returns the pruned value; causes use kube-apiserver's wording.
 */
function check(schema: AnyObj, v: unknown, path: string, causes: Cause[]): unknown {
  if (v === null && schema.nullable) return v;
  if (!typeOk(schema.type, v)) {
    causes.push({
      field: path,
      message: `Invalid value: "${typeName(v)}": ${path} in body must be of type ${schema.type}: "${typeName(v)}"`,
      reason: "FieldValueTypeInvalid",
    });
    return v;
  }
  if (schema.enum && !schema.enum.some((e: unknown) => e === v))
    causes.push({
      field: path,
      message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${schema.enum.map((e: unknown) => JSON.stringify(e)).join(", ")}`,
      reason: "FieldValueNotSupported",
    });
  if (typeof v === "string") {
    if (schema.maxLength !== undefined && v.length > schema.maxLength)
      causes.push({
        field: path,
        message: `Too long: may not be more than ${schema.maxLength} bytes`,
        reason: "FieldValueTooLong",
      });
    if (schema.pattern && !new RegExp(schema.pattern).test(v))
      causes.push({
        field: path,
        message: `Invalid value: "${v}": ${path} in body should match '${schema.pattern}'`,
      });
    if (schema.format === "date-time" && !DATE_TIME.test(v))
      causes.push({
        field: path,
        message: `Invalid value: "${v}": ${path} in body must be of type date-time: "${v}"`,
      });
  }
  if (typeof v === "number" && schema.minimum !== undefined && v < schema.minimum)
    causes.push({
      field: path,
      message: `Invalid value: ${v}: ${path} in body should be greater than or equal to ${schema.minimum}`,
    });
  if (Array.isArray(v)) {
    if (schema.maxItems !== undefined && v.length > schema.maxItems)
      causes.push({
        field: path,
        message: `Too many: ${v.length}: must have at most ${schema.maxItems} items`,
        reason: "FieldValueTooMany",
      });
    return schema.items ? v.map((x, i) => check(schema.items, x, `${path}[${i}]`, causes)) : v;
  }
  if (v && typeof v === "object") {
    const o = v as AnyObj;
    for (const req of schema.required ?? [])
      if (o[req] === undefined)
        causes.push({
          field: `${path}.${req}`,
          message: "Required value",
          reason: "FieldValueRequired",
        });
    const out: AnyObj = {};
    for (const [k, x] of Object.entries(o)) {
      const sub = schema.properties?.[k];
      if (sub) out[k] = check(sub, x, `${path}.${k}`, causes);
      else if (schema.additionalProperties && typeof schema.additionalProperties === "object")
        out[k] = check(schema.additionalProperties, x, `${path}.${k}`, causes);
      else if (
        schema["x-kubernetes-preserve-unknown-fields"] ||
        schema.additionalProperties === true
      )
        out[k] = x;
      // else: pruned, as kube-apiserver prunes unknown fields of structural schemas
    }
    return out;
  }
  return v;
}

/** Validates and prunes a custom object in place (metadata, apiVersion and kind are not the schema's). */
export function validateCustom(info: ResourceInfo, o: KubeObject, causes: Cause[]): void {
  const schema = info.custom?.schema;
  if (!schema) return;
  const x = o as AnyObj;
  const { apiVersion, kind, metadata, ...rest } = x;
  const props = { ...(schema.properties ?? {}) };
  delete props.apiVersion;
  delete props.kind;
  delete props.metadata;
  const pruned = check({ ...schema, properties: props }, rest, "", causes) as AnyObj;
  for (const c of causes) c.field = c.field.replace(/^\./, "");
  for (const c of causes) c.message = c.message.replace(/ \.([a-zA-Z])/g, " $1");
  for (const k of Object.keys(x)) delete x[k];
  Object.assign(x, { apiVersion, kind, metadata }, pruned);
}

// ---------------------------------------------------------------- printer columns

/** Evaluates the simple JSONPath forms CRDs use: `.a.b`, `.a[0].b`, `.a['x.y']`. */
export function jsonPathValue(o: AnyObj, path: string): unknown {
  const parts: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']+)'\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path))) parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  let cur: unknown = o;
  for (const p of parts) {
    if (cur === null || cur === undefined) return undefined;
    cur = (cur as AnyObj)[p as string];
  }
  return cur;
}
