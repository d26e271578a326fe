import { describe, expect, it } from "vitest";
import { normalizeContainerPath, showPath, unsafePathReason } from "../../../src/paths.js";

// [annotated path, normalised (null = relative/empty), reason (null = safe)]
const cases: [string, string | null, string | null][] = [
  // safe
  ["/corefile", "/corefile", null],
  ["/data/dumps", "/data/dumps", null],
  ["/app/coredumps", "/app/coredumps", null],
  ["/corefile/", "/corefile", null],
  ["//corefile", "/corefile", null],
  ["/corefile//sub///dir/", "/corefile/sub/dir", null],
  ["/./corefile", "/corefile", null],
  ["/etc/../corefile", "/corefile", null],
  ["/../../corefile", "/corefile", null],
  ["/opt/app/cores", "/opt/app/cores", null],
  ["/tmp/cores", "/tmp/cores", null],
  ["/data/core dumps", "/data/core dumps", null],
  ["/srv/crash", "/srv/crash", null],
  ["/etcetera", "/etcetera", null],
  ["/usrdata", "/usrdata", null],
  ["/mnt/li", "/mnt/li", null],
  ["/data/etc", "/data/etc", null],
  ["/...", "/...", null],
  // the guide's system directories, and everything under them
  ["/", "/", "path=/ is not allowed (the root directory)"],
  ["/etc", "/etc", "path=/etc is not allowed (system directory /etc)"],
  ["/usr", "/usr", "path=/usr is not allowed (system directory /usr)"],
  [
    "/usr/local/cores",
    "/usr/local/cores",
    "path=/usr/local/cores is not allowed (under system directory /usr)",
  ],
  ["/bin", "/bin", "path=/bin is not allowed (system directory /bin)"],
  ["/sbin", "/sbin", "path=/sbin is not allowed (system directory /sbin)"],
  ["/var", "/var", "path=/var is not allowed (system directory /var)"],
  [
    "/var/log/cores",
    "/var/log/cores",
    "path=/var/log/cores is not allowed (under system directory /var)",
  ],
  ["/root", "/root", "path=/root is not allowed (system directory /root)"],
  ["/home/app", "/home/app", "path=/home/app is not allowed (under system directory /home)"],
  ["/boot", "/boot", "path=/boot is not allowed (system directory /boot)"],
  ["/proc", "/proc", "path=/proc is not allowed (system directory /proc)"],
  ["/proc/self", "/proc/self", "path=/proc/self is not allowed (under system directory /proc)"],
  ["/sys/fs", "/sys/fs", "path=/sys/fs is not allowed (under system directory /sys)"],
  ["/dev", "/dev", "path=/dev is not allowed (system directory /dev)"],
  ["/dev/shm", "/dev/shm", "path=/dev/shm is not allowed (under system directory /dev)"],
  ["/lib", "/lib", "path=/lib is not allowed (system directory /lib)"],
  ["/lib64", "/lib64", "path=/lib64 is not allowed (system directory /lib64)"],
  ["/lib32", "/lib32", "path=/lib32 is not allowed (system directory /lib32)"],
  ["/libx32/x", "/libx32/x", "path=/libx32/x is not allowed (under system directory /libx32)"],
  ["/run", "/run", "path=/run is not allowed (system directory /run)"],
  [
    "/run/secrets",
    "/run/secrets",
    "path=/run/secrets is not allowed (under system directory /run)",
  ],
  // normalising first: tricks that land on a system directory
  [
    "/etc/../etc",
    "/etc",
    "path=/etc/../etc is not allowed (resolves to /etc, system directory /etc)",
  ],
  ["/./etc", "/etc", "path=/./etc is not allowed (resolves to /etc, system directory /etc)"],
  ["//etc", "/etc", "path=//etc is not allowed (resolves to /etc, system directory /etc)"],
  ["/etc/", "/etc", "path=/etc/ is not allowed (resolves to /etc, system directory /etc)"],
  [
    "/corefile/../etc",
    "/etc",
    "path=/corefile/../etc is not allowed (resolves to /etc, system directory /etc)",
  ],
  [
    "/corefile/../../../var/run",
    "/var/run",
    "path=/corefile/../../../var/run is not allowed (resolves to /var/run, under system directory /var)",
  ],
  ["/corefile/..", "/", "path=/corefile/.. is not allowed (resolves to /, the root directory)"],
  ["//", "/", "path=// is not allowed (resolves to /, the root directory)"],
  ["/.", "/", "path=/. is not allowed (resolves to /, the root directory)"],
  // relative and empty
  ["etc", null, "path=etc is not allowed (must be an absolute path)"],
  ["corefile", null, "path=corefile is not allowed (must be an absolute path)"],
  ["./corefile", null, "path=./corefile is not allowed (must be an absolute path)"],
  ["../corefile", null, "path=../corefile is not allowed (must be an absolute path)"],
  ["", null, "path= is not allowed (must be an absolute path)"],
  // characters no mount path should carry
  [
    "/core\u0000file",
    "/core\u0000file",
    "path=/core\\u0000file is not allowed (contains a control character)",
  ],
  [
    "/core\nfile",
    "/core\nfile",
    "path=/core\\u000afile is not allowed (contains a control character)",
  ],
  [
    "/core\u007ffile",
    "/core\u007ffile",
    "path=/core\\u007ffile is not allowed (contains a control character)",
  ],
  ["/data:ro", "/data:ro", 'path=/data:ro is not allowed (contains ":")'],
  [
    "/data/" + "x".repeat(256),
    "/data/" + "x".repeat(256),
    `path=/data/${"x".repeat(256)} is not allowed (a path component is longer than 255 bytes)`,
  ],
];

describe("normalizeContainerPath", () => {
  it.each(cases)("%j normalises to %j", (input, normal) => {
    expect(normalizeContainerPath(input)).toBe(normal);
  });

  it("keeps a 255-byte component", () => {
    const p = "/data/" + "x".repeat(255);
    expect(normalizeContainerPath(p)).toBe(p);
    expect(unsafePathReason(p)).toBeNull();
  });
});

describe("unsafePathReason", () => {
  it.each(cases)("%j -> %j", (input, _normal, reason) => {
    expect(unsafePathReason(input)).toBe(reason);
  });

  it("has at least 30 cases, safe and unsafe", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(cases.filter(([, , r]) => r === null).length).toBeGreaterThanOrEqual(10);
    expect(cases.filter(([, , r]) => r !== null).length).toBeGreaterThanOrEqual(20);
  });

  it("always contains the guide's text with the path as annotated", () => {
    for (const [input, , reason] of cases) {
      if (reason !== null) expect(reason).toContain(`path=${showPath(input)} is not allowed`);
    }
    expect(unsafePathReason("/etc")).toContain("path=/etc is not allowed");
  });

  it("says what a path resolves to only when normalising changed it", () => {
    expect(unsafePathReason("/etc")).not.toContain("resolves to");
    expect(unsafePathReason("/etc/../etc")).toContain("resolves to /etc");
  });
});

describe("showPath", () => {
  it("escapes control characters and leaves the rest alone", () => {
    expect(showPath("/a\tb\u0001/é")).toBe("/a\\u0009b\\u0001/é");
  });
});
