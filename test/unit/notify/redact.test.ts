import { describe, expect, it } from "vitest";
import { redactIn, redactUrl } from "../../../controller/notify/redact.js";

describe("redactUrl", () => {
  it("hides query secrets (WeCom key, DingTalk access_token and sign)", () => {
    expect(redactUrl("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx")).toBe(
      "https://qyapi.weixin.qq.com/cgi-bin/webhook/***?key=***",
    );
    expect(
      redactUrl(
        "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456&timestamp=1&sign=xyz",
      ),
    ).toBe("https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=***&sign=***");
  });

  it("hides path secrets (Slack, Feishu) and credentials", () => {
    expect(redactUrl("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")).toBe(
      "https://hooks.slack.com/services/***/***/***",
    );
    expect(
      redactUrl(
        "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
      ),
    ).toBe("https://open.feishu.cn/open-apis/bot/***/***/***");
    expect(redactUrl("https://user:pass@example.com/notify/a1b2c3d4e5f6a7b8")).toBe(
      "https://***@example.com/notify/***",
    );
    expect(redactUrl("not a url")).toBe("<invalid url>");
  });

  it("redacts a URL and its query values inside a text", () => {
    const url = "https://x.example/send?key=supersecretvalue";
    expect(redactIn(`POST ${url} failed; key supersecretvalue rejected`, url)).toBe(
      "POST https://x.example/send?key=*** failed; key *** rejected",
    );
  });
});
