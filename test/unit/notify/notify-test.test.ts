// `notify test`'s sending side and its output, against receivers that check signatures and keywords.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testChannels } from "../../../controller/notify/notify-test.js";
import { formatNotifyTest, parseNotifyTestOutput } from "../../../src/notify-test.js";
import { startReceivers, type Receivers } from "../../rig/receivers.js";

let rx: Receivers;
beforeAll(async () => {
  rx = await startReceivers();
});
afterAll(async () => {
  await rx.stop();
});

describe("notify test", () => {
  it("sends the template's text for a made-up pod through each channel and reports both outcomes", async () => {
    rx.secure("dingtalk", { secret: "SECok", keywords: ["告警"] });
    rx.secure("feishu", { secret: "right" });
    const results = await testChannels(
      [
        {
          chan: "dingtalk",
          webhookUrl: `${rx.url("dingtalk")}?access_token=tok123456789`,
          secret: "SECok",
        },
        { chan: "feishu", webhookUrl: rx.url("feishu"), secret: "wrong" },
        { chan: "slack", webhookUrl: rx.url("slack"), keyword: "never-matches" },
      ],
      "告警 [{pod.namespace}/{pod.name}] core: {corefile.filename}",
      "node-7",
      undefined,
      { backoffMs: 5 },
    );
    expect(results.map((r) => [r.channel, r.chan, r.ok])).toEqual([
      [0, "dingtalk", true],
      [1, "feishu", false],
      [2, "slack", true], // the keyword filter is not applied: the robot is what is tested
    ]);
    expect(results[1]!.refusal?.kind).toBe("signature");
    expect(results[1]!.status).toBe(200);
    const sent = (rx.received("dingtalk").at(-1)!.body as { markdown: { text: string } }).markdown
      .text;
    expect(sent).toMatch(
      /^告警 \[coredog-system\/coredog-notify-test\] core: core\.notify-test\.1\.node-7\.\d+$/,
    );

    const text = formatNotifyTest(results);
    expect(text).toMatch(
      /^✓ NoticeChannel\[0\] dingtalk http:\/\/127\.0\.0\.1:\d+\/dingtalk\/hook\?access_token=\*\*\*: accepted \(HTTP 200 \{"errcode":0,"errmsg":"ok"\}\)$/m,
    );
    expect(text).toMatch(
      /^✗ NoticeChannel\[1\] feishu .*: refused by the robot's security \(signature\): .*"code":19021/m,
    );
    expect(text).toMatch(/^ {4}fix: put the robot's secret/m);
    expect(text).not.toContain("tok123456789");

    const round = parseNotifyTestOutput(`noise\n${JSON.stringify({ node: "node-7", results })}\n`);
    expect(round).toEqual({ node: "node-7", results });
    expect(parseNotifyTestOutput('{"error":"NoticeChannel is empty"}')).toEqual({
      error: "NoticeChannel is empty",
    });
    expect(parseNotifyTestOutput("not json")).toBeUndefined();
  });
});
