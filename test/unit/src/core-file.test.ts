import { describe, expect, it } from "vitest";
import {
  isCoreFileName,
  isDns1123Label,
  isDns1123Subdomain,
  parseCoreFileName,
  podFromDumpPath,
  type CoreFileName,
} from "../../../src/core-file.js";

const T = 1700000000;
const at = (s: number) => new Date(s * 1000);

describe("parseCoreFileName", () => {
  const cases: [string, CoreFileName][] = [
    ["core", {}],
    ["core.123", { pid: 123 }],
    ["core.4194304", { pid: 4194304 }],
    ["core.myapp", { executable: "myapp" }],
    ["core.myapp.77", { executable: "myapp", pid: 77 }],
    ["core.python3.11.77", { executable: "python3.11", pid: 77 }],
    [`core.app.123.host.${T}`, { executable: "app", pid: 123, host: "host", time: at(T) }],
    [`core.my.app.123.host.${T}`, { executable: "my.app", pid: 123, host: "host", time: at(T) }],
    [
      `core.bash.1.api-7d9f8-abcde.${T}`,
      { executable: "bash", pid: 1, host: "api-7d9f8-abcde", time: at(T) },
    ],
    [
      `core.python3.11.42.web-0.${T}`,
      { executable: "python3.11", pid: 42, host: "web-0", time: at(T) },
    ],
    [
      `core.app.9.ip-10-0-0-1.ec2.internal.${T}`,
      { executable: "app", pid: 9, host: "ip-10-0-0-1.ec2.internal", time: at(T) },
    ],
    [
      `core.my.app.9.node.example.com.${T}`,
      { executable: "my.app", pid: 9, host: "node.example.com", time: at(T) },
    ],
    [`core.app.9.10.0.0.1.${T}`, { executable: "app", pid: 9, host: "10.0.0.1", time: at(T) }],
    [
      // %e is at most 15 bytes; `/` in the comm becomes `!`
      `core.kworker!u8:1.12.h.${T}`,
      { executable: "kworker!u8:1", pid: 12, host: "h", time: at(T) },
    ],
    [
      `core.a-very-long-exe.123.h.${T}`,
      { executable: "a-very-long-exe", pid: 123, host: "h", time: at(T) },
    ],
    // a long number is not a pid
    [`core.app.${T}`, { executable: `app.${T}` }],
    ["core.a.b.c.99999999999", { executable: "a.b.c.99999999999" }],
  ];
  it.each(cases)("%s", (name, want) => {
    expect(parseCoreFileName(name)).toEqual(want);
  });

  it("uses the pod's hostname as a hint when the split is ambiguous", () => {
    // without a hint, the rightmost pid with a non-numeric host wins
    expect(parseCoreFileName(`core.app.1.2.node.${T}`)).toMatchObject({
      executable: "app.1",
      pid: 2,
      host: "node",
    });
    expect(parseCoreFileName(`core.app.1.2.node.${T}`, { host: "2.node" })).toMatchObject({
      executable: "app",
      pid: 1,
      host: "2.node",
    });
  });

  it("gives nothing for names that are not core files", () => {
    expect(parseCoreFileName("notcore.1")).toEqual({});
    expect(parseCoreFileName("core.")).toEqual({});
    expect(parseCoreFileName("core/1")).toEqual({});
  });
});

describe("isCoreFileName", () => {
  it.each([
    ["core", true],
    ["core.1", true],
    [`core.app.1.h.${T}`, true],
    ["core.", false],
    ["cores", false],
    ["xcore.1", false],
    ["", false],
    ["core.a/b", false],
    ["core.a\0b", false],
    [`core.${"x".repeat(251)}`, false],
  ])("%j is %s", (name, want) => {
    expect(isCoreFileName(name)).toBe(want);
  });
});

describe("podFromDumpPath", () => {
  it.each([
    [
      "shop/api-7d9f8-abcde/core.app.1.h.1",
      { namespace: "shop", pod: "api-7d9f8-abcde", file: "core.app.1.h.1" },
    ],
    ["kube-system/coredns.v1/core", { namespace: "kube-system", pod: "coredns.v1", file: "core" }],
    ["a/b/c", { namespace: "a", pod: "b", file: "c" }],
    [
      "shop/api-1/worker/core.bash.7.h.1",
      { namespace: "shop", pod: "api-1", container: "worker", file: "core.bash.7.h.1" },
    ],
    ["a/b.c/d-1/core", { namespace: "a", pod: "b.c", container: "d-1", file: "core" }],
  ])("%s", (p, want) => {
    expect(podFromDumpPath(p)).toEqual(want);
  });

  it.each([
    "shop/api/app/core/extra",
    "shop/api/App/core",
    "shop/api/a.b/core",
    "shop/api/-app/core",
    "shop/api/../core",
    "shop/api//core",
    `shop/api/${"a".repeat(64)}/core`,
    "shop/core",
    "core",
    "/shop/api/core",
    "shop//core",
    "shop/api/",
    "../api/core",
    "shop/../core",
    "shop/api/..",
    "shop/api/.",
    "./api/core",
    "Shop/api/core",
    "shop/API/core",
    "shop_x/api/core",
    "-shop/api/core",
    "shop-/api/core",
    "shop.x/api/core",
    "shop/api./core",
    "shop/.api/core",
    "shop/a..b/core",
    `${"a".repeat(64)}/api/core`,
    `shop/${"a".repeat(64)}/core`,
    "shop\\api\\core",
    "shop/api/co\0re",
    "",
  ])("refuses %j", (p) => {
    expect(podFromDumpPath(p)).toBeNull();
  });

  it("accepts the longest valid names", () => {
    const ns = "n".repeat(63);
    const pod = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
    expect(pod.length).toBe(253);
    expect(podFromDumpPath(`${ns}/${pod}/core`)).toEqual({ namespace: ns, pod, file: "core" });
    expect(podFromDumpPath(`${ns}/${pod}x/core`)).toBeNull();
  });
});

describe("DNS-1123 names", () => {
  it("labels and subdomains", () => {
    expect(isDns1123Label("default")).toBe(true);
    expect(isDns1123Label("a.b")).toBe(false);
    expect(isDns1123Subdomain("a.b")).toBe(true);
    expect(isDns1123Subdomain("a..b")).toBe(false);
    expect(isDns1123Subdomain("")).toBe(false);
  });
});
