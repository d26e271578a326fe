import { describe, expect, it } from "vitest";
import {
  DEFAULT_MESSAGE_TEMPLATE,
  MAX_VALUE_LENGTH,
  PLACEHOLDERS,
  escapeFor,
  escapeUrl,
  formatBytes,
  renderMessage,
  type MessageVars,
} from "../../../src/template.js";

const full: MessageVars = {
  pod: {
    namespace: "shop",
    name: "api-7d9f8-abcde",
    uid: "0b9c6c1e-1111-2222-3333-444455556666",
    node: "node-1",
    container: "app",
    image: "registry.example.com/shop/api:1.2.3",
  },
  host: { ip: "10.0.0.5" },
  corefile: {
    path: "/corefile/shop/api-7d9f8-abcde/core.api.1.api-7d9f8-abcde.1700000000",
    filename: "core.api.1.api-7d9f8-abcde.1700000000",
    url: "https://s3.example.com/crashes/corefiles/shop/api/core.api?X-Amz-Signature=abc&X-Amz-Expires=3600",
    size: 52428800,
  },
  core: { signal: 11, executable: "/usr/local/bin/api" },
};

const bare: MessageVars = {
  pod: {},
  host: {},
  corefile: { path: "/corefile/x/core.1", filename: "core.1" },
  core: {},
};

describe("renderMessage default", () => {
  it("begins with [<namespace>/<pod>] core: <file> and adds the known details", () => {
    expect(renderMessage(undefined, full)).toBe(
      [
        "[shop/api-7d9f8-abcde] core: core.api.1.api-7d9f8-abcde.1700000000",
        "signal: SIGSEGV (11)",
        "executable: /usr/local/bin/api",
        "node: node-1",
        "host: 10.0.0.5",
        "container: app",
        "image: registry.example.com/shop/api:1.2.3",
        "size: 50.0 MiB",
        `download: ${full.corefile.url}`,
      ].join("\n"),
    );
  });

  it("is [/] core: <file> when the pod is unknown, without empty detail lines", () => {
    expect(renderMessage(undefined, bare)).toBe("[/] core: core.1");
    expect(renderMessage("", bare)).toBe("[/] core: core.1");
    expect(renderMessage("  \n", bare)).toBe("[/] core: core.1");
  });

  it("keeps the first line's shape for every kind", () => {
    for (const kind of ["plain", "markdown", "slack"] as const) {
      expect(renderMessage(undefined, full, kind).split("\n")[0]).toMatch(
        /^\[shop\/api-7d9f8-abcde\] core: core/,
      );
    }
  });

  it("accepts a signal given by name", () => {
    expect(renderMessage(undefined, { ...bare, core: { signal: "SIGABRT" } })).toContain(
      "signal: SIGABRT",
    );
  });

  it("mentions only placeholders it knows", () => {
    for (const m of DEFAULT_MESSAGE_TEMPLATE.matchAll(/\{([^}]+)\}/g)) {
      expect(PLACEHOLDERS).toContain(m[1]);
    }
  });
});

describe("renderMessage with a template", () => {
  it("fills every placeholder", () => {
    const tpl = PLACEHOLDERS.map((p) => `${p}={${p}}`).join("\n");
    expect(renderMessage(tpl, full).split("\n")).toEqual([
      "pod.namespace=shop",
      "pod.name=api-7d9f8-abcde",
      "pod.uid=0b9c6c1e-1111-2222-3333-444455556666",
      "pod.node=node-1",
      "pod.container=app",
      "pod.image=registry.example.com/shop/api:1.2.3",
      "host.ip=10.0.0.5",
      `corefile.path=${full.corefile.path}`,
      `corefile.filename=${full.corefile.filename}`,
      `corefile.url=${full.corefile.url}`,
      "corefile.size=50.0 MiB",
      "corefile.bytes=52428800",
      "corefile.truncated=",
      "core.signal=SIGSEGV (11)",
      "core.executable=/usr/local/bin/api",
      "crash.fault=",
      "crash.frames=",
      "crash.fingerprint=",
      "crash.seen=",
    ]);
  });

  it("fills the crash report's placeholders, and the default message shows them", () => {
    const crash: MessageVars = {
      ...full,
      crash: {
        fault: "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
        frames: ["app+0x1139", "app+0x1160", "libc.so.6+0x2724a"],
        fingerprint: "1a2b3c4d5e6f",
        seen: "new",
      },
    };
    const tpl = "{crash.fault}|{crash.frames}|{crash.fingerprint}|{crash.seen}";
    expect(renderMessage(tpl, crash)).toBe(
      "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)|#0 app+0x1139, #1 app+0x1160, #2 libc.so.6+0x2724a|1a2b3c4d5e6f|new",
    );
    const lines = renderMessage(undefined, crash).split("\n");
    expect(lines.slice(3, 6)).toEqual([
      "crash: SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      "frames: #0 app+0x1139, #1 app+0x1160, #2 libc.so.6+0x2724a",
      "fingerprint: 1a2b3c4d5e6f, new",
    ]);
    // the count is not always known (a failed upload): the line says so
    const unknown = { ...crash, crash: { ...crash.crash, seen: undefined } };
    expect(renderMessage(undefined, unknown)).toContain(
      "\nfingerprint: 1a2b3c4d5e6f, seen count unknown\n",
    );
    // module names come from the pod's side: escaped like every such value
    const hostile = { ...crash, crash: { ...crash.crash, frames: ["@all_x+0x1"] } };
    expect(renderMessage(undefined, hostile, "markdown")).toContain("#0 @\u200ball\\_x+0x1");
  });

  it("says a truncated core is truncated in the default message, and only then", () => {
    const truncated = {
      ...full,
      corefile: { ...full.corefile, truncated: "118784 of 565248 bytes: the writer stopped early" },
    };
    expect(renderMessage(undefined, truncated)).toContain(
      "\ntruncated: 118784 of 565248 bytes: the writer stopped early\n",
    );
    expect(renderMessage(undefined, full)).not.toContain("truncated");
  });

  it("leaves unknown placeholders as written and empties known ones without a value", () => {
    expect(renderMessage("{pod.nmae} {pod.name} {foo} {pod.uid}|", bare)).toBe(
      "{pod.nmae}  {foo} |",
    );
  });

  it("keeps the operator's own markup and escapes only the values", () => {
    const vars = { ...full, corefile: { ...full.corefile, filename: "core.*evil*_x_" } };
    expect(renderMessage("**{corefile.filename}** on {pod.node}", vars, "markdown")).toBe(
      "**core.\\*evil\\*\\_x\\_** on node-1",
    );
  });

  it("does not let a value spread over several lines or inject mentions", () => {
    const vars: MessageVars = {
      ...bare,
      corefile: { path: "/x", filename: 'core.a\n@all <at user_id="all"></at>' },
    };
    const out = renderMessage("{corefile.filename}", vars, "plain");
    expect(out).not.toContain("\n");
    expect(out).not.toMatch(/@all/);
    expect(out).not.toMatch(/<at/);
  });
});

