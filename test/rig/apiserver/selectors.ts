// Label and field selectors with Kubernetes' syntax and errors.
import {
  matches,
  matchesSelectorObject,
  parseSelector,
  SelectorSyntaxError,
  type LabelSelectorObject,
  type Requirement,
} from "../label-selector.js";
import { badRequest } from "./status.js";
import type { KubeObject } from "./store.js";
import type { ResourceInfo } from "./resources.js";

export type LabelSelector = Requirement[];

/** Parses a labelSelector query parameter; a syntax error is a 400 like kube-apiserver's. */
export function parseLabelSelector(s: string | null | undefined): LabelSelector {
  try {
    return parseSelector(s);
  } catch (e) {
    if (e instanceof SelectorSyntaxError) throw badRequest(e.message);
    throw e;
  }
}

export function matchLabels(
  sel: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  return matches(sel, labels);
}

/** metav1.LabelSelector (matchLabels + matchExpressions) as used in specs and webhook selectors. */
export type MetaLabelSelector = LabelSelectorObject;

export function matchMetaSelector(
  sel: MetaLabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  return matchesSelectorObject(sel, labels);
}

type FieldReq = { field: string; op: "=" | "!="; value: string };
export type FieldSelector = FieldReq[];

const COMMON_FIELDS = ["metadata.name", "metadata.namespace"];
const EVENT_FIELDS = [
  "involvedObject.kind",
  "involvedObject.namespace",
  "involvedObject.name",
  "involvedObject.uid",
  "involvedObject.apiVersion",
  "involvedObject.resourceVersion",
  "involvedObject.fieldPath",
  "reason",
  "reportingComponent",
  "source",
  "type",
];
const EVENTS_V1_FIELDS: Record<string, string> = {
  "regarding.kind": "involvedObject.kind",
  "regarding.namespace": "involvedObject.namespace",
  "regarding.name": "involvedObject.name",
  "regarding.uid": "involvedObject.uid",
  "regarding.apiVersion": "involvedObject.apiVersion",
  "regarding.resourceVersion": "involvedObject.resourceVersion",
  "regarding.fieldPath": "involvedObject.fieldPath",
  reportingController: "reportingComponent",
  "deprecatedSource.component": "source",
};

const FIELDS: Record<string, string[]> = {
  pods: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  events: EVENT_FIELDS,
  secrets: ["type"],
  namespaces: ["status.phase"],
  nodes: ["spec.unschedulable"],
  replicasets: ["status.replicas"],
  jobs: ["status.successful"],
  replicationcontrollers: ["status.replicas"],
};

/** Parses a field selector, refusing fields the resource does not support (400 like Kubernetes). */
export function parseFieldSelector(
  s: string | null | undefined,
  info: ResourceInfo,
): FieldSelector {
  if (!s) return [];
  const out: FieldReq[] = [];
  for (const part of s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    let field = m[1]!.trim();
    if (info.group === "events.k8s.io" && EVENTS_V1_FIELDS[field]) field = EVENTS_V1_FIELDS[field]!;
    const allowed = [...COMMON_FIELDS, ...(FIELDS[info.resource] ?? [])];
    if (!allowed.includes(field)) {
      throw badRequest(`field label not supported: ${m[1]!.trim()}`);
    }
    out.push({ field, op: m[2] === "!=" ? "!=" : "=", value: m[3]!.trim() });
  }
  return out;
}

function fieldValue(o: KubeObject, field: string): string {
  if (field === "source") {
    const src = (o as { source?: { component?: string } }).source;
    return src?.component ?? "";
  }
  if (field === "reportingComponent") {
    const x = o as { reportingComponent?: string; source?: { component?: string } };
    return x.reportingComponent ?? "";
  }
  let cur: unknown = o;
  for (const p of field.split(".")) {
    if (cur === null || typeof cur !== "object") return "";
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) {
    if (field === "spec.hostNetwork" || field === "spec.unschedulable") return "false";
    return "";
  }
  return String(cur);
}

export function matchFields(sel: FieldSelector, o: KubeObject): boolean {
  return sel.every((r) => (fieldValue(o, r.field) === r.value) === (r.op === "="));
}
