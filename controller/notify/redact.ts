// Chat webhook URLs carry their secret in the query (WeCom `key=`, DingTalk `access_token=`) or in the
// path (Slack `/services/T/B/secret`, Feishu `/hook/<token>`): never print them whole.

const TOKENISH = /^(?=.*\d)[A-Za-z0-9_-]{12,}$|^[A-Za-z0-9_-]{24,}$/;
const SECRET_AFTER = new Set(["services", "hook", "hooks", "webhook", "webhooks", "send", "bot"]);

/** `https://host/path?key=***`: query values, credentials and token-like path segments hidden. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "<invalid url>";
  }
  const auth = url.username || url.password ? "***@" : "";
  const segments = url.pathname.split("/");
  let hideRest = false;
  const path = segments
    .map((seg) => {
      if (seg === "") return seg;
      if (hideRest || TOKENISH.test(seg)) return "***";
      if (SECRET_AFTER.has(seg.toLowerCase())) hideRest = true;
      return seg;
    })
    .join("/");
  const query = [...url.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join("&");
  return `${url.protocol}//${auth}${url.host}${path}${query ? `?${query}` : ""}`;
}

/** Replace every occurrence of the URL (and its query secrets) in a text, e.g. an error message. */
export function redactIn(text: string, rawUrl: string): string {
  let out = text.split(rawUrl).join(redactUrl(rawUrl));
  try {
    for (const value of new URL(rawUrl).searchParams.values()) {
      if (value.length >= 6) out = out.split(value).join("***");
    }
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}