describe("escapeFor", () => {
  it("slack: entities, no <!channel>, no <@U..>, no links, no formatting", () => {
    const out = escapeFor(
      "slack",
      "<!channel> <@U123> <https://evil|click> a&b *bold* _it_ ~s~ `c`",
    );
    expect(out).not.toMatch(/<[!@h]/);
    expect(out).toContain("&lt;!channel&gt;");
    expect(out).toContain("&lt;@\u200bU123&gt;");
    expect(out).toContain("a&amp;b");
    expect(out).not.toMatch(/\*bold\*/);
    expect(out).not.toMatch(/_it_/);
    expect(out).not.toMatch(/`c`/);
  });

  it("markdown: links, images, emphasis, code, html and block markup are inert", () => {
    const out = escapeFor(
      "markdown",
      "[click](https://evil) ![i](x) *b* _i_ `c` <b>x</b> ~~s~~ a|b",
    );
    expect(out).toBe(
      "\\[click\\]\\(https://evil\\) !\\[i\\]\\(x\\) \\*b\\* \\_i\\_ \\`c\\` &lt;b&gt;x&lt;/b&gt; \\~\\~s\\~\\~ a\\|b",
    );
    expect(escapeFor("markdown", "# title")).toBe("\\# title");
    expect(escapeFor("markdown", "- item")).toBe("\\- item");
    expect(escapeFor("markdown", "12. item")).toBe("12\\. item");
    expect(escapeFor("markdown", "a&lt;")).toBe("a&amp;lt;");
  });

  it.each(["plain", "markdown", "slack"] as const)(
    "%s: breaks @mentions of every provider",
    (kind) => {
      for (const m of ["@all", "@here", "@channel", "@13800000000", "＠all"]) {
        const out = escapeFor(kind, `hi ${m}`);
        expect(out).not.toContain(m);
        expect(out.replace(/\u200b/g, "")).toContain(m.slice(1));
      }
    },
  );

  it("plain: Feishu <at> tags are broken, text otherwise unchanged", () => {
    expect(escapeFor("plain", 'x <at user_id="all"></at>')).toBe(
      'x <\u200bat user_id="all"><\u200b/at>',
    );
    expect(escapeFor("plain", "core.my_app.123")).toBe("core.my_app.123");
  });

  it("removes control characters, line breaks and bidi overrides", () => {
    expect(escapeFor("plain", "a\nb\r\nc\td\u0007e\u001bf")).toBe("a b c d\ufffde\ufffdf");
    expect(escapeFor("plain", "core.\u202egnp.exe")).toBe("core.gnp.exe");
    expect(escapeFor("plain", "a\u200bb\u2066c")).toBe("abc");
  });

  it("caps lengths", () => {
    const long = "x".repeat(5000);
    const out = escapeFor("plain", long);
    expect(Array.from(out)).toHaveLength(MAX_VALUE_LENGTH);
    expect(out.endsWith("…")).toBe(true);
    expect(escapeFor("plain", "abcdef", 4)).toBe("abc…");
  });
});

describe("escapeUrl", () => {
  it("keeps presigned URLs working", () => {
    expect(escapeUrl("markdown", full.corefile.url!)).toBe(full.corefile.url);
    expect(escapeUrl("plain", full.corefile.url!)).toBe(full.corefile.url);
    expect(escapeUrl("slack", "https://h/k?a=1&b=2")).toBe("https://h/k?a=1&amp;b=2");
  });

  it("escapes anything that is not a plain http(s) URL", () => {
    expect(escapeUrl("markdown", "javascript:alert(1)")).toBe("javascript:alert\\(1\\)");
    expect(escapeUrl("markdown", "https://h/x)[y](z")).toContain("\\)");
    expect(escapeUrl("plain", "https://h/@all")).not.toContain("@all");
    expect(escapeUrl("slack", "https://h/<!channel>")).not.toContain("<!");
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [52428800, "50.0 MiB"],
    [3 * 1024 ** 3, "3.0 GiB"],
  ])("%d is %s", (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });
});
