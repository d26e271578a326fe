// The rig's own label selectors, written from Kubernetes' semantics (k8s.io/apimachinery/pkg/labels and
// metav1.LabelSelectorAsSelector), so that the rig does not judge the product with the product's matcher.
// A selector is a list of requirements that must all hold.

export type Requirement =
  | { key: string; op: "=" | "!="; values: [string] }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!" };

export type Labels = Record<string, string> | undefined | null;

/** metav1.LabelSelector as found in specs and webhook configurations. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

/** A string selector the parser cannot read; the message is kube-apiserver's. */
export class SelectorSyntaxError extends Error {}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== "");
}

/** Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k`; an empty or absent string selects everything. */
export function parseSelector(s: string | null | undefined): Requirement[] {
  if (!s) return [];
  const reqs: Requirement[] = [];
  for (const part of splitTop(s)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      reqs.push({
        key: m[1]!,
        op: m[2] as "in" | "notin",
        values: m[3]!.split(",").map((v) => v.trim()),
      });
    } else if ((m = part.match(/^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/))) {
      reqs.push({ key: m[1]!, op: m[2] === "!=" ? "!=" : "=", values: [m[3]!] });
    } else if ((m = part.match(/^!\s*([^\s!=()]+)$/))) {
      reqs.push({ key: m[1]!, op: "!" });
    } else if ((m = part.match(/^([^\s!=()]+)$/))) {
      reqs.push({ key: m[1]!, op: "exists" });
    } else {
      throw new SelectorSyntaxError(
        `unable to parse requirement: found '${part}', expected: identifier`,
      );
    }
  }
  return reqs;
}

function holds(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case "=":
      return has && v === r.values[0];
    case "!=":
      return !has || v !== r.values[0];
    case "in":
      return has && r.values.includes(v!);
    case "notin":
      return !has || !r.values.includes(v!);
    case "exists":
      return has;
    case "!":
      return !has;
  }
}

export function matches(requirements: Requirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return requirements.every((r) => holds(r, l));
}

/**
 * matchLabels and matchExpressions as requirements; undefined for an operator Kubernetes does not know
 * (kube-apiserver refuses such a selector; the rig's callers treat it as selecting nothing).
 */
export function requirementsOf(sel: LabelSelectorObject): Requirement[] | undefined {
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({
    key,
    op: "=",
    values: [value],
  }));
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        reqs.push({ key: e.key, op: "in", values });
        break;
      case "NotIn":
        reqs.push({ key: e.key, op: "notin", values });
        break;
      case "Exists":
        reqs.push({ key: e.key, op: "exists" });
        break;
      case "DoesNotExist":
        reqs.push({ key: e.key, op: "!" });
        break;
      default:
        return undefined;
    }
  }
  return reqs;
}

/** A webhook's namespaceSelector/objectSelector: absent selects everything. */
export function matchesSelectorObject(
  sel: LabelSelectorObject | undefined | null,
  labels: Labels,
): boolean {
  if (!sel) return true;
  const reqs = requirementsOf(sel);
  return reqs !== undefined && matches(reqs, labels);
}

/** A workload's spec.selector: absent selects nothing (as metav1.LabelSelectorAsSelector), and so does empty, which the API refuses on workloads. */
export function matchesWorkloadSelector(
  sel: LabelSelectorObject | undefined | null,
  labels: Labels,
): boolean {
  if (!sel) return false;
  const reqs = requirementsOf(sel);
  return reqs !== undefined && reqs.length > 0 && matches(reqs, labels);
}

/** The string form of requirements, as `kubectl get -l` takes it. */
export function formatSelector(requirements: Requirement[]): string {
  return requirements
    .map((r) => {
      switch (r.op) {
        case "=":
        case "!=":
          return `${r.key}${r.op}${r.values[0]}`;
        case "in":
        case "notin":
          return `${r.key} ${r.op} (${r.values.join(",")})`;
        case "exists":
          return r.key;
        case "!":
          return `!${r.key}`;
      }
    })
    .join(",");
}
