// Decoding of the Kubernetes protobuf bodies that kubectl's typed clients send (auth can-i, auth whoami,
// create token, create configmap/secret/namespace/serviceaccount, eviction). Responses are always JSON.

type FieldType =
  | "string"
  | "bytes"
  | "varint"
  | "bool"
  | "time"
  | Schema
  | { map: ["string", "string" | "bytes"] }
  | { repeated: "string" | Schema };
interface Schema {
  [field: number]: [string, FieldType];
}

const TIME: Schema = { 1: ["seconds", "varint"], 2: ["nanos", "varint"] };
const OBJECT_META: Schema = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  11: ["labels", { map: ["string", "string"] }],
  12: ["annotations", { map: ["string", "string"] }],
  14: ["finalizers", { repeated: "string" }],
};
const OBJ_REF: Schema = {
  1: ["kind", "string"],
  2: ["namespace", "string"],
  3: ["name", "string"],
  4: ["uid", "string"],
  5: ["apiVersion", "string"],
};
const LOCAL_REF: Schema = { 1: ["name", "string"] };
const POLICY_RULE: Schema = {
  1: ["verbs", { repeated: "string" }],
  2: ["apiGroups", { repeated: "string" }],
  3: ["resources", { repeated: "string" }],
  4: ["resourceNames", { repeated: "string" }],
  5: ["nonResourceURLs", { repeated: "string" }],
};
const SUBJECT: Schema = {
  1: ["kind", "string"],
  2: ["apiGroup", "string"],
  3: ["name", "string"],
  4: ["namespace", "string"],
};
const ROLE_REF: Schema = {
  1: ["apiGroup", "string"],
  2: ["kind", "string"],
  3: ["name", "string"],
};
const DELETE_OPTIONS: Schema = {
  1: ["gracePeriodSeconds", "varint"],
  5: ["dryRun", { repeated: "string" }],
  4: ["propagationPolicy", "string"],
};

