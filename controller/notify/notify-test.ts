// `coredog-controller notify-test`: sends a test notice through the configured channels, from where it runs (in a
// watcher's container, by `kubectl coredog notify test`: the node's egress address, the mounted Secret
// coredog-notify, the same settings file), and prints each provider's answer. The text is what a real core's
// notice would read (the messageTemplate filled for a made-up pod `coredog-notify-test`), so a keyword robot
// judges it as it would judge a real one. A channel's `keyword` filter is not applied: the robot is what is tested.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { errorText } from "../../src/error-text.js";
import { formatNotifyTest, type ChannelResult } from "../../src/notify-test.js";
import { parseSettings, type NoticeChannelSettings } from "../../src/settings.js";
import type { CoreReport } from "../watcher/types.js";
import { noticeText } from "./notifier.js";
import { redactUrl } from "./redact.js";
import { NoticeError, sendNotice, type SendOptions } from "./send.js";

export const NOTIFY_TEST_USAGE = `Usage: coredog-controller notify-test [--config FILE] [--channel N] [--json]

  --config FILE   settings (config.yaml of the ConfigMap coredog)   [/etc/coredog/config/config.yaml]
  --channel N     only NoticeChannel[N] (from 0)
  --json          one JSON document on stdout (for kubectl coredog notify test)
Exits 1 when a channel did not take the message, 2 on bad arguments or settings.
`;

/** The made-up core the test message describes. */
export function testReport(node: string, now = new Date()): CoreReport {
  const stamp = Math.floor(now.getTime() / 1000);
  const filename = `core.notify-test.1.${node}.${stamp}`;
  return {
    path: `/corefile/coredog-system/coredog-notify-test/${filename}`,
    filename,
    node,
    namespace: "coredog-system",
    pod: "coredog-notify-test",
    container: "notify-test",
    size: 0,
    core: { signal: 11, signalName: "SIGSEGV", executable: "/coredog/notify-test", threads: 1 },
    capturedAt: now,
    uploadedAt: now,
  };
}

export async function testChannels(
  channels: readonly NoticeChannelSettings[],
  template: string | undefined,
  node: string,
  only?: number,
  opts: Omit<SendOptions, "fields"> = {},
): Promise<ChannelResult[]> {
  const report = testReport(node);
  const picked = channels
    .map((ch, i) => ({ ch, i }))
    .filter(({ i }) => only === undefined || i === only);
  return Promise.all(
    picked.map(async ({ ch, i }): Promise<ChannelResult> => {
      const base = { channel: i, chan: ch.chan, url: redactUrl(ch.webhookUrl) };
      try {
        const answer = await sendNotice(ch, noticeText(ch, template, report, "uploaded"), {
          retries: 1,
          timeoutMs: 10_000,
          ...opts,
          fields: { kind: "uploaded", namespace: report.namespace, pod: report.pod, node },
        });
        return { ...base, ok: true, status: answer.status, answer: answer.body };
      } catch (err) {
        const e = err instanceof NoticeError ? err : undefined;
        return {
          ...base,
          ok: false,
          error: errorText(err),
          ...(e?.answer ? { status: e.answer.status, answer: e.answer.body } : {}),
          ...(e?.refusal ? { refusal: e.refusal } : {}),
        };
      }
    }),
  );
}

export async function runNotifyTest(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", default: "/etc/coredog/config/config.yaml" },
        channel: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(
      `coredog-controller notify-test: ${errorText(err)}\n\n${NOTIFY_TEST_USAGE}`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(NOTIFY_TEST_USAGE);
    return 0;
  }
  const fail = (message: string): number => {
    if (values.json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
    else process.stderr.write(`error: ${message}\n`);
    return 2;
  };
  let text: string;
  try {
    text = await readFile(values.config, "utf8");
  } catch (err) {
    return fail(`cannot read the settings ${values.config}: ${errorText(err)}`);
  }
  const parsed = parseSettings(text, process.env);
  if (!parsed.ok)
    return fail(`the settings in ${values.config} are not valid: ${parsed.errors.join("; ")}`);
  const channels = parsed.settings.noticeChannels;
  if (channels.length === 0)
    return fail("NoticeChannel is empty: add a channel to config.yaml in configmap coredog");
  let only: number | undefined;
  if (values.channel !== undefined) {
    only = /^\d+$/.test(values.channel) ? Number(values.channel) : NaN;
    if (!Number.isInteger(only) || only >= channels.length)
      return fail(
        `--channel ${values.channel}: there ${channels.length === 1 ? "is 1 channel" : `are ${channels.length} channels`} (0 to ${channels.length - 1})`,
      );
  }
  const node = process.env.NODE_NAME || hostname();
  const results = await testChannels(channels, parsed.settings.messageTemplate, node, only);
  if (values.json) process.stdout.write(`${JSON.stringify({ node, results })}\n`);
  else process.stdout.write(`${formatNotifyTest(results)}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}
