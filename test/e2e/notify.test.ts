// Robots as teams configure them, end to end on the rig: CoreDog installed from manifests/, the robots' secrets in
// Secret coredog-notify, receivers that check DingTalk's and Feishu's signatures and keywords as the providers do.
// `kubectl coredog notify test` (kubectl exec into a watcher) shows both outcomes; a real crash's notice refused by
// a robot is named in the watcher's log and by `kubectl coredog doctor`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "../rig/index.js";
import { canDumpCores } from "../rig/core-pattern.js";
import { crasherDeployment, installCoreDog } from "./support/install.js";

const why = canDumpCores();
if (!why.ok) throw new Error(`this test needs real core dumps and cannot run here: ${why.why}`);

let rig: Rig;

async function kubectl(...args: string[]): Promise<string> {
  const r = await rig.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const cd = (...args: string[]) => rig.kubectl(["coredog", ...args], { env: { NO_COLOR: "1" } });

function settings(): string {
  return `StorageConfig:
  protocol: s3
  S3Endpoint: ${rig.s3.endpoint}
  s3Region: ${rig.s3.region}
  S3Bucket: crashes
DeleteLocalCorefile: true
NoticeChannel:
  - chan: dingtalk
    webhookurl: ${rig.receivers.url("dingtalk")}?access_token=rigtoken123456
    secretRef: {key: dingtalk}
    mentions: {mobiles: ["13800001111"]}
  - chan: feishu
    webhookurl: ${rig.receivers.url("feishu")}
    secretRef: {name: coredog-notify, key: feishu}
    mentions: {userIds: [ou_oncall]}
  - chan: wechat
    webhookurl: ${rig.receivers.url("wechat")}?key=rigkey123456
    mentions: {userIds: [wangqing]}
  - chan: slack
    webhookurl: ${rig.receivers.url("slack")}
messageTemplate: |
  CoreDog 告警 [{pod.namespace}/{pod.name}] core: {corefile.filename}
  signal: {core.signal} download: {corefile.url}
Watcher:
  quietSeconds: 1
  rescanSeconds: 5
  groupWindowSeconds: 0
`;
}

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  // The robots' secrets exist before the watchers start (they are mounted, optional).
  await kubectl("create", "namespace", "coredog-system");
  await kubectl(
    "-n",
    "coredog-system",
    "create",
    "secret",
    "generic",
    "coredog-notify",
    "--from-literal=dingtalk=SECrig-dingtalk-secret",
    "--from-literal=feishu=rig-feishu-secret",
  );
  await installCoreDog(rig);
  rig.receivers.secure("dingtalk", { secret: "SECrig-dingtalk-secret", keywords: ["告警"] });
  rig.receivers.secure("feishu", { secret: "rig-feishu-secret" });
  await kubectl(
    "-n",
    "coredog-system",
    "patch",
    "configmap",
    "coredog",
    "--type",
    "merge",
    "-p",
    JSON.stringify({ data: { "config.yaml": settings() } }),
  );
}, 240_000);

afterAll(async () => {
  await rig?.stop();
});