const SCHEMAS: Record<string, Schema> = {
  "authorization.k8s.io/v1/SelfSubjectAccessReview": {
    1: ["metadata", OBJECT_META],
    2: [
      "spec",
      {
        1: [
          "resourceAttributes",
          {
            1: ["namespace", "string"],
            2: ["verb", "string"],
            3: ["group", "string"],
            4: ["version", "string"],
            5: ["resource", "string"],
            6: ["subresource", "string"],
            7: ["name", "string"],
          },
        ],
        2: ["nonResourceAttributes", { 1: ["path", "string"], 2: ["verb", "string"] }],
      },
    ],
  },
  "authorization.k8s.io/v1/SelfSubjectRulesReview": {
    1: ["metadata", OBJECT_META],
    2: ["spec", { 1: ["namespace", "string"] }],
  },
  "authentication.k8s.io/v1/SelfSubjectReview": { 1: ["metadata", OBJECT_META] },
  "authentication.k8s.io/v1/TokenRequest": {
    1: ["metadata", OBJECT_META],
    2: [
      "spec",
      {
        1: ["audiences", { repeated: "string" }],
        4: ["expirationSeconds", "varint"],
        3: ["boundObjectRef", OBJ_REF],
      },
    ],
  },
  "policy/v1/Eviction": { 1: ["metadata", OBJECT_META], 2: ["deleteOptions", DELETE_OPTIONS] },
  "v1/ConfigMap": {
    1: ["metadata", OBJECT_META],
    2: ["data", { map: ["string", "string"] }],
    3: ["binaryData", { map: ["string", "bytes"] }],
    4: ["immutable", "bool"],
  },
  "v1/Secret": {
    1: ["metadata", OBJECT_META],
    2: ["data", { map: ["string", "bytes"] }],
    3: ["type", "string"],
    4: ["stringData", { map: ["string", "string"] }],
    5: ["immutable", "bool"],
  },
  "v1/Namespace": { 1: ["metadata", OBJECT_META] },
  "v1/ServiceAccount": {
    1: ["metadata", OBJECT_META],
    2: ["secrets", { repeated: OBJ_REF }],
    3: ["imagePullSecrets", { repeated: LOCAL_REF }],
    4: ["automountServiceAccountToken", "bool"],
  },
  "rbac.authorization.k8s.io/v1/Role": {
    1: ["metadata", OBJECT_META],
    2: ["rules", { repeated: POLICY_RULE }],
  },
  "rbac.authorization.k8s.io/v1/ClusterRole": {
    1: ["metadata", OBJECT_META],
    2: ["rules", { repeated: POLICY_RULE }],
  },
  "rbac.authorization.k8s.io/v1/RoleBinding": {
    1: ["metadata", OBJECT_META],
    2: ["subjects", { repeated: SUBJECT }],
    3: ["roleRef", ROLE_REF],
  },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": {
    1: ["metadata", OBJECT_META],
    2: ["subjects", { repeated: SUBJECT }],
    3: ["roleRef", ROLE_REF],
  },
  "v1/DeleteOptions": DELETE_OPTIONS,
  "meta.k8s.io/v1/DeleteOptions": DELETE_OPTIONS,
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error("truncated varint");
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (r.pos < buf.length) {
    const tag = Number(r.varint());
    const field = tag >> 3;
    const wire = tag & 7;
    const def = schema[field];
    if (!def) {
      r.skip(wire);
      continue;
    }
    const [name, type] = def;
    if (type === "varint") out[name] = Number(BigInt.asIntN(64, r.varint()));
    else if (type === "bool") out[name] = r.varint() !== 0n;
    else if (type === "string") {
      const v = r.bytes().toString("utf8");
      if (v !== "") out[name] = v; // gogo encodes empty strings; JSON omits them
    } else if (type === "bytes") out[name] = r.bytes().toString("base64");
    else if (type === "time") {
      const t = decodeMessage(r.bytes(), TIME);
      out[name] = new Date(Number(t.seconds ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    } else if ("map" in type && Array.isArray(type.map)) {
      const entry = decodeMessage(r.bytes(), { 1: ["k", "string"], 2: ["v", type.map[1]] });
      const m = (out[name] as Record<string, unknown> | undefined) ?? {};
      m[String(entry.k ?? "")] = entry.v ?? "";
      out[name] = m;
    } else if ("repeated" in type) {
      const list = (out[name] as unknown[] | undefined) ?? [];
      const it = type.repeated;
      list.push(
        it === "string" ? r.bytes().toString("utf8") : decodeMessage(r.bytes(), it as Schema),
      );
      out[name] = list;
    } else out[name] = decodeMessage(r.bytes(), type as Schema);
  }
  return out;
}

/** Decodes a `k8s\0`-prefixed runtime.Unknown; throws for kinds it does not know. */
export function decodeK8sProtobuf(
  body: Buffer,
  fallbackApiVersion?: string,
  fallbackKind?: string,
): Record<string, unknown> {
  if (body.subarray(0, 4).toString("latin1") !== "k8s\0")
    throw new Error("not a Kubernetes protobuf envelope");
  const unknown = decodeMessage(body.subarray(4), {
    1: ["typeMeta", { 1: ["apiVersion", "string"], 2: ["kind", "string"] }],
    2: ["raw", "bytes"],
  });
  const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = tm.apiVersion || fallbackApiVersion || "";
  const kind = tm.kind || fallbackKind || "";
  const schema =
    SCHEMAS[`${apiVersion}/${kind}`] ??
    SCHEMAS[`${apiVersion.includes("/") ? apiVersion : `${apiVersion}`}/${kind}`];
  if (!schema) throw new Error(`no protobuf schema for ${apiVersion}/${kind}`);
  const raw = Buffer.from(String(unknown.raw ?? ""), "base64");
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}
