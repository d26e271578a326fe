// Strategic merge patch (the subset of Kubernetes' patch strategies the rig's kinds need).
// Merge keys come from the field name (as in the built-in types' patchMergeKey tags); other lists are replaced.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const MERGE_KEYS: Record<string, string | ((items: Obj[]) => string)> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  env: "name",
  imagePullSecrets: "name",
  hostAliases: "ip",
  ownerReferences: "uid",
  conditions: "type",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
  webhooks: "name",
  secrets: "name",
  ports: (items) =>
    items.some((i) => i && typeof i === "object" && "containerPort" in i)
      ? "containerPort"
      : "port",
};

/** Lists of primitives merged as sets (patchStrategy "merge" without a key). */
const PRIMITIVE_MERGE = new Set(["finalizers"]);

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function mergeKeyFor(field: string, items: Obj[]): string | undefined {
  const k = MERGE_KEYS[field];
  if (!k) return undefined;
  return typeof k === "string" ? k : k(items);
}

export function strategicMergePatch<T>(original: T, patch: unknown): T {
  if (!isObj(patch)) throw new Error("strategic merge patch must be a JSON object");
  return mergeMap(isObj(original) ? (original as Obj) : {}, patch) as T;
}

function mergeMap(original: Obj, patch: Obj): Obj | null {
  const directive = patch["$patch"];
  if (directive === "delete") return null;
  if (directive === "replace") {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest) as Obj;
  }
  let result: Obj = { ...original };
  const retain = patch["$retainKeys"];
  if (Array.isArray(retain)) {
    const keep = new Set(retain as string[]);
    for (const k of Object.keys(result)) if (!keep.has(k)) delete result[k];
  }
  // $setElementOrder/<field> and $deleteFromPrimitiveList/<field>
  const orders: Record<string, Json[]> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$setElementOrder/") && Array.isArray(v))
      orders[k.slice("$setElementOrder/".length)] = v;
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$deleteFromPrimitiveList/") && Array.isArray(v)) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const cur = result[field];
      if (Array.isArray(cur))
        result[field] = cur.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue;
    if (v === null) {
      delete result[k];
      continue;
    }
    const cur = result[k];
    if (isObj(v)) {
      const merged = mergeMap(isObj(cur) ? cur : {}, v);
      if (merged === null) delete result[k];
      else result[k] = merged;
    } else if (Array.isArray(v)) {
      result[k] = mergeList(k, Array.isArray(cur) ? cur : [], v);
    } else {
      result[k] = v;
    }
  }
  for (const [field, order] of Object.entries(orders)) {
    const cur = result[field];
    if (Array.isArray(cur)) result[field] = applyOrder(field, cur, order);
  }
  result = result as Obj;
  return result;
}

function mergeList(field: string, original: Json[], patch: Json[]): Json[] {
  const replaceIdx = patch.findIndex((p) => isObj(p) && p["$patch"] === "replace");
  if (replaceIdx >= 0) return patch.filter((_, i) => i !== replaceIdx).map(stripDirectives);
  if (PRIMITIVE_MERGE.has(field)) {
    const out = [...original];
    for (const p of patch)
      if (!out.some((o) => JSON.stringify(o) === JSON.stringify(p))) out.push(p);
    return out;
  }
  const objs = patch.filter(isObj);
  const key =
    objs.length === patch.length && patch.length > 0
      ? mergeKeyFor(field, objs)
      : mergeKeyFor(field, original.filter(isObj));
  if (!key || objs.length !== patch.length) return patch.map(stripDirectives);
  const out: Json[] = original.map((o) => o);
  for (const p of objs) {
    const idx = out.findIndex((o) => isObj(o) && JSON.stringify(o[key]) === JSON.stringify(p[key]));
    if (p["$patch"] === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = mergeMap(out[idx] as Obj, p);
      if (merged === null) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

function applyOrder(field: string, list: Json[], order: Json[]): Json[] {
  const objs = list.filter(isObj);
  const key = objs.length === list.length ? mergeKeyFor(field, objs) : undefined;
  const idOf = (x: Json): string => JSON.stringify(key && isObj(x) ? x[key] : x);
  const orderIds = order.map((o) => (key && isObj(o) ? JSON.stringify(o[key]) : JSON.stringify(o)));
  const ordered = orderIds
    .map((id) => list.find((x) => idOf(x) === id))
    .filter((x): x is Json => x !== undefined);
  const rest = list.filter((x) => !orderIds.includes(idOf(x)));
  return [...ordered, ...rest];
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v))
    return v
      .filter((x) => !(isObj(x) && x["$patch"] === "delete" && Object.keys(x).length === 1))
      .map(stripDirectives);
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v))
      if (!k.startsWith("$")) out[k] = x === null ? null : stripDirectives(x);
    for (const k of Object.keys(out)) if (out[k] === null) delete out[k];
    return out;
  }
  return v;
}

/** RFC 7386 JSON merge patch. */
export function jsonMergePatch<T>(original: T, patch: unknown): T {
  if (!isObj(patch)) return patch as T;
  const result: Obj = isObj(original) ? { ...(original as Obj) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else if (isObj(v)) result[k] = jsonMergePatch(result[k], v) as Json;
    else result[k] = v;
  }
  return result as T;
}