describe("kubectl coredog notify test", () => {
  it("sends through every channel from a watcher, signed, and prints each provider's answer", async () => {
    // The settings reach the watcher's volume a little after the patch.
    const r = await rig.waitFor(
      "notify test over the four channels",
      async () => {
        const out = await cd("notify", "test");
        return out.stdout.includes("NoticeChannel[3]") ? out : undefined;
      },
      90_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^from coredog-watcher-\S+ on \S+:$/);
    expect(lines.filter((l) => l.startsWith("✓ "))).toHaveLength(4);
    expect(r.stdout).toMatch(
      /✓ NoticeChannel\[0\] dingtalk http:\/\/127\.0\.0\.1:\d+\/dingtalk\/hook\?access_token=\*\*\*: accepted \(HTTP 200 \{"errcode":0,"errmsg":"ok"\}\)/,
    );
    expect(r.stdout).toMatch(/✓ NoticeChannel\[1\] feishu .*: accepted \(HTTP 200 /);
    expect(r.stdout).not.toContain("rigtoken123456");
    expect(r.stdout).toContain("4 channel(s) took the test message");

    const ding = rig.receivers.received("dingtalk").at(-1)!;
    expect(ding.refused).toBeUndefined();
    expect(ding.query.sign).toBeTruthy();
    const body = ding.body as { markdown: { text: string }; at: { atMobiles: string[] } };
    expect(body.markdown.text).toContain("CoreDog 告警 [coredog-system/coredog-notify-test] core:");
    expect(body.at.atMobiles).toEqual(["13800001111"]);
    const lark = rig.receivers.received("feishu").at(-1)!;
    expect(lark.refused).toBeUndefined();
    expect((lark.body as { content: { text: string } }).content.text).toContain(
      '<at user_id="ou_oncall"></at>',
    );
    const wecom = rig.receivers.received("wechat").at(-1)!.body as {
      text: { mentioned_list: string[] };
    };
    expect(wecom.text.mentioned_list).toEqual(["wangqing"]);
  });

  it("names each refusal and what to change, and exits 1; --channel picks one", async () => {
    rig.receivers.secure("dingtalk", { secret: "SECrig-dingtalk-secret", keywords: ["生产"] });
    rig.receivers.secure("feishu", { secret: "the-robot-was-reset" });
    try {
      const r = await cd("notify", "test");
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /✗ NoticeChannel\[0\] dingtalk .*: refused by the robot's security \(keyword\): .* \(HTTP 200 \{"errcode":310000,"errmsg":"keywords not in content"\}\)/,
      );
      expect(r.stdout).toMatch(
        / {4}fix: put one of the robot's keywords as fixed text in messageTemplate/,
      );
      expect(r.stdout).toMatch(/✗ NoticeChannel\[1\] feishu .*\(signature\).*"code":19021/);
      expect(r.stdout).toMatch(/✓ NoticeChannel\[2\] wechat/);
      expect(r.stdout).toContain("2 of 4 channel(s) did not take it");

      const one = await cd("notify", "test", "--channel", "3");
      expect(one.code, one.stderr).toBe(0);
      expect(one.stdout.split("\n").filter((l) => /^[✓✗] /.test(l))).toEqual([
        expect.stringMatching(/^✓ NoticeChannel\[3\] slack/),
      ]);
      const bad = await cd("notify", "test", "--channel", "9");
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^error: --channel 9: there are 4 channels \(0 to 3\)$/m);
    } finally {
      rig.receivers.secure("dingtalk", { secret: "SECrig-dingtalk-secret", keywords: ["告警"] });
      rig.receivers.secure("feishu", { secret: "rig-feishu-secret" });
    }
  });
});

describe("a real crash's notice refused by a robot", () => {
  it("is named in the watcher's log and by kubectl coredog doctor, until the robot takes one again", async () => {
    rig.receivers.secure("feishu", { secret: "rig-feishu-secret", allowIps: ["10.20.30.40"] });
    await kubectl("create", "namespace", "shop");
    const created = await rig.kubectl(["apply", "-f", "-"], {
      input: crasherDeployment("shop", "crasher", 3),
    });
    expect(created.code, created.stderr).toBe(0);
    const enable = await cd("enable", "deploy/crasher", "-n", "shop", "--restart");
    expect(enable.code, enable.stderr).toBe(0);

    const refused = await rig.receivers.waitFor(
      "feishu",
      (r) => r.refused?.code === 19022 && JSON.stringify(r.body).includes("[shop/crasher-"),
      90_000,
    );
    expect(refused.refused?.message).toBe("Ip Not Allowed");
    const taken = await rig.receivers.waitFor(
      "dingtalk",
      (r) => !r.refused && JSON.stringify(r.body).includes("[shop/crasher-"),
      30_000,
    );
    expect(taken.query.sign).toBeTruthy();

    const log = await rig.waitFor(
      "the refusal in the watcher's log",
      async () => {
        const out = (await cd("logs")).stdout;
        return /notice failed: channel=feishu .*refused by Feishu's security \(ip\)/.test(out)
          ? out
          : undefined;
      },
      30_000,
    );
    expect(log).toMatch(/code=19022 msg=Ip Not Allowed/);
    expect(log).toMatch(/fix: add the nodes' egress \(NAT\) addresses to the robot's IP allowlist/);

    const doctor = await rig.waitFor(
      "doctor naming the refused channel",
      async () => {
        const r = await cd("doctor");
        return r.stdout.includes("NoticeChannel[1] (feishu) is taken by the robot") ? r : undefined;
      },
      60_000,
    );
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      /✗ NoticeChannel\[1\] \(feishu\) is taken by the robot: \S+ at \S+: refused by Feishu's security \(ip\)/,
    );
    expect(doctor.stdout).toMatch(/fix: add the nodes' egress \(NAT\) addresses/);
    expect(doctor.stdout).toMatch(
      /✓ NoticeChannel\[0\] \(dingtalk\) passes the robot's security: signed with key dingtalk of Secret coredog-notify/,
    );

    // The robot takes CoreDog's messages again: the next notice clears it.
    rig.receivers.secure("feishu", { secret: "rig-feishu-secret" });
    await rig.waitFor(
      "doctor without the refusal",
      async () => {
        const r = await cd("doctor");
        return r.stdout.includes("is taken by the robot") ? undefined : r;
      },
      90_000,
    );
    await kubectl("-n", "shop", "scale", "deployment", "crasher", "--replicas=0");
  });
});
